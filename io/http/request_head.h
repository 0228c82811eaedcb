// io::parseRequestHead: the one request-head parser of our small HTTP/1.1 server
// (io/http/server.h), which serves both the admin endpoints and the verifier service.
// Parses a complete head (request line through the blank line) that the server has already
// bounded in size. Pure, any thread; a malformed head is a value (the reason sent with a 400),
// never a throw.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace tidewatch::io {

struct HttpRequestHead {
  std::string method;
  std::string target;                                        // as sent
  std::string path;                                          // the target without its query
  std::vector<std::pair<std::string, std::string>> headers;  // names as sent, values trimmed
  std::optional<std::uint64_t> content_length;
  bool chunked = false;  // any Transfer-Encoding: the server only reads Content-Length bodies

  // The value of the last header named `name` (ASCII case-insensitive), "" when absent.
  std::string_view header(std::string_view name) const;
};

struct RequestHeadParse {
  std::optional<HttpRequestHead> head;
  std::string error;  // why not: "malformed request line", "bad Content-Length", …
};

RequestHeadParse parseRequestHead(std::string_view head);

}  // namespace tidewatch::io
