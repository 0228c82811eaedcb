#include "io/net/url.h"

#include <gtest/gtest.h>

namespace tidewatch::io {
namespace {

Url must(std::string_view s) {
  auto r = parseUrl(s);
  EXPECT_TRUE(r.url.has_value()) << s;
  return r.url.value_or(Url{});
}

TEST(Url, ParsesSchemeHostPortAndTarget) {
  Url u = must("HTTPS://Example.COM:8443/a/b?c=d#frag");
  EXPECT_TRUE(u.https);
  EXPECT_EQ(u.host, "example.com");
  EXPECT_EQ(u.port, 8443);
  EXPECT_EQ(u.target, "/a/b?c=d");
  EXPECT_EQ(u.hostHeader(), "example.com:8443");
  Url v = must("http://example.com");
  EXPECT_EQ(v.port, 80);
  EXPECT_EQ(v.target, "/");
  EXPECT_EQ(v.hostHeader(), "example.com");
  Url q = must("http://example.com?x=1");
  EXPECT_EQ(q.target, "/?x=1");
}

TEST(Url, Ipv6LiteralAndUserinfo) {
  Url u = must("http://[::1]:8080/x");
  EXPECT_TRUE(u.host_is_ipv6);
  EXPECT_EQ(u.host, "::1");
  EXPECT_EQ(u.hostHeader(), "[::1]:8080");
  Url w = must("http://user:pw@example.com/");
  EXPECT_TRUE(w.has_userinfo);
  EXPECT_EQ(w.host, "example.com");
}

TEST(Url, RejectsBadInputAsValues) {
  EXPECT_EQ(parseUrl("").error, UrlError::kEmpty);
  EXPECT_EQ(parseUrl("ftp://example.com/").error, UrlError::kBadScheme);
  EXPECT_EQ(parseUrl("javascript:alert(1)").error, UrlError::kBadScheme);
  EXPECT_EQ(parseUrl("http://").error, UrlError::kBadHost);
  EXPECT_EQ(parseUrl("http://exa mple.com/").error, UrlError::kBadHost);
  EXPECT_EQ(parseUrl("http://example.com:0/").error, UrlError::kBadPort);
  EXPECT_EQ(parseUrl("http://example.com:70000/").error, UrlError::kBadPort);
  EXPECT_EQ(parseUrl("http://example.com:8a/").error, UrlError::kBadPort);
  EXPECT_EQ(parseUrl("http://[::1/").error, UrlError::kBadHost);
}

TEST(Url, EscapesBytesThatWouldBreakTheRequestLine) {
  Url u = must("http://example.com/a b\x7f");
  EXPECT_EQ(u.target, "/a%20b%7F");
}

TEST(Url, ResolvesRelativeLocations) {
  Url base = must("http://example.com/a/b/c?q=1");
  auto r = [&](std::string_view ref) {
    auto x = resolveReference(base, ref);
    return x.url ? x.url->str() : std::string("ERR");
  };
  EXPECT_EQ(r("https://other.org/x"), "https://other.org/x");
  EXPECT_EQ(r("//cdn.example.net/y"), "http://cdn.example.net/y");
  EXPECT_EQ(r("/root"), "http://example.com/root");
  EXPECT_EQ(r("d"), "http://example.com/a/b/d");
  EXPECT_EQ(r("./d"), "http://example.com/a/b/d");
  EXPECT_EQ(r("../d"), "http://example.com/a/d");
  EXPECT_EQ(r("../../../../d"), "http://example.com/d");
  EXPECT_EQ(r("?z=2"), "http://example.com/a/b/c?z=2");
  EXPECT_EQ(r(""), "http://example.com/a/b/c?q=1");
  EXPECT_EQ(r("d#frag"), "http://example.com/a/b/d");
  EXPECT_EQ(r("/redir/"), "http://example.com/redir/");
  EXPECT_EQ(r("."), "http://example.com/a/b/");
  EXPECT_EQ(resolveReference(base, "ftp://x/").error, UrlError::kBadScheme);
  EXPECT_EQ(r("HTTP://Example.com:80/p"), "http://example.com/p");
}

TEST(Url, CanonicalFormMakesLoopsDetectable) {
  Url a = must("http://Example.com:80/p");
  Url b = must("http://example.com/p");
  EXPECT_EQ(a.str(), b.str());
}

}  // namespace
}  // namespace tidewatch::io
