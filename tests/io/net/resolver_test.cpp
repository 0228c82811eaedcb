#include "io/net/resolver.h"

#include <gtest/gtest.h>

#include <asio/executor_work_guard.hpp>
#include <asio/post.hpp>
#include <fstream>
#include <future>
#include <thread>

#include "tests/support/fake_dns.h"

namespace tidewatch::io {
namespace {

using testing::FakeDns;

class ResolverTest : public ::testing::Test {
 protected:
  void SetUp() override {
    guard_.emplace(io_.get_executor());
    thread_ = std::thread([this] { io_.run(); });
  }
  void TearDown() override {
    resolver_.reset();
    guard_.reset();
    thread_.join();
  }
  Resolver& make(std::vector<std::string> servers, int timeout_ms = 300, int tries = 1) {
    ResolverOptions o;
    o.servers = std::move(servers);
    o.timeout_ms = timeout_ms;
    o.tries = tries;
    resolver_ = std::make_unique<Resolver>(io_, o);
    return *resolver_;
  }
  ResolveResultPtr lookup(const std::string& name) {
    std::promise<ResolveResultPtr> p;
    resolver_->resolve(name, [&p](ResolveResultPtr r) { p.set_value(std::move(r)); });
    auto f = p.get_future();
    EXPECT_EQ(f.wait_for(std::chrono::seconds(10)), std::future_status::ready);
    return f.get();
  }

