// io/http/request_head: the one request-head parser of our small server.
#include "io/http/request_head.h"

#include <gtest/gtest.h>

namespace tidewatch::io {
namespace {

TEST(RequestHead, RequestLineHeadersAndFraming) {
  RequestHeadParse p = parseRequestHead(
      "POST /v2/check?x=1 HTTP/1.1\r\nHost: a\r\nAuthorization:  Bearer t  \r\nContent-Length: "
      "12\r\n"
      "authorization: Bearer last\r\n\r\n");
  ASSERT_TRUE(p.head) << p.error;
  EXPECT_EQ(p.head->method, "POST");
  EXPECT_EQ(p.head->target, "/v2/check?x=1");
  EXPECT_EQ(p.head->path, "/v2/check");
  EXPECT_EQ(p.head->content_length, 12u);
  EXPECT_FALSE(p.head->chunked);
  EXPECT_EQ(p.head->header("host"), "a");
  EXPECT_EQ(p.head->header("AUTHORIZATION"), "Bearer last");  // the last one, case-insensitive
  EXPECT_EQ(p.head->header("x-missing"), "");
  EXPECT_EQ(p.head->headers.size(), 4u);
}

TEST(RequestHead, TransferEncodingMarksChunkedAndARepeatedEqualLengthIsFine) {
  RequestHeadParse p = parseRequestHead(
      "PUT / HTTP/1.0\r\nTransfer-Encoding: chunked\r\nContent-Length: 3\r\nContent-Length: "
      "3\r\n\r\n");
  ASSERT_TRUE(p.head) << p.error;
  EXPECT_TRUE(p.head->chunked);
  EXPECT_EQ(p.head->content_length, 3u);
}

TEST(RequestHead, MalformedHeadsAreValuesWithAReason) {
  EXPECT_EQ(parseRequestHead("GARBAGE\r\n\r\n").error, "malformed request line");
  EXPECT_EQ(parseRequestHead("GET / SPDY/3\r\n\r\n").error, "malformed request line");
  EXPECT_EQ(parseRequestHead("GET / HTTP/1.1\r\nno colon here\r\n\r\n").error,
            "malformed header line");
  EXPECT_EQ(parseRequestHead("GET / HTTP/1.1\r\n: empty name\r\n\r\n").error,
            "malformed header line");
  EXPECT_EQ(parseRequestHead("GET / HTTP/1.1\r\nContent-Length: 1x\r\n\r\n").error,
            "bad Content-Length");
  EXPECT_EQ(parseRequestHead("GET / HTTP/1.1\r\nContent-Length: 1234567890123456789\r\n\r\n").error,
            "bad Content-Length");
  EXPECT_EQ(
      parseRequestHead("GET / HTTP/1.1\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n").error,
      "conflicting Content-Length");
  EXPECT_FALSE(parseRequestHead("").head);
}

}  // namespace
}  // namespace tidewatch::io
