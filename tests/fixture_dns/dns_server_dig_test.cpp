// DnsServer on 127.0.0.1:0 in this process, queried by a real resolver client (dig, Debian
// dnsutils) over UDP and TCP: the wire format must satisfy software we did not write.
#include "fixture/dns/dns_server.h"

#include <gtest/gtest.h>

#include <asio/executor_work_guard.hpp>
#include <chrono>
#include <cstdio>
#include <future>
#include <regex>
#include <thread>
#include <unistd.h>

namespace tidewatch::fixture {
namespace {

using Clock = std::chrono::steady_clock;

struct DigResult {
  std::string output;
  double seconds = 0;
  std::vector<std::string> statuses() const {
    std::vector<std::string> out;
    static const std::regex re("status: ([A-Z]+)");
    for (auto it = std::sregex_iterator(output.begin(), output.end(), re); it != std::sregex_iterator(); ++it)
      out.push_back((*it)[1]);
    return out;
  }
  std::string status() const {
    auto s = statuses();
    return s.empty() ? "" : s.front();
  }
};

DigResult dig(std::uint16_t port, const std::string& args) {
  // +norec: we are authoritative; +tries=1 +time=2 keeps a broken test from hanging for 15 s.
  const std::string cmd = "dig @127.0.0.1 -p " + std::to_string(port) + " +norec +tries=1 +time=2 " +
                          args + " 2>&1";
  DigResult r;
  const auto start = Clock::now();
  FILE* p = popen(cmd.c_str(), "r");
  if (!p) return r;
  char buf[4096];
  std::size_t n;
  while ((n = fread(buf, 1, sizeof buf, p)) > 0) r.output.append(buf, n);
  pclose(p);
  r.seconds = std::chrono::duration<double>(Clock::now() - start).count();
  return r;
}

// Collapses runs of whitespace so answer lines compare regardless of dig's tab alignment.
std::string squeeze(const std::string& s) {
  return std::regex_replace(s, std::regex("[ \t]+"), " ");
}

class RunningServer {
 public:
  explicit RunningServer(DnsServerConfig c) : server_(io_, std::move(c)) {
    server_.start();
    thread_ = std::thread([this] { io_.run(); });
  }
  ~RunningServer() {
    server_.stop();
    guard_.reset();
    thread_.join();
  }
  DnsServer& operator*() { return server_; }
  DnsServer* operator->() { return &server_; }

 private:
  asio::io_context io_;
  asio::executor_work_guard<asio::io_context::executor_type> guard_ = asio::make_work_guard(io_);
  DnsServer server_;
  std::thread thread_;
};

DnsServerConfig fleetConfig(const std::string& instance = "ns1") {
  DnsServerConfig c;
  c.fleet.count = 100000;
  c.ttl_seconds = 30;
  c.instance_name = instance;
  return c;
}

class DnsServerDig : public ::testing::Test {
 protected:
  void SetUp() override {
    if (access("/usr/bin/dig", X_OK) != 0) GTEST_SKIP() << "dig (dnsutils) not installed";
    server_ = std::make_unique<RunningServer>(fleetConfig());
    port_ = (*server_)->port();
    ASSERT_NE(port_, 0);
  }
  DnsServer& server() { return **server_; }

