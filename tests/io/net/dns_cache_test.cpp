#include <gtest/gtest.h>

#include <algorithm>
#include <set>

#include "io/net/dns_cache.h"

namespace tidewatch::io {
namespace {

using namespace std::chrono_literals;

ResolveResultPtr answer(std::uint32_t ttl) {
  auto r = std::make_shared<ResolveResult>();
  r->addresses.push_back(asio::ip::make_address("203.0.113.7"));
  r->ttl_s = ttl;
  return r;
}

ResolveResultPtr error(DnsErrorKind kind) {
  auto r = std::make_shared<ResolveResult>();
  r->error = kind;
  return r;
}

DnsCache::Options opts() {
  return {30s, 900s, 5s, 1000};
}

TEST(DnsCache, TtlIsClampedToFloorAndCeilingWithJitterBelowIt) {
  DnsCache cache(opts());
  for (const char* name : {"a.example", "b.example", "c.example"}) {
    auto low = cache.lifetime(name, 1, false);
    EXPECT_LE(low, 30s);
    EXPECT_GE(low, 24s);  // at most 20 % shorter
    auto high = cache.lifetime(name, 86400, false);
    EXPECT_LE(high, 900s);
    EXPECT_GE(high, 720s);
    auto mid = cache.lifetime(name, 300, false);
    EXPECT_LE(mid, 300s);
    EXPECT_GE(mid, 240s);
  }
}

TEST(DnsCache, JitterSpreadsExpiriesOfAFleetLoadedTogether) {
  DnsCache cache(opts());
  std::set<std::int64_t> distinct;
  std::int64_t lo = INT64_MAX, hi = 0;
  for (int i = 0; i < 10000; ++i) {
    std::int64_t ms =
        cache.lifetime("site" + std::to_string(i) + ".fleet.test", 900, false).count();
    distinct.insert(ms / 1000);
    lo = std::min(lo, ms);
    hi = std::max(hi, ms);
  }
  EXPECT_GT(distinct.size(), 150u);  // spread over ~180 distinct seconds
  EXPECT_GT(hi - lo, 170'000);
  // Stable per name: the same name always gets the same lifetime.
  EXPECT_EQ(cache.lifetime("x.test", 900, false), cache.lifetime("x.test", 900, false));
}

TEST(DnsCache, EntriesExpire) {
  DnsCache cache(opts());
  auto t0 = DnsCache::Clock::now();
  ASSERT_TRUE(cache.insert("a.example", answer(60), t0));
  EXPECT_NE(cache.lookup("a.example", t0 + 10s), nullptr);
  EXPECT_NE(cache.lookup("a.example", t0 + 47s), nullptr);  // ≥ 48 s with jitter
  EXPECT_EQ(cache.lookup("a.example", t0 + 61s), nullptr);
  EXPECT_EQ(cache.size(), 0u);
}

TEST(DnsCache, NxDomainIsCachedBrieflyServfailAndTimeoutNever) {
  DnsCache cache(opts());
  auto t0 = DnsCache::Clock::now();
  EXPECT_TRUE(cache.insert("nx.example", error(DnsErrorKind::kNxDomain), t0));
  EXPECT_NE(cache.lookup("nx.example", t0 + 4s), nullptr);
  EXPECT_EQ(cache.lookup("nx.example", t0 + 6s), nullptr);
  EXPECT_FALSE(cache.insert("sf.example", error(DnsErrorKind::kServFail), t0));
  EXPECT_FALSE(cache.insert("to.example", error(DnsErrorKind::kTimeout), t0));
  EXPECT_FALSE(cache.insert("re.example", error(DnsErrorKind::kResolverError), t0));
  EXPECT_EQ(cache.lookup("sf.example", t0), nullptr);
}

TEST(DnsCache, SizeIsBounded) {
  DnsCache cache({30s, 900s, 5s, 100});
  auto t0 = DnsCache::Clock::now();
  for (int i = 0; i < 1000; ++i) cache.insert("h" + std::to_string(i), answer(300), t0);
  EXPECT_LE(cache.size(), 100u);
}

}  // namespace
}  // namespace tidewatch::io
