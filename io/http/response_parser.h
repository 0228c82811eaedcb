// io::HttpResponseParser: incremental, bounded HTTP/1.x response parser (status line,
// headers, Content-Length and chunked framing). Fed whatever the socket returned — any split,
// down to one byte — it never buffers more than one partial head line (bounded by
// max_header_bytes) or one chunk-size line, so a 1 GB body or a 1 MB header line keeps memory
// flat. Garbage is an error value, never a crash or an exception. One parser per connection;
// not thread-safe.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace tidewatch::io {

class HttpResponseParser {
 public:
  enum class State : std::uint8_t { kHead, kBody, kDone, kError };
  enum class Error : std::uint8_t {
    kNone,
    kNotHttp,  // the first bytes are not "HTTP/"
    kBadStatusLine,
    kBadHeader,
    kHeadersTooLarge,   // head (status line + headers, or chunk trailers) over the cap
    kBadContentLength,  // unparsable or conflicting values
    kBadChunk,          // bad chunk-size line or missing CRLF after chunk data
  };
  enum class Framing : std::uint8_t { kNone, kContentLength, kChunked, kUntilEof };

  // Receives decoded body bytes (chunk framing removed).
  class BodySink {
   public:
    virtual ~BodySink() = default;
    virtual void onBody(const char* data, std::size_t size) = 0;
  };

  explicit HttpResponseParser(std::size_t max_header_bytes = 64 * 1024)
      : max_header_bytes_(max_header_bytes) {}

  // Starts a new response; `head_request`: the response to a HEAD never has a body.
  void reset(bool head_request);

  // Consumes bytes and returns how many were used. Returns early — with bytes left over —
  // right after the final response head is complete (state() becomes kBody or kDone), so the
  // caller can look at the status before deciding to read the body; call again with the rest.
  // Interim 1xx responses (except 101) are skipped. After kDone or kError nothing is consumed.
  std::size_t feed(const char* data, std::size_t size, BodySink* sink);
  std::size_t feed(std::string_view data, BodySink* sink) {
    return feed(data.data(), data.size(), sink);
  }

  // The peer closed the connection. Returns true when that completes the message (until-EOF
  // framing, or already done); false means the response was truncated.
  bool onEof();

  State state() const { return state_; }
  Error error() const { return error_; }
  bool headComplete() const { return state_ == State::kBody || state_ == State::kDone; }
  int status() const { return status_; }
  int httpMinorVersion() const { return minor_; }
  Framing framing() const { return framing_; }
  std::optional<std::uint64_t> contentLength() const { return content_length_; }
  const std::string& location() const { return location_; }
  bool hasLocation() const { return has_location_; }
  std::uint64_t headBytes() const { return head_bytes_; }
  std::uint64_t bodyBytes() const { return body_bytes_; }

 private:
  enum class Sub : std::uint8_t {
    kStatusLine,
    kHeaderLine,
    kFixedBody,
    kEofBody,
    kChunkSize,
    kChunkData,
    kChunkDataEnd,
    kTrailer
  };

  // Splits off one line (without CR/LF); returns false when more input is needed.
  bool takeLine(const char*& p, const char* end, std::string_view& line, std::size_t cap);
  bool onStatusLine(std::string_view line);
  bool onHeaderLine(std::string_view line);
  void onHeadEnd();
  bool onChunkSizeLine(std::string_view line);
  void fail(Error e) {
    state_ = State::kError;
    error_ = e;
  }

  std::size_t max_header_bytes_;
  State state_ = State::kHead;
  Sub sub_ = Sub::kStatusLine;
  Error error_ = Error::kNone;
  Framing framing_ = Framing::kNone;
  bool head_request_ = false;
  bool line_pending_ = false;
  bool transfer_encoding_seen_ = false;
  bool chunked_ = false;
  bool has_location_ = false;
  int status_ = 0;
  int minor_ = 1;
  std::uint64_t head_bytes_ = 0;
  std::uint64_t trailer_bytes_ = 0;
  std::uint64_t body_bytes_ = 0;
  std::uint64_t remaining_ = 0;
  std::optional<std::uint64_t> content_length_;
  std::string line_;
  std::string location_;
};

std::string_view toString(HttpResponseParser::Error error);

}  // namespace tidewatch::io
