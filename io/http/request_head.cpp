#include "io/http/request_head.h"

#include "core/text.h"

namespace tidewatch::io {
namespace {

RequestHeadParse failed(std::string why) {
  return {std::nullopt, std::move(why)};
}

}  // namespace

std::string_view HttpRequestHead::header(std::string_view name) const {
  for (auto it = headers.rbegin(); it != headers.rend(); ++it) {
    if (iequals(it->first, name)) return it->second;
  }
  return {};
}

RequestHeadParse parseRequestHead(std::string_view head) {
  HttpRequestHead h;
  auto eol = head.find("\r\n");
  std::string_view line = head.substr(0, eol);
  auto sp1 = line.find(' ');
  auto sp2 = sp1 == std::string_view::npos ? sp1 : line.find(' ', sp1 + 1);
  if (sp1 == std::string_view::npos || sp2 == std::string_view::npos ||
      line.substr(sp2 + 1).rfind("HTTP/1.", 0) != 0) {
    return failed("malformed request line");
  }
  h.method = std::string(line.substr(0, sp1));
  h.target = std::string(line.substr(sp1 + 1, sp2 - sp1 - 1));
  h.path = h.target.substr(0, h.target.find('?'));
  std::size_t pos = eol == std::string_view::npos ? head.size() : eol + 2;
  while (pos < head.size()) {
    auto next = head.find("\r\n", pos);
    if (next == std::string_view::npos) next = head.size();
    std::string_view hl = head.substr(pos, next - pos);
    pos = next + 2;
    if (hl.empty()) break;
    auto colon = hl.find(':');
    if (colon == std::string_view::npos || colon == 0) return failed("malformed header line");
    std::string_view name = trimSpace(hl.substr(0, colon));
    std::string_view value = trimSpace(hl.substr(colon + 1));
    if (iequals(name, "content-length")) {
      std::uint64_t n = 0;
      if (value.empty() || value.size() > 18) return failed("bad Content-Length");
      for (char c : value) {
        if (c < '0' || c > '9') return failed("bad Content-Length");
        n = n * 10 + static_cast<std::uint64_t>(c - '0');
      }
      if (h.content_length && *h.content_length != n) return failed("conflicting Content-Length");
      h.content_length = n;
    } else if (iequals(name, "transfer-encoding")) {
      h.chunked = true;
    }
    h.headers.emplace_back(std::string(name), std::string(value));
  }
  return {std::move(h), {}};
}

}  // namespace tidewatch::io
