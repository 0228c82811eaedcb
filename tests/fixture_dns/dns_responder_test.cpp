// The answering rules and failure semantics, driven through Responder::respond with an injected
// clock (no sockets, no sleeping).
#include "fixture/dns/dns_responder.h"

#include <gtest/gtest.h>

#include <map>

#include "tests/fixture_dns/dns_test_util.h"

namespace tidewatch::fixture::dns {
namespace {

using testing::decode;
using testing::makeQuery;
using testing::QueryOptions;
using testing::Response;
using namespace std::chrono_literals;

constexpr std::uint16_t kA = 1, kNs = 2, kCname = 5, kSoa = 6, kTxt = 16, kAaaa = 28;

class DnsResponder : public ::testing::Test {
 protected:
  static DnsServerConfig config() {
    DnsServerConfig c;
    c.fleet.count = 1000;
    c.ttl_seconds = 42;
    c.extra_hosts = {{"dual.fleet.test", "127.0.0.7,2001:db8::7"},
                     {"site-0000005.fleet.test", "::5"},
                     {"Outside.Example.", "192.0.2.1"},
                     {"ns2.fleet.test", "127.0.0.54"}};
    return c;
  }
  DnsResponder() : r_(config()) {}

  struct Outcome {
    Decision decision;
    std::optional<Response> response;
  };
  Outcome ask(const std::string& name, QueryOptions o = {}, Clock::time_point now = {},
              Transport t = Transport::Udp) {
    if (now == Clock::time_point{}) now = now_;
    std::vector<std::uint8_t> out(65535);
    Outcome res;
    res.decision = r_.respond(makeQuery(name, o), out, t, now);
    if (res.decision.kind != Decision::Kind::Drop) {
      out.resize(res.decision.length);
      res.response = decode(out);
    }
    return res;
  }
  Response answer(const std::string& name, std::uint16_t qtype = kA) {
    auto o = ask(name, {.qtype = qtype});
    EXPECT_EQ(o.decision.kind, Decision::Kind::Reply);
    EXPECT_TRUE(o.response);
    return o.response.value_or(Response{});
  }
  std::string activate(nlohmann::json j) {
    return r_.failures().activate(DnsFailure::fromJson(j), now_);
  }

