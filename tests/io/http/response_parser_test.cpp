#include "io/http/response_parser.h"

#include <gtest/gtest.h>

#include <random>
#include <string>

namespace tidewatch::io {
namespace {

struct Collect : HttpResponseParser::BodySink {
  std::string body;
  void onBody(const char* d, std::size_t n) override { body.append(d, n); }
};

// Feeds `wire` in pieces of the given sizes (cycled) the way the client does: stop at the
// head, continue with the rest.
HttpResponseParser parseInPieces(std::string_view wire, std::size_t piece, Collect& sink,
                                 bool head = false, std::size_t max_header = 64 * 1024) {
  HttpResponseParser p(max_header);
  p.reset(head);
  std::size_t off = 0;
  while (off < wire.size() && p.state() != HttpResponseParser::State::kDone &&
         p.state() != HttpResponseParser::State::kError) {
    std::string_view chunk = wire.substr(off, piece);
    std::size_t used = 0;
    while (used < chunk.size() && p.state() != HttpResponseParser::State::kDone &&
           p.state() != HttpResponseParser::State::kError) {
      std::size_t n = p.feed(chunk.substr(used), &sink);
      if (n == 0) break;
      used += n;
    }
    off += chunk.size();
  }
  return p;
}

TEST(HttpParser, ContentLengthResponse) {
  Collect c;
  auto p = parseInPieces("HTTP/1.1 200 OK\r\nContent-Length: 5\r\nX: y\r\n\r\nhello", 1 << 20, c);
  EXPECT_EQ(p.state(), HttpResponseParser::State::kDone);
  EXPECT_EQ(p.status(), 200);
  EXPECT_EQ(c.body, "hello");
  EXPECT_EQ(p.framing(), HttpResponseParser::Framing::kContentLength);
}

TEST(HttpParser, StopsAfterHeadSoCallerCanDecide) {
  HttpResponseParser p;
  p.reset(false);
  std::string wire = "HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\nabc";
  Collect c;
  std::size_t used = p.feed(wire, &c);
  EXPECT_EQ(used, wire.size() - 3);
  EXPECT_EQ(p.state(), HttpResponseParser::State::kBody);
  EXPECT_TRUE(c.body.empty());
  EXPECT_EQ(p.feed(std::string_view(wire).substr(used), &c), 3u);
  EXPECT_EQ(c.body, "abc");
}

TEST(HttpParser, ChunkedWithExtensionsAndTrailers) {
  std::string wire =
      "HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, chunked\r\nContent-Length: 999\r\n\r\n"
      "5;name=value\r\nhello\r\n1A\r\nabcdefghijklmnopqrstuvwxyz\r\n0\r\nTrailer: x\r\n\r\n";
  Collect c;
  auto p = parseInPieces(wire, 1 << 20, c);
  EXPECT_EQ(p.state(), HttpResponseParser::State::kDone);
  EXPECT_EQ(c.body, "helloabcdefghijklmnopqrstuvwxyz");
  EXPECT_FALSE(p.contentLength().has_value());  // Transfer-Encoding wins
}

TEST(HttpParser, EverySplitPointGivesTheSameResult) {
  const std::string wires[] = {
      "HTTP/1.1 200 OK\r\nContent-Length: 11\r\nLocation: /x\r\n\r\nhello world",
      "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n4\r\ndefg\r\n0\r\n\r\n",
      "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.0 404 Not Found\nContent-Length: 2\n\nno",
  };
  const std::string bodies[] = {"hello world", "abcdefg", "no"};
  const int statuses[] = {200, 200, 404};
  for (int w = 0; w < 3; ++w) {
    for (std::size_t split = 1; split <= wires[w].size(); ++split) {
      // Two pieces split at `split`, and also a uniform piece size of `split`.
      Collect c1;
      auto p1 = parseInPieces(wires[w], split, c1);
      ASSERT_EQ(p1.state(), HttpResponseParser::State::kDone) << w << " piece " << split;
      EXPECT_EQ(c1.body, bodies[w]);
      EXPECT_EQ(p1.status(), statuses[w]);
      HttpResponseParser p2;
      p2.reset(false);
      Collect c2;
      std::string_view all(wires[w]);
      std::string_view a = all.substr(0, split), b = all.substr(split);
      for (std::string_view part : {a, b}) {
        while (!part.empty() && p2.state() != HttpResponseParser::State::kDone) {
          std::size_t n = p2.feed(part, &c2);
          if (n == 0) break;
          part.remove_prefix(n);
        }
      }
      EXPECT_EQ(p2.state(), HttpResponseParser::State::kDone) << w << " split " << split;
      EXPECT_EQ(c2.body, bodies[w]);
    }
  }
}

TEST(HttpParser, GarbageIsAClassifiedErrorAtOnce) {
  Collect c;
  auto p = parseInPieces("SSH-2.0-OpenSSH_9.2\r\n", 1, c);
  EXPECT_EQ(p.state(), HttpResponseParser::State::kError);
  EXPECT_EQ(p.error(), HttpResponseParser::Error::kNotHttp);
  auto p2 = parseInPieces(std::string(100000, '\x01'), 4096, c);
  EXPECT_EQ(p2.error(), HttpResponseParser::Error::kNotHttp);
  auto p3 = parseInPieces("HTTP/1.1 2x0 OK\r\n\r\n", 3, c);
  EXPECT_EQ(p3.error(), HttpResponseParser::Error::kBadStatusLine);
  auto p4 = parseInPieces("HTTP/1.1 200 OK\r\nno colon here\r\n\r\n", 5, c);
  EXPECT_EQ(p4.error(), HttpResponseParser::Error::kBadHeader);
}

TEST(HttpParser, HugeHeaderLineIsRejectedWithoutBufferingIt) {
  Collect c;
  std::string wire = "HTTP/1.1 200 OK\r\nX-Big: " + std::string(1 << 20, 'a') + "\r\n\r\n";
  auto p = parseInPieces(wire, 16384, c);
  EXPECT_EQ(p.error(), HttpResponseParser::Error::kHeadersTooLarge);
  EXPECT_LE(p.headBytes(), 64u * 1024);
}

TEST(HttpParser, ManySmallHeadersOverTheCapAreRejected) {
  std::string wire = "HTTP/1.1 200 OK\r\n";
  for (int i = 0; i < 5000; ++i) wire += "X-H" + std::to_string(i) + ": 0123456789\r\n";
  wire += "\r\n";
  Collect c;
  auto p = parseInPieces(wire, 1000, c);
  EXPECT_EQ(p.error(), HttpResponseParser::Error::kHeadersTooLarge);
}

TEST(HttpParser, HeadAnd204And304HaveNoBody) {
  Collect c;
  auto p = parseInPieces("HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n", 7, c, /*head=*/true);
  EXPECT_EQ(p.state(), HttpResponseParser::State::kDone);
  auto p2 = parseInPieces("HTTP/1.1 204 No Content\r\n\r\n", 7, c);
  EXPECT_EQ(p2.state(), HttpResponseParser::State::kDone);
  auto p3 = parseInPieces("HTTP/1.1 304 Not Modified\r\nContent-Length: 5\r\n\r\n", 7, c);
  EXPECT_EQ(p3.state(), HttpResponseParser::State::kDone);
}

TEST(HttpParser, TruncationIsVisibleAtEof) {
  Collect c;
  auto p = parseInPieces("HTTP/1.1 200 OK\r\nContent-Length: 200\r\n\r\n0123456789", 4, c);
  EXPECT_EQ(p.state(), HttpResponseParser::State::kBody);
  EXPECT_FALSE(p.onEof());
  auto p2 = parseInPieces("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n10\r\nabc", 4, c);
  EXPECT_FALSE(p2.onEof());
  auto p3 = parseInPieces("HTTP/1.1 200 OK\r\n\r\nuntil close", 4, c);
  EXPECT_TRUE(p3.onEof());
  EXPECT_EQ(p3.state(), HttpResponseParser::State::kDone);
}

TEST(HttpParser, BadFramingIsAnError) {
  Collect c;
  EXPECT_EQ(
      parseInPieces("HTTP/1.1 200 OK\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\n", 100, c)
          .error(),
      HttpResponseParser::Error::kBadContentLength);
  EXPECT_EQ(parseInPieces("HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n", 100, c).error(),
            HttpResponseParser::Error::kBadContentLength);
  EXPECT_EQ(
      parseInPieces("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n", 100, c).error(),
      HttpResponseParser::Error::kBadChunk);
  EXPECT_EQ(
      parseInPieces("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nabXX\r\n", 100, c)
          .error(),
      HttpResponseParser::Error::kBadChunk);
  EXPECT_EQ(
      parseInPieces("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nFFFFFFFFFFFFFFFFFF\r\n",
                    100, c)
          .error(),
      HttpResponseParser::Error::kBadChunk);
}

TEST(HttpParser, RepeatedEqualContentLengthIsAccepted) {
  Collect c;
  auto p = parseInPieces("HTTP/1.1 200 OK\r\nContent-Length: 2, 2\r\n\r\nok", 100, c);
  EXPECT_EQ(p.state(), HttpResponseParser::State::kDone);
  EXPECT_EQ(c.body, "ok");
}

// 200 000 random and mutated inputs: the parser must neither crash nor overrun its bounds.
// (The libFuzzer target in tests/fuzz explores further; this keeps a floor in every ctest run.)
TEST(HttpParser, SurvivesRandomAndMutatedInput) {
  std::mt19937_64 rng(20261128);
  const std::string seeds[] = {
      "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello",
      "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n",
      "HTTP/1.1 301 Moved\r\nLocation: /a\r\n\r\n",
      "HTTP/1.0 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\n\r\nbody",
  };
  Collect sink;
  for (int i = 0; i < 200000; ++i) {
    std::string input;
    if (i % 4 == 0) {
      input.resize(rng() % 200);
      for (auto& ch : input) ch = static_cast<char>(rng());
    } else {
      input = seeds[rng() % 4];
      int edits = 1 + static_cast<int>(rng() % 6);
      for (int e = 0; e < edits && !input.empty(); ++e) {
        std::size_t pos = rng() % input.size();
        switch (rng() % 3) {
          case 0:
            input[pos] = static_cast<char>(rng());
            break;
          case 1:
            input.erase(pos, 1);
            break;
          default:
            input.insert(pos, 1, "\r\n:0aF;"[rng() % 7]);
            break;
        }
      }
    }
    sink.body.clear();
    auto p = parseInPieces(input, 1 + rng() % 17, sink, false, 256);
    p.onEof();
    ASSERT_LE(sink.body.size(), input.size());
    ASSERT_LE(p.headBytes(), 256u + 1);
  }
}

}  // namespace
}  // namespace tidewatch::io