  asio::io_context io_;
  std::optional<asio::executor_work_guard<asio::io_context::executor_type>> guard_;
  std::thread thread_;
  std::unique_ptr<Resolver> resolver_;
};

TEST_F(ResolverTest, AnswersIpv4FirstThenIpv6) {
  FakeDns dns;
  dns.set("dual.test", {FakeDns::Mode::kAnswer, {"203.0.113.5"}, {"2001:db8::5"}, 300});
  make({dns.address()});
  auto r = lookup("dual.test");
  ASSERT_EQ(r->error, DnsErrorKind::kNone) << r->detail;
  ASSERT_EQ(r->addresses.size(), 2u);
  EXPECT_TRUE(r->addresses[0].is_v4());
  EXPECT_TRUE(r->addresses[1].is_v6());
  EXPECT_EQ(r->ttl_s, 300u);
}

TEST_F(ResolverTest, CachesAnswersSoTheServerIsAskedOnce) {
  FakeDns dns;
  dns.set("cached.test", {FakeDns::Mode::kAnswer, {"203.0.113.6"}, {}, 300});
  make({dns.address()});
  lookup("cached.test");
  int after_first = dns.queries("cached.test");
  for (int i = 0; i < 50; ++i) EXPECT_EQ(lookup("cached.test")->error, DnsErrorKind::kNone);
  EXPECT_EQ(dns.queries("cached.test"), after_first);
  EXPECT_EQ(resolver_->stats().cache_hits, 50u);
}

TEST_F(ResolverTest, ConcurrentLookupsOfOneNameShareOneQuery) {
  FakeDns dns;
  dns.set("flight.test", {FakeDns::Mode::kAnswer, {"203.0.113.7"}, {}, 300, 100});
  make({dns.address()}, 2000);
  std::atomic<int> done{0};
  std::promise<void> all;
  for (int i = 0; i < 100; ++i) {
    resolver_->resolve("flight.test", [&](ResolveResultPtr r) {
      EXPECT_EQ(r->error, DnsErrorKind::kNone);
      if (++done == 100) all.set_value();
    });
  }
  ASSERT_EQ(all.get_future().wait_for(std::chrono::seconds(10)), std::future_status::ready);
  EXPECT_LE(dns.queries("flight.test"), 2);  // one A + one AAAA
  EXPECT_EQ(resolver_->stats().queries, 1u);
  EXPECT_EQ(resolver_->stats().joined, 99u);
}

TEST_F(ResolverTest, FailuresKeepTheirKind) {
  FakeDns dns;
  dns.set("nx.test", FakeDns::only(FakeDns::Mode::kNxDomain));
  dns.set("sf.test", FakeDns::only(FakeDns::Mode::kServFail));
  dns.set("drop.test", FakeDns::only(FakeDns::Mode::kDrop));
  make({dns.address()}, 200, 1);
  EXPECT_EQ(lookup("nx.test")->error, DnsErrorKind::kNxDomain);
  auto sf = lookup("sf.test");
  EXPECT_EQ(sf->error, DnsErrorKind::kServFail) << sf->detail;
  EXPECT_EQ(lookup("drop.test")->error, DnsErrorKind::kTimeout);
}

TEST_F(ResolverTest, NxDomainIsNegativeCachedServfailIsNot) {
  FakeDns dns;
  dns.set("nx.test", FakeDns::only(FakeDns::Mode::kNxDomain));
  dns.set("sf.test", FakeDns::only(FakeDns::Mode::kServFail));
  make({dns.address()});
  lookup("nx.test");
  int nx = dns.queries("nx.test");
  lookup("nx.test");
  EXPECT_EQ(dns.queries("nx.test"), nx);
  lookup("sf.test");
  int sf = dns.queries("sf.test");
  lookup("sf.test");
  EXPECT_GT(dns.queries("sf.test"), sf);
}

TEST_F(ResolverTest, FailsOverFromADeadFirstNameserver) {
  FakeDns dead;  // nothing in its table, drops everything
  dead.setDefault(FakeDns::Mode::kDrop);
  FakeDns live;
  live.set("ha.test", {FakeDns::Mode::kAnswer, {"203.0.113.8"}, {}, 300});
  make({dead.address(), live.address()}, 300, 2);
  auto started = std::chrono::steady_clock::now();
  auto r = lookup("ha.test");
  EXPECT_EQ(r->error, DnsErrorKind::kNone) << r->detail;
  EXPECT_GT(dead.totalQueries(), 0);
  EXPECT_LT(std::chrono::steady_clock::now() - started, std::chrono::seconds(3));
}

TEST_F(ResolverTest, FailsOverFromAServfailingFirstNameserver) {
  FakeDns bad;
  bad.setDefault(FakeDns::Mode::kServFail);
  FakeDns live;
  live.set("ha2.test", {FakeDns::Mode::kAnswer, {"203.0.113.9"}, {}, 300});
  make({bad.address(), live.address()}, 300, 2);
  auto r = lookup("ha2.test");
  EXPECT_EQ(r->error, DnsErrorKind::kNone) << r->detail;
}

TEST_F(ResolverTest, IpLiteralsBypassDns) {
  FakeDns dns;
  make({dns.address()});
  auto r = lookup("198.51.100.1");
  ASSERT_EQ(r->addresses.size(), 1u);
  EXPECT_EQ(dns.totalQueries(), 0);
}

TEST_F(ResolverTest, DestroyingWithLookupsInFlightAnswersEveryone) {
  FakeDns dns;
  dns.setDefault(FakeDns::Mode::kDrop);
  make({dns.address()}, 5000, 1);
  std::promise<ResolveResultPtr> p;
  resolver_->resolve("pending.test", [&p](ResolveResultPtr r) { p.set_value(std::move(r)); });
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  resolver_.reset();
  auto f = p.get_future();
  ASSERT_EQ(f.wait_for(std::chrono::seconds(5)), std::future_status::ready);
  EXPECT_EQ(f.get()->error, DnsErrorKind::kResolverError);
}

// A cold start or a wave of cache expiries puts thousands of lookups in flight, and their
// answers can arrive while the io thread is busy elsewhere. They must wait in the socket, not
// be dropped by the kernel and come back as DNS timeouts for healthy sites.
TEST_F(ResolverTest, ABurstOfAnswersWhileTheIoThreadIsBusyLosesNone) {
  long rmem_max = 0;
  std::ifstream("/proc/sys/net/core/rmem_max") >> rmem_max;
  if (rmem_max < (4 << 20)) GTEST_SKIP() << "net.core.rmem_max " << rmem_max << " < 4 MiB";
  constexpr int kNames = 2500;
  FakeDns dns;
  FakeDns::Rule answer;
  answer.v4 = {"192.0.2.10"};
  dns.setDefaultRule(answer);
  dns.hold();
  make({dns.address()}, 5000, 1);  // one try: a dropped answer would be a failure
  std::atomic<int> ok{0}, failed{0};
  std::promise<void> all_done;
  std::atomic<int> left{kNames};
  for (int i = 0; i < kNames; ++i) {
    resolver_->resolve("n" + std::to_string(i) + ".burst.test", [&](ResolveResultPtr r) {
      (r->error == DnsErrorKind::kNone ? ok : failed).fetch_add(1);
      if (left.fetch_sub(1) == 1) all_done.set_value();
    });
  }
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(4);
  while (dns.held() < 2 * kNames && std::chrono::steady_clock::now() < deadline)  // A + AAAA
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  ASSERT_EQ(dns.held(), 2u * kNames);
  // Busy the io thread, then send every answer at once.
  std::promise<void> busy;
  asio::post(io_, [&busy] {
    busy.set_value();
    std::this_thread::sleep_for(std::chrono::milliseconds(400));
  });
  busy.get_future().wait();
  dns.release();
  ASSERT_EQ(all_done.get_future().wait_for(std::chrono::seconds(20)), std::future_status::ready);
  EXPECT_EQ(ok.load(), kNames);
  EXPECT_EQ(failed.load(), 0);
}

TEST_F(ResolverTest, BadServerListIsAStartupError) {
  ResolverOptions o;
  o.servers = {"not-an-ip"};
  EXPECT_THROW(Resolver(io_, o), std::runtime_error);
}

}  // namespace
}  // namespace tidewatch::io
