#include "stages/probe/http/keyword_matcher.h"

#include <gtest/gtest.h>

namespace tidewatch::stages {
namespace {

TEST(KeywordMatcher, FindsKeywordsStraddlingEveryChunkBoundary) {
  std::string page =
      std::string(300, 'x') + "uptime-bench-canary" + std::string(50, 'y') + "HACKED" + "zz";
  for (std::size_t piece = 1; piece <= 40; ++piece) {
    for (std::size_t first = 0; first < piece; ++first) {
      KeywordMatcher m("uptime-bench-canary", {"HACKED", ""});
      std::string_view rest(page);
      m.feed(rest.substr(0, first));
      rest.remove_prefix(first);
      while (!rest.empty()) {
        m.feed(rest.substr(0, piece));
        rest.remove_prefix(std::min(piece, rest.size()));
      }
      ASSERT_TRUE(m.requiredFound()) << piece << "/" << first;
      ASSERT_NE(m.forbiddenFound(), nullptr) << piece << "/" << first;
      EXPECT_EQ(*m.forbiddenFound(), "HACKED");
    }
  }
}

TEST(KeywordMatcher, MissingAndCaseSensitive) {
  KeywordMatcher m("Canary", {"evil"});
  m.feed("a canary page, EVIL in caps");
  EXPECT_FALSE(m.requiredFound());
  EXPECT_EQ(m.forbiddenFound(), nullptr);
}

TEST(KeywordMatcher, HealthyArticleMentioningFatalErrorIsNotAMatchForOtherRules) {
  KeywordMatcher m("uptime-bench-canary", {"HACKED"});
  m.feed("<p>How to debug a PHP fatal error in WordPress</p> uptime-bench-canary");
  EXPECT_TRUE(m.requiredFound());
  EXPECT_EQ(m.forbiddenFound(), nullptr);
}

TEST(KeywordMatcher, KeepsOnlyACarryOverBetweenChunks) {
  KeywordMatcher m("abcdef", {});
  for (int i = 0; i < 10000; ++i) m.feed(std::string(1000, 'q'));
  m.feed("abc");
  m.feed("def");
  EXPECT_TRUE(m.requiredFound());
}

TEST(KeywordMatcher, EmptyRulesAreDropped) {
  KeywordMatcher m("", {"", ""});
  EXPECT_TRUE(m.empty());
  EXPECT_TRUE(m.requiredFound());
}

}  // namespace
}  // namespace tidewatch::stages
