// The pure parts of a Jetmon check: the redirect decision and the request it sends.
#include "stages/probe/http/redirects.h"

#include <gtest/gtest.h>

#include "stages/probe/http/check_request.h"

namespace tidewatch::stages {
namespace {

io::Url url(const std::string& text) {
  return *io::parseUrl(text).url;
}

TEST(Redirects, RelativeLocationIsResolvedAgainstTheCurrentUrl) {
  RedirectStep s = nextRedirect(url("http://site.test/a/b"), "../c?x=1", {}, 0, {});
  ASSERT_FALSE(s.refusal);
  EXPECT_EQ(s.key, "http://site.test/c?x=1");
  EXPECT_EQ(s.next.target, "/c?x=1");
}

TEST(Redirects, FailPolicyAndFollowRedirectsFalseAreCode4) {
  RedirectStep fail =
      nextRedirect(url("http://site.test/"), "/next", {RedirectPolicy::kFail, 10, false}, 0, {});
  ASSERT_TRUE(fail.refusal);
  EXPECT_EQ(fail.refusal->code, ErrorCode::kRedirect);
  EXPECT_EQ(fail.refusal->detail, "redirect not allowed by policy");
  RedirectStep off =
      nextRedirect(url("http://site.test/"), "/next", {RedirectPolicy::kFollow, 0, false}, 0, {});
  ASSERT_TRUE(off.refusal);
  EXPECT_EQ(off.refusal->code, ErrorCode::kRedirect);
  EXPECT_NE(off.refusal->detail.find("probe.follow_redirects: false"), std::string::npos);
}

TEST(Redirects, LoopAndLimitStopTheCheck) {
  RedirectStep loop = nextRedirect(url("http://site.test/b"), "/a", {}, 1,
                                   {"http://site.test/a", "http://site.test/b"});
  ASSERT_TRUE(loop.refusal);
  EXPECT_EQ(loop.refusal->detail, "redirect loop");
  RedirectStep limit =
      nextRedirect(url("http://site.test/b"), "/c", {RedirectPolicy::kFollow, 2, false}, 2, {});
  ASSERT_TRUE(limit.refusal);
  EXPECT_EQ(limit.refusal->code, ErrorCode::kRedirect);
  EXPECT_EQ(limit.refusal->detail, "stopped after 2 redirects (probe.max_redirects)");
}

TEST(Redirects, OtherSchemesAndUserinfoAreProbeSafetyUnlessPrivateTargetsAreAllowed) {
  RedirectStep ftp = nextRedirect(url("http://site.test/"), "ftp://site.test/", {}, 0, {});
  ASSERT_TRUE(ftp.refusal);
  EXPECT_EQ(ftp.refusal->code, ErrorCode::kProbeSafety);
  RedirectStep ftp_allowed = nextRedirect(url("http://site.test/"), "ftp://site.test/",
                                          {RedirectPolicy::kFollow, 10, true}, 0, {});
  ASSERT_TRUE(ftp_allowed.refusal);
  EXPECT_EQ(ftp_allowed.refusal->code, ErrorCode::kConnect);
  RedirectStep userinfo =
      nextRedirect(url("http://site.test/"), "http://u:p@site.test/", {}, 0, {});
  ASSERT_TRUE(userinfo.refusal);
  EXPECT_EQ(userinfo.refusal->code, ErrorCode::kProbeSafety);
  EXPECT_EQ(userinfo.refusal->detail, "redirect target carries userinfo");
  EXPECT_FALSE(refuseUrl(io::parseUrl("http://u:p@site.test/"), true, false));
}

TEST(CheckRequest, SiteHeadersOverrideHostAndUserAgentButNeverTheFraming) {
  std::string out;
  appendCheckRequest(out, HttpMethod::kHead, url("http://site.test:8080/p?q"),
                     {{"host", "other.test"},
                      {"Content-Length", "5"},
                      {"Connection", "keep-alive"},
                      {"X-Evil", "a\r\nInjected: yes"},
                      {"X-Fine", "1"}},
                     "agent/1");
  EXPECT_EQ(out,
            "HEAD /p?q HTTP/1.1\r\nUser-Agent: agent/1\r\nAccept: */*\r\nConnection: close\r\n"
            "host: other.test\r\nX-Fine: 1\r\n\r\n");
}

TEST(CheckRequest, DefaultsCarryHostWithItsPortAndOurUserAgent) {
  std::string out;
  appendCheckRequest(out, HttpMethod::kGet, url("http://site.test:8080/"), {}, "agent/1");
  EXPECT_EQ(out,
            "GET / HTTP/1.1\r\nHost: site.test:8080\r\nUser-Agent: agent/1\r\nAccept: */*\r\n"
            "Connection: close\r\n\r\n");
}

}  // namespace
}  // namespace tidewatch::stages