  std::unique_ptr<RunningServer> server_;
  std::uint16_t port_ = 0;
};

TEST_F(DnsServerDig, FleetARecordOverUdpAndTcp) {
  const std::string want = "site-0000042.fleet.test. 30 IN A " + fleetAddressString(fleetConfig().fleet, 42);
  auto udp = dig(port_, "site-0000042.fleet.test A +noall +answer");
  EXPECT_EQ(squeeze(udp.output), want + "\n") << udp.output;
  auto tcp = dig(port_, "site-0000042.fleet.test A +tcp +noall +answer");
  EXPECT_EQ(squeeze(tcp.output), want + "\n") << tcp.output;
  auto stats = server().stats();
  EXPECT_EQ(stats["udp_queries"], 1);
  EXPECT_EQ(stats["tcp_queries"], 1);
}

TEST_F(DnsServerDig, TcpConnectionServesSeveralQueries) {
  // dig +keepopen reuses one TCP connection for all the names on its command line.
  auto r = dig(port_, "+tcp +keepopen site-0000001.fleet.test site-0000002.fleet.test site-0000003.fleet.test");
  EXPECT_EQ(r.statuses(), (std::vector<std::string>{"NOERROR", "NOERROR", "NOERROR"})) << r.output;
  EXPECT_EQ(server().stats()["tcp_connections_accepted"], 1);
}

TEST_F(DnsServerDig, UnknownNameIsNxdomainAndOutsideIsRefused) {
  EXPECT_EQ(dig(port_, "nothere.fleet.test A").status(), "NXDOMAIN");
  EXPECT_EQ(dig(port_, "example.com A").status(), "REFUSED");
}

TEST_F(DnsServerDig, ApexAnswersNsAndSoa) {
  auto ns = dig(port_, "fleet.test NS +noall +answer");
  EXPECT_EQ(squeeze(ns.output),
            "fleet.test. 30 IN NS ns1.fleet.test.\nfleet.test. 30 IN NS ns2.fleet.test.\n");
  auto soa = dig(port_, "fleet.test SOA +short");
  EXPECT_EQ(soa.output, "ns1.fleet.test. hostmaster.fleet.test. 1 3600 600 86400 30\n");
}

TEST_F(DnsServerDig, FleetAaaaIsNodata) {
  auto r = dig(port_, "site-0000042.fleet.test AAAA");
  EXPECT_EQ(r.status(), "NOERROR");
  EXPECT_NE(r.output.find("ANSWER: 0, AUTHORITY: 1"), std::string::npos) << r.output;
}

TEST_F(DnsServerDig, NxdomainFailureOnAFleetName) {
  server().activate(DnsFailure::fromJson({{"type", "dns_nxdomain"}, {"host", "site-0000042.fleet.test"}}));
  EXPECT_EQ(dig(port_, "site-0000042.fleet.test A").status(), "NXDOMAIN");
  EXPECT_EQ(dig(port_, "site-0000042.fleet.test A +tcp").status(), "NXDOMAIN");
  EXPECT_EQ(dig(port_, "site-0000043.fleet.test A").status(), "NOERROR");
}

TEST_F(DnsServerDig, ServfailFailure) {
  server().activate(DnsFailure::fromJson({{"type", "dns_servfail"}, {"host", "*.fleet.test"}}));
  EXPECT_EQ(dig(port_, "site-0000042.fleet.test A").status(), "SERVFAIL");
}

TEST_F(DnsServerDig, TimeoutFailureGetsNoAnswer) {
  server().activate(DnsFailure::fromJson({{"type", "dns_timeout"}, {"host", "site-0000042.fleet.test"}}));
  auto r = dig(port_, "site-0000042.fleet.test A +tries=1 +time=1");
  EXPECT_EQ(r.status(), "");
  EXPECT_NE(r.output.find("timed out"), std::string::npos) << r.output;
  EXPECT_GE(r.seconds, 0.9);
  EXPECT_EQ(server().stats()["dropped_by_failure"], 1);
}

TEST_F(DnsServerDig, CnameToDeadInvalid) {
  server().activate(DnsFailure::fromJson({{"type", "dns_cname_nxdomain"}, {"host", "site-0000042.fleet.test"}}));
  auto r = dig(port_, "site-0000042.fleet.test A +noall +answer");
  EXPECT_EQ(squeeze(r.output), "site-0000042.fleet.test. 30 IN CNAME dead.invalid.\n");
}

TEST_F(DnsServerDig, LatencyDelaysOnlyTheMatchingQueries) {
  server().activate(DnsFailure::fromJson(
      {{"type", "dns_latency"}, {"host", "site-0000042.fleet.test"}, {"added_latency_ms", 1200}}));
  auto slow = std::async(std::launch::async, [&] { return dig(port_, "site-0000042.fleet.test A +time=3"); });
  // While the slow answer is pending, other names answer at once.
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  auto fast = dig(port_, "site-0000043.fleet.test A");
  EXPECT_EQ(fast.status(), "NOERROR");
  EXPECT_LT(fast.seconds, 0.8);
  EXPECT_EQ(slow.wait_for(std::chrono::seconds(0)), std::future_status::timeout);
  auto s = slow.get();
  EXPECT_EQ(s.status(), "NOERROR");
  EXPECT_GE(s.seconds, 1.2);
  EXPECT_LT(s.seconds, 2.5);
  EXPECT_NE(s.output.find(fleetAddressString(fleetConfig().fleet, 42)), std::string::npos);
  // Over TCP too.
  auto tcp = dig(port_, "site-0000042.fleet.test A +tcp +time=3");
  EXPECT_EQ(tcp.status(), "NOERROR");
  EXPECT_GE(tcp.seconds, 1.2);
}

TEST_F(DnsServerDig, NsUnavailableOnOneInstanceOnly) {
  RunningServer ns2(fleetConfig("ns2"));
  const auto failure = DnsFailure::fromJson(
      {{"type", "dns_ns_unavailable"}, {"host", "*"}, {"instance", "ns1"}, {"mode", "silent"}});
  // The control layer activates it on every server; only the named instance acts on it.
  server().activate(failure);
  ns2->activate(failure);
  auto down = dig(port_, "site-0000042.fleet.test A +tries=1 +time=1");
  EXPECT_NE(down.output.find("timed out"), std::string::npos) << down.output;
  EXPECT_EQ(dig(ns2->port(), "site-0000042.fleet.test A").status(), "NOERROR");

  server().deactivateAll();
  server().activate(DnsFailure::fromJson(
      {{"type", "dns_ns_unavailable"}, {"host", "*"}, {"instance", "ns1"}, {"mode", "servfail"}}));
  EXPECT_EQ(dig(port_, "site-0000042.fleet.test A").status(), "SERVFAIL");
}

TEST_F(DnsServerDig, HalfRateIsDeterministicForASeed) {
  std::string names;
  for (int i = 1; i <= 40; ++i) names += " " + fleetHostName(fleetConfig().fleet, static_cast<std::uint32_t>(i));
  auto run = [&](std::uint64_t seed) {
    server().deactivateAll();
    server().activate(DnsFailure::fromJson(
        {{"type", "dns_servfail"}, {"host", "*"}, {"rate", 0.5}, {"seed", seed}}));
    auto r = dig(port_, names);
    return r.statuses();
  };
  const auto first = run(42);
  ASSERT_EQ(first.size(), 40u);
  EXPECT_EQ(run(42), first);
  EXPECT_NE(run(43), first);
  const auto failed = std::count(first.begin(), first.end(), "SERVFAIL");
  EXPECT_GT(failed, 8);   // 40 fair coins: 20 ± 3.2, so 8..32 is beyond 3.5 sigma
  EXPECT_LT(failed, 32);
  EXPECT_EQ(std::count(first.begin(), first.end(), "NOERROR"), 40 - failed);
}

TEST_F(DnsServerDig, ListShowsActiveFailuresAndStopReleasesThePort) {
  const auto id = server().activate(DnsFailure::fromJson({{"type", "dns_servfail"}, {"host", "*"}}));
  auto listed = server().list();
  ASSERT_EQ(listed.size(), 1u);
  EXPECT_EQ(listed[0]["id"], id);
  EXPECT_EQ(listed[0]["state"], "active");
  EXPECT_TRUE(server().deactivate(id));
  EXPECT_FALSE(server().deactivate(id));
  server().stop();
  auto r = dig(port_, "site-0000042.fleet.test A +tries=1 +time=1");
  EXPECT_EQ(r.status(), "");
}

}  // namespace
}  // namespace tidewatch::fixture
