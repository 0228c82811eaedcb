#include "io/http/response_parser.h"

#include <algorithm>
#include <cstring>

#include "core/text.h"

namespace tidewatch::io {
namespace {

// A chunk-size line is hex digits plus optional extensions; real servers send < 20 bytes.
constexpr std::size_t kMaxChunkSizeLine = 4096;
// The CRLF after chunk data; anything longer is a framing error.
constexpr std::size_t kMaxChunkDataEnd = 2;

std::string_view trimOws(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

bool isTokenChar(char c) {
  auto u = static_cast<unsigned char>(c);
  if (u <= 0x20 || u >= 0x7f) return false;
  return std::strchr("()<>@,;:\\\"/[]?={}", c) == nullptr;
}

int hexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  c = asciiLower(c);
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  return -1;
}

constexpr std::string_view kHttpPrefix = "HTTP/";

}  // namespace

void HttpResponseParser::reset(bool head_request) {
  state_ = State::kHead;
  sub_ = Sub::kStatusLine;
  error_ = Error::kNone;
  framing_ = Framing::kNone;
  head_request_ = head_request;
  line_pending_ = false;
  transfer_encoding_seen_ = false;
  chunked_ = false;
  has_location_ = false;
  status_ = 0;
  minor_ = 1;
  head_bytes_ = 0;
  trailer_bytes_ = 0;
  body_bytes_ = 0;
  remaining_ = 0;
  content_length_.reset();
  line_.clear();
  location_.clear();
}

bool HttpResponseParser::takeLine(const char*& p, const char* end, std::string_view& line,
                                  std::size_t cap) {
  // `cap` bounds the bytes of this line including its line ending.
  const char* nl =
      static_cast<const char*>(std::memchr(p, '\n', static_cast<std::size_t>(end - p)));
  std::size_t avail = nl ? static_cast<std::size_t>(nl - p) + 1 : static_cast<std::size_t>(end - p);
  if (line_.size() + avail > cap) {
    return false;  // caller checks line_.size() + avail against cap via lineTooLong below
  }
  if (nl == nullptr) {
    line_.append(p, avail);
    line_pending_ = true;
    p = end;
    return false;
  }
  if (line_pending_) {
    line_.append(p, avail);
    line = std::string_view(line_);
  } else {
    line = std::string_view(p, avail);
  }
  p = nl + 1;
  line.remove_suffix(1);  // '\n'
  if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
  return true;
}

std::size_t HttpResponseParser::feed(const char* data, std::size_t size, BodySink* sink) {
  const char* p = data;
  const char* const end = data + size;
  while (p < end && state_ != State::kDone && state_ != State::kError) {
    switch (sub_) {
      case Sub::kStatusLine:
      case Sub::kHeaderLine: {
        if (sub_ == Sub::kStatusLine) {
          // Reject garbage as soon as it cannot be "HTTP/", instead of buffering up to the cap.
          std::size_t have = line_.size();
          for (std::size_t i = have; i < kHttpPrefix.size() && p + (i - have) < end; ++i) {
            if (p[i - have] != kHttpPrefix[i]) {
              fail(Error::kNotHttp);
              return static_cast<std::size_t>(p - data);
            }
          }
        }
        std::size_t budget = max_header_bytes_ > head_bytes_ ? max_header_bytes_ - head_bytes_ : 0;
        const char* before = p;
        std::size_t pending_before = line_.size();
        std::string_view line;
        bool got = takeLine(p, end, line, budget + pending_before);
        if (!got && p == before) {  // refused by the cap
          fail(Error::kHeadersTooLarge);
          return static_cast<std::size_t>(p - data);
        }
        head_bytes_ += static_cast<std::uint64_t>(p - before);
        if (!got) break;
        bool ok = sub_ == Sub::kStatusLine ? onStatusLine(line) : onHeaderLine(line);
        line_.clear();
        line_pending_ = false;
        if (!ok) return static_cast<std::size_t>(p - data);
        if (state_ != State::kHead) return static_cast<std::size_t>(p - data);  // head complete
        break;
      }
      case Sub::kFixedBody:
      case Sub::kChunkData: {
        auto n = static_cast<std::size_t>(
            std::min<std::uint64_t>(remaining_, static_cast<std::uint64_t>(end - p)));
        if (sink && n) sink->onBody(p, n);
        p += n;
        body_bytes_ += n;
        remaining_ -= n;
        if (remaining_ == 0) {
          if (sub_ == Sub::kFixedBody) {
            state_ = State::kDone;
          } else {
            sub_ = Sub::kChunkDataEnd;
          }
        }
        break;
      }
      case Sub::kEofBody: {
        auto n = static_cast<std::size_t>(end - p);
        if (sink) sink->onBody(p, n);
        body_bytes_ += n;
        p = end;
        break;
      }
      case Sub::kChunkSize:
      case Sub::kChunkDataEnd: {
        std::size_t cap = sub_ == Sub::kChunkSize ? kMaxChunkSizeLine : kMaxChunkDataEnd;
        const char* before = p;
        std::string_view line;
        bool got = takeLine(p, end, line, cap);
        if (!got && p == before) {
          fail(Error::kBadChunk);
          return static_cast<std::size_t>(p - data);
        }
        if (!got) break;
        bool ok;
        if (sub_ == Sub::kChunkSize) {
          ok = onChunkSizeLine(line);
        } else {
          ok = line.empty();
          if (ok)
            sub_ = Sub::kChunkSize;
          else
            fail(Error::kBadChunk);
        }
        line_.clear();
        line_pending_ = false;
        if (!ok) return static_cast<std::size_t>(p - data);
        break;
      }
      case Sub::kTrailer: {
        std::size_t budget =
            max_header_bytes_ > trailer_bytes_ ? max_header_bytes_ - trailer_bytes_ : 0;
        const char* before = p;
        std::size_t pending_before = line_.size();
        std::string_view line;
        bool got = takeLine(p, end, line, budget + pending_before);
        if (!got && p == before) {
          fail(Error::kHeadersTooLarge);
          return static_cast<std::size_t>(p - data);
        }
        trailer_bytes_ += static_cast<std::uint64_t>(p - before);
        if (!got) break;
        bool empty = line.empty();
        line_.clear();
        line_pending_ = false;
        if (empty) state_ = State::kDone;
        break;
      }
    }
  }
  return static_cast<std::size_t>(p - data);
}

bool HttpResponseParser::onStatusLine(std::string_view line) {
  // HTTP/1.1 200 OK  — the reason phrase is optional, and so is the space before it.
  if (line.size() < 12 || line.substr(0, 5) != kHttpPrefix || line[6] != '.' || line[8] != ' ') {
    fail(Error::kBadStatusLine);
    return false;
  }
  if (line[5] != '1' || line[7] < '0' || line[7] > '9') {
    fail(Error::kBadStatusLine);
    return false;
  }
  minor_ = line[7] - '0';
  int code = 0;
  for (int i = 9; i < 12; ++i) {
    char c = line[static_cast<std::size_t>(i)];
    if (c < '0' || c > '9') {
      fail(Error::kBadStatusLine);
      return false;
    }
    code = code * 10 + (c - '0');
  }
  if (code < 100 || (line.size() > 12 && line[12] != ' ')) {
    fail(Error::kBadStatusLine);
    return false;
  }
  status_ = code;
  sub_ = Sub::kHeaderLine;
  return true;
}

bool HttpResponseParser::onHeaderLine(std::string_view line) {
  if (line.empty()) {
    onHeadEnd();
    return true;
  }
  if (line.front() == ' ' || line.front() == '\t') return true;  // obs-fold: not a header we use
  auto colon = line.find(':');
  if (colon == std::string_view::npos || colon == 0) {
    fail(Error::kBadHeader);
    return false;
  }
  std::string_view name = line.substr(0, colon);
  for (char c : name) {
    if (!isTokenChar(c)) {
      fail(Error::kBadHeader);
      return false;
    }
  }
  std::string_view value = trimOws(line.substr(colon + 1));
  if (iequals(name, "content-length")) {
    // "5" or a repeated list "5, 5"; anything else (or disagreement) is a framing error.
    std::size_t i = 0;
    while (i <= value.size()) {
      std::size_t j = value.find(',', i);
      if (j == std::string_view::npos) j = value.size();
      std::string_view item = trimOws(value.substr(i, j - i));
      if (item.empty() || item.size() > 18) {
        fail(Error::kBadContentLength);
        return false;
      }
      std::uint64_t v = 0;
      for (char c : item) {
        if (c < '0' || c > '9') {
          fail(Error::kBadContentLength);
          return false;
        }
        v = v * 10 + static_cast<std::uint64_t>(c - '0');
      }
      if (content_length_ && *content_length_ != v) {
        fail(Error::kBadContentLength);
        return false;
      }
      content_length_ = v;
      i = j + 1;
    }
  } else if (iequals(name, "transfer-encoding")) {
    transfer_encoding_seen_ = true;
    // Chunked must be the final coding for the body to be self-delimiting.
    auto last_comma = value.rfind(',');
    std::string_view last =
        trimOws(last_comma == std::string_view::npos ? value : value.substr(last_comma + 1));
    chunked_ = iequals(last, "chunked");
  } else if (iequals(name, "location")) {
    has_location_ = true;
    location_.assign(value.substr(0, std::min<std::size_t>(value.size(), 8192)));
  }
  return true;
}

void HttpResponseParser::onHeadEnd() {
  if (status_ >= 100 && status_ < 200 && status_ != 101) {
    // Interim response: the real one follows. Forget its headers, keep counting head bytes.
    sub_ = Sub::kStatusLine;
    status_ = 0;
    content_length_.reset();
    transfer_encoding_seen_ = false;
    chunked_ = false;
    has_location_ = false;
    location_.clear();
    return;
  }
  if (head_request_ || status_ == 204 || status_ == 304 || status_ < 200) {
    framing_ = Framing::kNone;
    state_ = State::kDone;
    return;
  }
  if (transfer_encoding_seen_) {
    content_length_.reset();  // RFC 9112 §6.3: Transfer-Encoding overrides Content-Length
    if (chunked_) {
      framing_ = Framing::kChunked;
      sub_ = Sub::kChunkSize;
    } else {
      framing_ = Framing::kUntilEof;
      sub_ = Sub::kEofBody;
    }
  } else if (content_length_) {
    framing_ = Framing::kContentLength;
    remaining_ = *content_length_;
    sub_ = Sub::kFixedBody;
    if (remaining_ == 0) {
      state_ = State::kDone;
      return;
    }
  } else {
    framing_ = Framing::kUntilEof;
    sub_ = Sub::kEofBody;
  }
  state_ = State::kBody;
}

bool HttpResponseParser::onChunkSizeLine(std::string_view line) {
  std::uint64_t size = 0;
  std::size_t digits = 0;
  std::size_t i = 0;
  for (; i < line.size(); ++i) {
    int v = hexValue(line[i]);
    if (v < 0) break;
    if (++digits > 15) {  // > 2^60 bytes: not a real chunk
      fail(Error::kBadChunk);
      return false;
    }
    size = (size << 4) | static_cast<std::uint64_t>(v);
  }
  if (digits == 0) {
    fail(Error::kBadChunk);
    return false;
  }
  std::string_view rest = trimOws(line.substr(i));
  if (!rest.empty() && rest.front() != ';') {
    fail(Error::kBadChunk);
    return false;
  }
  if (size == 0) {
    sub_ = Sub::kTrailer;
  } else {
    remaining_ = size;
    sub_ = Sub::kChunkData;
  }
  return true;
}

bool HttpResponseParser::onEof() {
  if (state_ == State::kDone) return true;
  if (state_ == State::kBody && sub_ == Sub::kEofBody) {
    state_ = State::kDone;
    return true;
  }
  return false;
}

std::string_view toString(HttpResponseParser::Error error) {
  using E = HttpResponseParser::Error;
  switch (error) {
    case E::kNone:
      return "ok";
    case E::kNotHttp:
      return "response is not HTTP";
    case E::kBadStatusLine:
      return "malformed status line";
    case E::kBadHeader:
      return "malformed response header";
    case E::kHeadersTooLarge:
      return "response headers too large";
    case E::kBadContentLength:
      return "invalid Content-Length";
    case E::kBadChunk:
      return "malformed chunked encoding";
  }
  return "?";
}

}  // namespace tidewatch::io
