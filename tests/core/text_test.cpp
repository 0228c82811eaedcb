#include "core/text.h"

#include <gtest/gtest.h>

namespace tidewatch {
namespace {

TEST(Text, CaseFoldingIsAsciiOnly) {
  EXPECT_TRUE(iequals("Content-Length", "content-length"));
  EXPECT_FALSE(iequals("Content-Length", "content-lengt"));
  EXPECT_FALSE(iequals("\xC3\x89", "\xC3\xA9"));  // É vs é: not ASCII, not folded
  EXPECT_TRUE(istartsWith("HTTPS://a.test", "https://"));
  EXPECT_FALSE(istartsWith("http", "https"));
}

TEST(Text, TrimSpaceDropsSpacesTabsAndLineEndsAtBothEnds) {
  EXPECT_EQ(trimSpace(" \t value with inner space \r\n"), "value with inner space");
  EXPECT_EQ(trimSpace("\r\n"), "");
  EXPECT_EQ(trimSpace("x"), "x");
}

TEST(Text, UnixNowMsIsTheSystemClock) {
  const std::int64_t now = unixNowMs();
  EXPECT_GT(now, 1'700'000'000'000);  // after 2023
  EXPECT_LT(now, 4'102'444'800'000);  // before 2100
}

TEST(Text, GlobMatchesStarsAndQuestionMarksCaseInsensitively) {
  EXPECT_TRUE(globMatch("*", ""));
  EXPECT_TRUE(globMatch("site-*.test", "SITE-42.test"));
  EXPECT_TRUE(globMatch("s?te-*", "site-1"));
  EXPECT_FALSE(globMatch("site-*.test", "site-42.example"));
  EXPECT_TRUE(globMatch("*a*b*c", "xxaxxbxxc"));
  EXPECT_FALSE(globMatch("*a*b*c", "xxaxxcxxb"));
  // A pathological pattern stays linear enough to finish at once.
  EXPECT_FALSE(globMatch(std::string(200, '*') + "b", std::string(5000, 'a')));
}

TEST(Text, SplitHostPortAcceptsV4V6AndEmptyHostAndNamesTheProblem) {
  auto a = splitHostPort("127.0.0.1:9190");
  ASSERT_TRUE(a);
  EXPECT_EQ(a->host, "127.0.0.1");
  EXPECT_EQ(a->port, 9190);
  auto b = splitHostPort("[::1]:0");
  ASSERT_TRUE(b);
  EXPECT_EQ(b->host, "::1");
  auto c = splitHostPort(":7803");
  ASSERT_TRUE(c);
  EXPECT_EQ(c->host, "");
  std::string why;
  EXPECT_FALSE(splitHostPort("localhost", &why));
  EXPECT_NE(why.find("missing ':port'"), std::string::npos);
  EXPECT_FALSE(splitHostPort("a:70000", &why));
  EXPECT_NE(why.find("bad port '70000'"), std::string::npos);
  EXPECT_FALSE(splitHostPort("a:12x", &why));
}

TEST(Text, FormatsUtcInEveryStyle) {
  const std::int64_t ms = 1796606417123;  // 2026-12-07T01:20:17.123Z
  EXPECT_EQ(formatUtc(ms, UtcFormat::kIso8601), "2026-12-07T01:20:17Z");
  EXPECT_EQ(formatUtc(ms, UtcFormat::kIso8601Millis), "2026-12-07T01:20:17.123Z");
  EXPECT_EQ(formatUtc(ms, UtcFormat::kSqlDatetime), "2026-12-07 01:20:17");
  EXPECT_EQ(formatUtc(ms, UtcFormat::kSqlDatetimeMillis), "2026-12-07 01:20:17.123");
  EXPECT_EQ(formatUtc(0, UtcFormat::kIso8601), "1970-01-01T00:00:00Z");
  EXPECT_EQ(formatUtc(951782400000, UtcFormat::kIso8601), "2000-02-29T00:00:00Z");  // leap day
}

TEST(Text, UnixSecondsFromUtcInvertsFormatting) {
  EXPECT_EQ(unixSecondsFromUtc(1970, 1, 1, 0, 0, 0), 0);
  EXPECT_EQ(unixSecondsFromUtc(2026, 12, 7, 1, 20, 17), 1796606417);
  EXPECT_EQ(unixSecondsFromUtc(2000, 2, 29, 0, 0, 0), 951782400);
  EXPECT_EQ(unixSecondsFromUtc(2100, 3, 1, 0, 0, 0), 4107542400);  // 2100 is not a leap year
}

}  // namespace
}  // namespace tidewatch
