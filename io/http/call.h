// io::httpCall: the outbound call. One small HTTP/1.1 request/response exchange on the
// io_context, for the verifier client (POST /v2/check, /check) and the WPCOM notifier (POST
// status-change, GET /jetmon/?data=). Not the probe: no redirects, no content rules, no timings per
// phase — just "send this, give me the status and a bounded body, within this deadline".
//
// Threads: httpCall() may be called from any thread and never blocks; `done` runs exactly
// once on an io_context thread, no later than the deadline plus scheduling delay. A fresh
// connection per call (Connection: close). Host names other than IP literals are resolved
// with asio's resolver (getaddrinfo on asio's internal thread; verifier and WPCOM hosts are a
// handful of names, so the probe's c-ares cache is not needed here).
#pragma once

#include <asio/io_context.hpp>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

namespace asio::ssl {
class context;
}

namespace tidewatch::io {

struct HttpCall {
  std::string method = "POST";
  std::string host;  // IP literal or name to connect to
  std::uint16_t port = 80;
  bool tls = false;
  std::shared_ptr<asio::ssl::context> tls_context;  // required when tls
  bool verify_host = true;                          // TLS: SNI + host name check (off = only SNI)
  std::string target = "/";
  std::string host_header;                                   // "" = host[:port]
  std::vector<std::pair<std::string, std::string>> headers;  // e.g. {"Authorization", "Bearer x"}
  std::string body;  // sent with Content-Length when non-empty or method is POST
  std::chrono::milliseconds timeout{10000};  // the whole exchange
  std::size_t max_response_bytes = 4 * 1024 * 1024;
};

struct HttpCallResult {
  bool completed = false;  // a whole response was read (any status)
  bool timed_out = false;
  std::string error;  // why not completed ("connect: Connection refused", "timeout", …)
  int status = 0;
  std::string body;
  std::uint32_t elapsed_ms = 0;
};

void httpCall(asio::io_context& io, HttpCall call, std::function<void(HttpCallResult)> done);

// "http://host:port/path?q" or "https://…" into an HttpCall's host/port/tls/target.
// Returns false for anything else.
bool setUrl(HttpCall& call, const std::string& url);

// Percent-encodes everything except RFC 3986 unreserved characters.
std::string urlEncode(std::string_view text);

}  // namespace tidewatch::io
