// libFuzzer target: the HTTP response parser and chunked decoder (io/http/response_parser),
// plus URL parsing and Location resolution (io/net/url), which take server-controlled bytes too.
//
// Input layout: byte 0 picks the piece size the response is fed in (1..64, or all at once),
// byte 1 bit 0 says HEAD; the rest is the response. Invariants checked: no crash or sanitizer
// report, decoded body never longer than the input, head bytes never over the cap.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "io/http/response_parser.h"
#include "io/net/url.h"

namespace {

struct Count : tidewatch::io::HttpResponseParser::BodySink {
  std::size_t n = 0;
  void onBody(const char* data, std::size_t size) override {
    // Touch the bytes so ASan sees any out-of-bounds range.
    volatile char sink = 0;
    for (std::size_t i = 0; i < size; ++i) sink = static_cast<char>(sink ^ data[i]);
    n += size;
  }
};

constexpr std::size_t kCap = 1024;

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 2) return 0;
  std::size_t piece = data[0] % 65;
  bool head = (data[1] & 1) != 0;
  std::string_view wire(reinterpret_cast<const char*>(data + 2), size - 2);
  if (piece == 0) piece = wire.size() ? wire.size() : 1;

  tidewatch::io::HttpResponseParser parser(kCap);
  parser.reset(head);
  Count body;
  std::size_t off = 0;
  while (off < wire.size()) {
    std::string_view chunk = wire.substr(off, piece);
    std::size_t used = 0;
    while (used < chunk.size()) {
      std::size_t n = parser.feed(chunk.substr(used), &body);
      if (n == 0) break;
      used += n;
    }
    off += chunk.size();
    if (parser.state() == tidewatch::io::HttpResponseParser::State::kDone ||
        parser.state() == tidewatch::io::HttpResponseParser::State::kError) {
      break;
    }
  }
  parser.onEof();
  if (body.n > wire.size() || parser.headBytes() > kCap) std::abort();

  // The Location header is server-controlled: resolve it against a fixed base.
  if (parser.hasLocation()) {
    auto base = tidewatch::io::parseUrl("http://example.com/a/b?c");
    auto next = tidewatch::io::resolveReference(*base.url, parser.location());
    if (next.url && next.url->target.empty()) std::abort();
  }
  auto direct = tidewatch::io::parseUrl(wire.substr(0, 512));
  if (direct.url && (direct.url->host.empty() || direct.url->target.empty())) std::abort();
  return 0;
}