  Responder r_;
  Clock::time_point now_ = Clock::now();
};

TEST_F(DnsResponder, FleetHostGetsItsAddressWithTheConfiguredTtl) {
  auto r = answer("site-0000042.fleet.test");
  EXPECT_EQ(r.rcode(), 0);
  EXPECT_TRUE(r.aa());
  ASSERT_EQ(r.answer.size(), 1u);
  EXPECT_EQ(r.answer[0].type, kA);
  EXPECT_EQ(r.answer[0].ttl, 42u);
  EXPECT_EQ(r.answer[0].data, fleetAddressString(config().fleet, 42));
  EXPECT_TRUE(r.authority.empty());
}

TEST_F(DnsResponder, FleetHostIsCaseInsensitive) {
  auto r = answer("SITE-0000042.FLEET.TEST");
  ASSERT_EQ(r.answer.size(), 1u);
  EXPECT_EQ(r.answer[0].data, fleetAddressString(config().fleet, 42));
}

TEST_F(DnsResponder, FleetAaaaIsNodataWithSoa) {
  auto r = answer("site-0000042.fleet.test", kAaaa);
  EXPECT_EQ(r.rcode(), 0);
  EXPECT_TRUE(r.answer.empty());
  ASSERT_EQ(r.authority.size(), 1u);
  EXPECT_EQ(r.authority[0].type, kSoa);
  EXPECT_EQ(r.authority[0].ttl, 42u);
}

TEST_F(DnsResponder, TxtForAFleetHostIsNodata) {
  auto r = answer("site-0000042.fleet.test", kTxt);
  EXPECT_EQ(r.rcode(), 0);
  EXPECT_TRUE(r.answer.empty());
  ASSERT_EQ(r.authority.size(), 1u);
  EXPECT_EQ(r.authority[0].type, kSoa);
}

TEST_F(DnsResponder, ExtraHostIpv6LiteralAddsAaaaToAFleetName) {
  auto v6 = answer("site-0000005.fleet.test", kAaaa);
  ASSERT_EQ(v6.answer.size(), 1u);
  EXPECT_EQ(v6.answer[0].data, "0:0:0:0:0:0:0:5");
  auto v4 = answer("site-0000005.fleet.test", kA);
  ASSERT_EQ(v4.answer.size(), 1u);
  EXPECT_EQ(v4.answer[0].data, fleetAddressString(config().fleet, 5));
}

TEST_F(DnsResponder, ExtraHostsAnswerBothFamiliesEvenOutsideTheZone) {
  auto a = answer("dual.fleet.test", kA);
  ASSERT_EQ(a.answer.size(), 1u);
  EXPECT_EQ(a.answer[0].data, "127.0.0.7");
  auto aaaa = answer("dual.fleet.test", kAaaa);
  ASSERT_EQ(aaaa.answer.size(), 1u);
  EXPECT_EQ(aaaa.answer[0].data, "2001:db8:0:0:0:0:0:7");
  auto outside = answer("outside.example", kA);
  ASSERT_EQ(outside.answer.size(), 1u);
  EXPECT_EQ(outside.answer[0].data, "192.0.2.1");
  auto outsideAaaa = answer("outside.example", kAaaa);
  EXPECT_EQ(outsideAaaa.rcode(), 0);
  EXPECT_TRUE(outsideAaaa.answer.empty());
  EXPECT_TRUE(outsideAaaa.authority.empty());   // not our zone: no SOA to offer
}

TEST_F(DnsResponder, ApexAnswersNsWithGlueAndSoa) {
  auto ns = answer("fleet.test", kNs);
  // Header+question 28, two NS with pointer owner and "nsN"+pointer rdata 18 each, glue A whose
  // owners point into the NS rdata 16 each, OPT 11: every repeated name is compressed.
  EXPECT_EQ(ask("fleet.test", {.qtype = kNs}).decision.length, 28u + 18 + 18 + 16 + 16 + 11);
  ASSERT_EQ(ns.answer.size(), 2u);
  EXPECT_EQ(ns.answer[0].data, "ns1.fleet.test.");
  EXPECT_EQ(ns.answer[1].data, "ns2.fleet.test.");
  ASSERT_EQ(ns.additional.size(), 3u);   // ns1 (listen address), ns2 (extra host), OPT
  EXPECT_EQ(ns.additional[0].data, "127.0.0.1");
  EXPECT_EQ(ns.additional[1].data, "127.0.0.54");
  auto soa = answer("fleet.test", kSoa);
  ASSERT_EQ(soa.answer.size(), 1u);
  EXPECT_EQ(soa.answer[0].data, "ns1.fleet.test. hostmaster.fleet.test. 1 3600 600 86400 42");
  auto apexA = answer("fleet.test", kA);
  EXPECT_EQ(apexA.rcode(), 0);
  EXPECT_TRUE(apexA.answer.empty());
}

TEST_F(DnsResponder, UnknownNameUnderTheZoneIsNxdomainWithSoa) {
  for (const char* name : {"nothere.fleet.test", "site-0001001.fleet.test", "site-0000000.fleet.test",
                           "www.site-0000001.fleet.test", "site-42.fleet.test"}) {
    auto r = answer(name);
    EXPECT_EQ(r.rcode(), 3) << name;
    EXPECT_TRUE(r.aa());
    ASSERT_EQ(r.authority.size(), 1u) << name;
    EXPECT_EQ(r.authority[0].type, kSoa);
  }
}

TEST_F(DnsResponder, NamesOutsideTheZoneAreRefused) {
  for (const char* name : {"example.com", "test", "", "notfleet.test"}) {
    auto r = answer(name);
    EXPECT_EQ(r.rcode(), 5) << name;
    EXPECT_FALSE(r.aa());
  }
}

TEST_F(DnsResponder, ChaosClassIsRefusedAndTransfersToo) {
  EXPECT_EQ(ask("version.bind", {.qtype = kTxt, .qclass = 3}).response->rcode(), 5);
  EXPECT_EQ(ask("fleet.test", {.qtype = 252}).response->rcode(), 5);
}

TEST_F(DnsResponder, NxdomainFailureHitsFleetNames) {
  activate({{"type", "dns_nxdomain"}, {"host", "site-0000042.fleet.test"}});
  EXPECT_EQ(answer("site-0000042.fleet.test").rcode(), 3);
  EXPECT_EQ(answer("site-0000043.fleet.test").rcode(), 0);
}

TEST_F(DnsResponder, ServfailTimeoutAndCname) {
  activate({{"type", "dns_servfail"}, {"host", "site-0000001.fleet.test"}});
  activate({{"type", "dns_timeout"}, {"host", "site-0000002.fleet.test"}});
  activate({{"type", "dns_cname_nxdomain"}, {"host", "site-0000003.fleet.test"}});
  auto sf = answer("site-0000001.fleet.test");
  EXPECT_EQ(sf.rcode(), 2);
  EXPECT_TRUE(sf.answer.empty());
  EXPECT_EQ(ask("site-0000002.fleet.test").decision.kind, Decision::Kind::Drop);
  auto cn = answer("site-0000003.fleet.test");
  EXPECT_EQ(cn.rcode(), 0);
  ASSERT_EQ(cn.answer.size(), 1u);
  EXPECT_EQ(cn.answer[0].type, kCname);
  EXPECT_EQ(cn.answer[0].data, "dead.invalid.");
}

TEST_F(DnsResponder, LatencyAnswersCorrectlyWithADelay) {
  activate({{"type", "dns_latency"}, {"host", "*"}, {"added_latency_ms", 250}});
  auto o = ask("site-0000042.fleet.test");
  EXPECT_EQ(o.decision.kind, Decision::Kind::Delay);
  EXPECT_EQ(o.decision.delay_ms, 250u);
  ASSERT_TRUE(o.response);
  ASSERT_EQ(o.response->answer.size(), 1u);
  EXPECT_EQ(o.response->answer[0].data, fleetAddressString(config().fleet, 42));
}

TEST_F(DnsResponder, LookupOrderIsExactThenGlobThenStar) {
  activate({{"type", "dns_servfail"}, {"host", "*"}});
  activate({{"type", "dns_nxdomain"}, {"host", "site-00000*.fleet.test"}});
  activate({{"type", "dns_cname_nxdomain"}, {"host", "SITE-0000042.fleet.test."}});
  EXPECT_EQ(answer("site-0000042.fleet.test").answer.at(0).type, kCname);   // exact
  EXPECT_EQ(answer("site-0000043.fleet.test").rcode(), 3);                  // glob
  EXPECT_EQ(answer("site-0000999.fleet.test").rcode(), 2);                  // star
}

TEST_F(DnsResponder, MostRecentFailureWinsWithinALevel) {
  activate({{"type", "dns_servfail"}, {"host", "*"}});
  auto id = activate({{"type", "dns_nxdomain"}, {"host", "*"}});
  EXPECT_EQ(answer("site-0000001.fleet.test").rcode(), 3);
  EXPECT_TRUE(r_.failures().deactivate(id));
  EXPECT_EQ(answer("site-0000001.fleet.test").rcode(), 2);
  r_.failures().clear();
  EXPECT_EQ(answer("site-0000001.fleet.test").rcode(), 0);
}

TEST_F(DnsResponder, StartOffsetAndDurationAreRelativeToActivation) {
  activate({{"type", "dns_servfail"}, {"host", "*"}, {"start_offset_s", 10}, {"duration_s", 5}});
  auto at = [&](auto offset) { return ask("site-0000001.fleet.test", {}, now_ + offset).response->rcode(); };
  EXPECT_EQ(at(9s), 0);
  EXPECT_EQ(at(10s), 2);
  EXPECT_EQ(at(14900ms), 2);
  EXPECT_EQ(at(15s), 0);
  auto listed = r_.failures().list(now_ + 20s);
  ASSERT_EQ(listed.size(), 1u);
  EXPECT_EQ(listed[0]["state"], "expired");
}

TEST_F(DnsResponder, RateIsDeterministicForASeed) {
  auto pattern = [&](std::uint64_t seed) {
    r_.failures().clear();
    activate({{"type", "dns_servfail"}, {"host", "*"}, {"rate", 0.5}, {"seed", seed}});
    std::string bits;
    for (int i = 0; i < 400; ++i) bits += answer("site-0000001.fleet.test").rcode() == 2 ? '1' : '0';
    return bits;
  };
  const std::string first = pattern(7);
  EXPECT_EQ(pattern(7), first);
  EXPECT_NE(pattern(8), first);
  const auto fired = std::count(first.begin(), first.end(), '1');
  EXPECT_GT(fired, 150);   // 400 fair coin flips: 200 ± 10 sigma
  EXPECT_LT(fired, 250);
}

TEST_F(DnsResponder, NsUnavailableAppliesOnlyToTheNamedInstance) {
  DnsServerConfig c1 = config(), c2 = config();
  c2.instance_name = "ns2";
  Responder ns1(c1), ns2(c2);
  const auto f = DnsFailure::fromJson(
      {{"type", "dns_ns_unavailable"}, {"host", "*"}, {"instance", "ns1"}, {"mode", "servfail"}});
  ns1.failures().activate(f, now_);
  ns2.failures().activate(f, now_);
  std::vector<std::uint8_t> out(512);
  auto q = makeQuery("site-0000001.fleet.test");
  ASSERT_EQ(ns1.respond(q, out, Transport::Udp, now_).kind, Decision::Kind::Reply);
  EXPECT_EQ(out[3] & 0xF, 2);
  ASSERT_EQ(ns2.respond(q, out, Transport::Udp, now_).kind, Decision::Kind::Reply);
  EXPECT_EQ(out[3] & 0xF, 0);
  EXPECT_EQ(ns2.failures().list(now_)[0]["applies_here"], false);

  auto silent = DnsFailure::fromJson({{"type", "dns_ns_unavailable"}, {"host", "*"}});
  ns2.failures().activate(silent, now_);   // empty instance = whichever server it is given to
  EXPECT_EQ(ns2.respond(q, out, Transport::Udp, now_).kind, Decision::Kind::Drop);
}

TEST_F(DnsResponder, FormErrAndNotImpAreAnswered) {
  auto q = makeQuery("a.fleet.test");
  q[5] = 2;   // two questions
  std::vector<std::uint8_t> out(512);
  auto d = r_.respond(q, out, Transport::Udp, now_);
  ASSERT_EQ(d.kind, Decision::Kind::Reply);
  EXPECT_EQ(out[3] & 0xF, 1);
  q = makeQuery("a.fleet.test");
  q[2] = 0x10;   // opcode 2 = STATUS
  d = r_.respond(q, out, Transport::Udp, now_);
  ASSERT_EQ(d.kind, Decision::Kind::Reply);
  EXPECT_EQ(out[3] & 0xF, 4);
  auto stats = r_.stats();
  EXPECT_EQ(stats["rcode"]["FORMERR"], 1);
  EXPECT_EQ(stats["rcode"]["NOTIMP"], 1);
}

TEST(DnsTtlMix, EachFleetHostGetsAStableTtlFromTheMixInProportion) {
  DnsServerConfig c;
  c.fleet.count = 20000;
  c.ttl_seconds = 42;
  c.ttl_mix = parseTtlMix("60:1,300:8,3600:1");
  c.extra_hosts = {{"www.fleet.test", "127.0.0.9"}};
  Responder r(c);
  auto ttlOf = [&r](const std::string& name, std::uint16_t qtype = kA) {
    std::vector<std::uint8_t> out(4096);
    Decision d = r.respond(makeQuery(name, {.qtype = qtype}), out, Transport::Udp, Clock::now());
    out.resize(d.length);
    Response resp = decode(out).value();
    const auto& rrs = resp.answer.empty() ? resp.authority : resp.answer;
    return rrs.empty() ? 0u : rrs[0].ttl;
  };
  std::map<std::uint32_t, int> seen;
  for (std::uint32_t id = 1; id <= 20000; ++id) ++seen[ttlOf(fleetHostName(c.fleet, id))];
  ASSERT_EQ(seen.size(), 3u);  // only the TTLs of the mix
  EXPECT_NEAR(seen[300] / 20000.0, 0.8, 0.02);
  EXPECT_NEAR(seen[60] / 20000.0, 0.1, 0.02);
  EXPECT_NEAR(seen[3600] / 20000.0, 0.1, 0.02);
  // A host keeps its TTL from query to query, and a second responder (ns2) agrees.
  Responder ns2(c);
  for (std::uint32_t id : {1u, 2u, 777u, 19999u}) {
    const std::string name = fleetHostName(c.fleet, id);
    EXPECT_EQ(ttlOf(name), ttlOf(name));
    std::vector<std::uint8_t> out(4096);
    Decision d = ns2.respond(makeQuery(name, {}), out, Transport::Udp, Clock::now());
    out.resize(d.length);
    EXPECT_EQ(decode(out).value().answer.at(0).ttl, ttlOf(name)) << name;
  }
  // Everything that is not a fleet host's address keeps the plain TTL.
  EXPECT_EQ(ttlOf("www.fleet.test"), 42u);
  EXPECT_EQ(ttlOf("site-0000042.fleet.test", kAaaa), 42u);  // NODATA: the SOA's TTL
}

TEST(DnsTtlMix, ParsesSharesAndRejectsBadSpecs) {
  const auto shares = parseTtlMix("60:5,300:60,3600:10");
  ASSERT_EQ(shares.size(), 3u);
  EXPECT_EQ(shares[0].ttl_seconds, 60u);
  EXPECT_EQ(shares[1].weight, 60u);
  EXPECT_EQ(shares[2].ttl_seconds, 3600u);
  for (const char* bad : {"", "300", "300:", ":5", "0:5", "300:0", "60:5,", "x:1", "700000:1", "60:-1"}) {
    try {
      parseTtlMix(bad);
      ADD_FAILURE() << "accepted '" << bad << "'";
    } catch (const std::invalid_argument& e) {
      EXPECT_NE(std::string(e.what()).find("dns ttl mix"), std::string::npos) << e.what();
    }
  }
}

TEST(DnsFailureJson, RoundTripsAndRejectsBadInput) {
  const auto f = DnsFailure::fromJson({{"type", "dns_latency"}, {"host", "Site-*.Fleet.Test"},
                                       {"rate", 0.25}, {"seed", 99}, {"start_offset_s", 1.5},
                                       {"duration_s", 30}, {"added_latency_ms", 2000}});
  EXPECT_EQ(f.host, "site-*.fleet.test");
  const auto back = DnsFailure::fromJson(f.toJson());
  EXPECT_EQ(back.toJson(), f.toJson());
  EXPECT_EQ(back.added_latency_ms, 2000u);

  auto rejects = [](nlohmann::json j, const std::string& needle) {
    try {
      DnsFailure::fromJson(j);
      ADD_FAILURE() << "accepted " << j.dump();
    } catch (const std::invalid_argument& e) {
      EXPECT_NE(std::string(e.what()).find(needle), std::string::npos) << e.what();
    }
  };
  rejects({{"type", "dns_bogus"}, {"host", "*"}}, "unknown type");
  rejects({{"host", "*"}}, "type is required");
  rejects({{"type", "dns_nxdomain"}}, "host is required");
  rejects({{"type", "dns_nxdomain"}, {"host", "*"}, {"rate", 0}}, "rate");
  rejects({{"type", "dns_nxdomain"}, {"host", "*"}, {"rate", 1.5}}, "rate");
  rejects({{"type", "dns_nxdomain"}, {"host", "*"}, {"hots", "x"}}, "unknown key 'hots'");
  rejects({{"type", "dns_latency"}, {"host", "*"}}, "added_latency_ms");
  rejects({{"type", "dns_nxdomain"}, {"host", "*"}, {"added_latency_ms", 5}}, "only to dns_latency");
  rejects({{"type", "dns_ns_unavailable"}, {"host", "*"}, {"mode", "loud"}}, "mode");
  rejects({{"type", "dns_nxdomain"}, {"host", "*"}, {"seed", -1}}, "seed");
  rejects({{"type", "dns_nxdomain"}, {"host", 7}}, "host must be a string");
  rejects(nlohmann::json::array(), "object");

  const auto ns = DnsFailure::fromJson({{"type", "dns_ns_unavailable"}, {"host", "*"}});
  EXPECT_EQ(ns.mode, "silent");
}

TEST(DnsGlob, MatchesAcrossDotsAndAnchorsBothEnds) {
  EXPECT_TRUE(globMatch("*.fleet.test", "site-0000001.fleet.test"));
  EXPECT_TRUE(globMatch("site-*1.fleet.test", "site-0000001.fleet.test"));
  EXPECT_FALSE(globMatch("site-*2.fleet.test", "site-0000001.fleet.test"));
  EXPECT_TRUE(globMatch("*", ""));
  EXPECT_TRUE(globMatch("a*b*c", "aXbYbZc"));
  EXPECT_FALSE(globMatch("a*b*c", "aXbYbZ"));
  EXPECT_FALSE(globMatch("fleet.test", "xfleet.test"));
}

}  // namespace
}  // namespace tidewatch::fixture::dns
