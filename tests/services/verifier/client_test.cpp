// The verifier client against 1–3 in-process verifier servers on loopback. The servers run a
// scripted Probe (our own interface) so every vantage's answer is chosen by the test; the
// HTTP between client and servers is real.
#include <gtest/gtest.h>

#include <future>
#include <thread>

#include "services/verifier/client.h"
#include "tests/fakes/scripted_probe.h"
#include "tests/services/verifier/verifier_test_util.h"
#include "tests/support/fake_http.h"
#include "tests/support/fixture_process.h"

namespace tidewatch {
namespace {

using Decision = Verification::Decision;
using Outcome = VerifierVote::Outcome;
using testing::FakeServer;

constexpr const char* kDownUrl = "http://site.test/down";
constexpr const char* kUpUrl = "http://site.test/up";

struct Vantage {
  std::string id;
  std::string region;
  std::string token = "secret-token";
};

class VerifierClientTest : public ::testing::Test {
 protected:
  void SetUp() override {
    loop.start();
    probe.set(kDownUrl, 503);
    probe.set(kUpUrl, 200);
  }
  void TearDown() override {
    for (auto& s : servers) s->stop();
    for (auto& s : servers) s->waitIdle(std::chrono::seconds(5));
    loop.stop();
    client.reset();
    servers.clear();
  }

  std::uint16_t addServer(const Vantage& v) {
    auto o = testing::serverOptions(v.token);
    o.vantage_id = v.id;
    o.region = v.region;
    o.host = "host-" + v.id;
    servers.push_back(testing::makeServer(loop, probe, server_metrics, o));
    return servers.back()->port();
  }

  // A port nobody listens on: bound, then closed.
  static std::uint16_t deadPort() {
    FakeServer s([](int, const std::atomic<bool>&) {});
    return s.port();
  }

  static VerifierEndpoint endpoint(const std::string& name, std::uint16_t port, std::string protocol = "v2") {
    VerifierEndpoint e;
    e.name = name;
    e.host = "127.0.0.1";
    e.port = port;
    e.auth_token = "secret-token";
    e.protocol = std::move(protocol);
    return e;
  }

  void makeClient(std::vector<VerifierEndpoint> eps, int min_healthy = -1, int extra_timeout_s = 2) {
    cfg.verifiers = std::move(eps);
    cfg.verification.min_healthy = min_healthy;
    cfg.verification.extra_timeout_s = extra_timeout_s;
    client = services::makeVerifierClient(services::verifierClientOptions(cfg), loop.context(), metrics);
  }

  Verification verify(const std::string& url, std::uint64_t id = 1, int timeout_s = 1) {
    auto t = std::make_shared<Target>();
    t->id = id;
    t->blog_id = 1000 + id;
    t->url = url;
    SiteConfig sc;
    sc.timeout_seconds = static_cast<std::uint16_t>(timeout_s);
    t->config = std::make_shared<const SiteConfig>(sc);
    std::promise<Verification> p;
    auto calls = std::make_shared<std::atomic<int>>(0);
    client->verify(t, ProbeResult{}, [&p, calls](Verification v) {
      if (calls->fetch_add(1) == 0) p.set_value(std::move(v));
    });
    auto f = p.get_future();
    EXPECT_EQ(f.wait_for(std::chrono::seconds(15)), std::future_status::ready);
    Verification v = f.get();
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
    EXPECT_EQ(calls->load(), 1);  // done exactly once
    return v;
  }

  std::uint64_t counter(const std::string& name) { return metrics.counter(name).load(); }

  io::AsioEventLoop loop{2};
  testing::ScriptedProbe probe{loop};
  Metrics server_metrics;
  Metrics metrics;
  Config cfg;
  std::vector<std::unique_ptr<services::VerifierServer>> servers;
  std::unique_ptr<VerifierClient> client;
};

TEST_F(VerifierClientTest, NoVerifiersConfiguredConfirmsWithoutVerification) {
  makeClient({});
  EXPECT_EQ(client->configured(), 0u);
  Verification v = verify(kDownUrl);
  EXPECT_EQ(v.decision, Decision::kNoVerifiers);
  EXPECT_EQ(counter("verifier.rpc.success.count") + counter("verifier.rpc.error.count"), 0u);
}

TEST_F(VerifierClientTest, ThreeVantagesConfirmDown) {
  makeClient({endpoint("a", addServer({"va", "us-east"})), endpoint("b", addServer({"vb", "eu-west"})),
              endpoint("c", addServer({"vc", "ap-south"}))});
  Verification v = verify(kDownUrl);
  EXPECT_EQ(v.decision, Decision::kConfirmed);
  EXPECT_EQ(v.healthy, 3);
  EXPECT_EQ(v.confirmations, 3);
  EXPECT_EQ(v.quorum, 3);
  ASSERT_EQ(v.votes.size(), 3u);
  EXPECT_EQ(v.votes[0].outcome, Outcome::kDown);
  EXPECT_EQ(v.votes[0].vantage_id, "va");
  EXPECT_EQ(v.votes[0].region, "us-east");
  EXPECT_EQ(v.votes[0].http_code, 503);
  EXPECT_EQ(v.votes[0].host, "host-va");
  EXPECT_EQ(v.regional_outcome, "");  // every region agrees
  EXPECT_EQ(counter("verifier.rpc.success.count"), 3u);
  EXPECT_EQ(counter("verifier.vote.confirm_down.count"), 3u);
  EXPECT_EQ(counter("detection.verifier.quorum_met.count"), 1u);
  EXPECT_EQ(counter("verifier.host.127_0_0_1_" + std::to_string(cfg.verifiers[0].port) + ".vote.confirm_down.count"), 1u);
}

TEST_F(VerifierClientTest, ThreeVantagesDisagreeIsAFalseAlarm) {
  makeClient({endpoint("a", addServer({"va", "r"})), endpoint("b", addServer({"vb", "r"})),
              endpoint("c", addServer({"vc", "r"}))});
  Verification v = verify(kUpUrl);
  EXPECT_EQ(v.decision, Decision::kDisagreed);
  EXPECT_EQ(v.healthy, 3);
  EXPECT_EQ(v.confirmations, 0);
  EXPECT_EQ(counter("verifier.vote.disagree.count"), 3u);
  EXPECT_EQ(counter("detection.verifier.quorum_met.count"), 0u);
}

TEST_F(VerifierClientTest, AllVerifiersDownDefersNeverDisagrees) {
  // Reference bug B3: every RPC failing must not close a real outage as a false alarm.
  FakeServer silent([](int fd, const std::atomic<bool>& stop) {
    testing::readRequestHead(fd);
    testing::sleepUnlessStopped(stop, 10'000);
  });
  makeClient({endpoint("a", deadPort()), endpoint("b", deadPort()), endpoint("c", silent.port())}, -1, 1);
  auto t0 = std::chrono::steady_clock::now();
  Verification v = verify(kDownUrl, 1, 1);
  auto took = std::chrono::steady_clock::now() - t0;
  EXPECT_EQ(v.decision, Decision::kDeferred);
  EXPECT_EQ(v.healthy, 0);
  EXPECT_EQ(v.retry_after_ms, 15'000);
  for (const auto& vote : v.votes) EXPECT_EQ(vote.outcome, Outcome::kRpcError) << vote.detail;
  // The silent verifier is bounded by site timeout (1 s) + extra_timeout_s (1 s).
  EXPECT_GE(took, std::chrono::milliseconds(1900));
  EXPECT_LT(took, std::chrono::milliseconds(4000));
  EXPECT_EQ(counter("verifier.rpc.error.count"), 3u);
  EXPECT_EQ(counter("detection.verifier.insufficient_healthy.count"), 1u);

  // Now every verifier is cooling down: nothing is contacted, the decision is deferred again
  // at once, and the site's back-off doubles.
  int connections_before = silent.connections();
  t0 = std::chrono::steady_clock::now();
  v = verify(kDownUrl, 1, 1);
  EXPECT_LT(std::chrono::steady_clock::now() - t0, std::chrono::milliseconds(500));
  EXPECT_EQ(v.decision, Decision::kDeferred);
  EXPECT_EQ(v.retry_after_ms, 30'000);
  EXPECT_NE(v.votes[0].detail.find("cooling down"), std::string::npos) << v.votes[0].detail;
  EXPECT_EQ(silent.connections(), connections_before);
  EXPECT_EQ(counter("detection.verifier.cooldown_skipped.count"), 1u);
  // Another site starts its own back-off at 15 s.
  EXPECT_EQ(verify(kDownUrl, 2, 1).retry_after_ms, 15'000);
}

TEST_F(VerifierClientTest, OneOfThreeDownStillDecidesWithTwo) {
  makeClient({endpoint("a", addServer({"va", "r"})), endpoint("b", deadPort()), endpoint("c", addServer({"vc", "r"}))});
  Verification v = verify(kDownUrl);
  EXPECT_EQ(v.decision, Decision::kConfirmed);
  EXPECT_EQ(v.healthy, 2);
  EXPECT_EQ(v.confirmations, 2);
  EXPECT_EQ(v.quorum, 2);
  EXPECT_EQ(v.votes[1].outcome, Outcome::kRpcError);
  v = verify(kUpUrl, 2);
  EXPECT_EQ(v.decision, Decision::kDisagreed);
  EXPECT_EQ(v.healthy, 2);
}

TEST_F(VerifierClientTest, TwoOfThreeDownDefersBelowTheFloor) {
  makeClient({endpoint("a", addServer({"va", "r"})), endpoint("b", deadPort()), endpoint("c", deadPort())});
  Verification v = verify(kDownUrl);
  EXPECT_EQ(v.decision, Decision::kDeferred);  // healthy 1 < floor 2
  EXPECT_EQ(v.healthy, 1);
  EXPECT_EQ(v.confirmations, 1);
}

TEST_F(VerifierClientTest, ExplicitMinHealthyOneDecidesWithOneVote) {
  makeClient({endpoint("a", addServer({"va", "r"})), endpoint("b", deadPort())}, 1);
  Verification v = verify(kDownUrl);
  EXPECT_EQ(v.decision, Decision::kConfirmed);
  EXPECT_EQ(v.quorum, 1);
}

TEST_F(VerifierClientTest, SingleVerifierFloorIsOne) {
  makeClient({endpoint("only", addServer({"va", "r"}))});
  EXPECT_EQ(verify(kDownUrl).decision, Decision::kConfirmed);
  EXPECT_EQ(verify(kUpUrl, 2).decision, Decision::kDisagreed);
}

TEST_F(VerifierClientTest, DuplicateVantageIsCountedOnce) {
  // Two agents of the same vantage (same reported vantage id) and one other vantage.
  std::uint16_t a1 = addServer({"same", "us-east"});
  std::uint16_t a2 = addServer({"same", "us-east"});
  std::uint16_t b = addServer({"other", "eu-west"});
  makeClient({endpoint("a1", a1), endpoint("a2", a2), endpoint("b", b)});
  Verification v = verify(kDownUrl);
  EXPECT_EQ(v.healthy, 2);
  EXPECT_EQ(v.confirmations, 2);
  EXPECT_EQ(v.quorum, 2);
  EXPECT_EQ(v.decision, Decision::kConfirmed);
  EXPECT_EQ(v.votes.size(), 3u);
  EXPECT_EQ(counter("verifier.vote.duplicate_identity.count"), 1u);
}

TEST_F(VerifierClientTest, ConfiguredVantageIdOverridesTheReply) {
  std::uint16_t a = addServer({"x", "r"});
  std::uint16_t b = addServer({"y", "r"});
  auto ea = endpoint("a", a), eb = endpoint("b", b);
  ea.vantage_id = eb.vantage_id = "dc1";  // the operator says both are the same vantage
  makeClient({ea, eb});
  Verification v = verify(kDownUrl);
  EXPECT_EQ(v.healthy, 1);
  EXPECT_EQ(v.decision, Decision::kDeferred);  // one vantage < floor 2
}

TEST_F(VerifierClientTest, CooldownAfterErrorsSkipsThatVerifierUntilItExpires) {
  // Verifier "bad" rejects our token (401): an RPC error, so it cools down and is not asked
  // again on the next escalation; the healthy two still decide.
  std::uint16_t a = addServer({"va", "r"});
  std::uint16_t bad = addServer({"vb", "r", "another-token"});
  std::uint16_t c = addServer({"vc", "r"});
  makeClient({endpoint("a", a), endpoint("bad", bad), endpoint("c", c)});
  Verification v = verify(kDownUrl);
  EXPECT_EQ(v.decision, Decision::kConfirmed);
  EXPECT_EQ(v.votes[1].outcome, Outcome::kRpcError);
  EXPECT_NE(v.votes[1].detail.find("401"), std::string::npos) << v.votes[1].detail;
  EXPECT_EQ(servers[1]->stats().auth_rejected, 1u);
  v = verify(kDownUrl, 2);
  EXPECT_EQ(v.decision, Decision::kConfirmed);
  EXPECT_NE(v.votes[1].detail.find("cooling down"), std::string::npos) << v.votes[1].detail;
  EXPECT_EQ(servers[1]->stats().auth_rejected, 1u);  // not contacted
  std::string cool = "verifier.host.127_0_0_1_" + std::to_string(bad) + ".cooldown.count";
  EXPECT_EQ(counter(cool), 1u);
}

TEST_F(VerifierClientTest, OverloadedVerifierIsANonVote) {
  auto o = testing::serverOptions();
  o.max_concurrency = 1;
  o.queue_capacity = 0;
  o.vantage_id = "busy";
  servers.push_back(testing::makeServer(loop, probe, server_metrics, o));
  std::uint16_t busy = servers.back()->port();
  probe.setDelay(std::chrono::milliseconds(400));
  // Occupy the only slot with a direct request, then escalate.
  std::thread hog([busy] {
    testing::httpRequest("127.0.0.1", busy, "POST", "/v2/check",
                         R"({"requests":[{"url":"http://site.test/up","timeout_ms":1000}]})",
                         {"Authorization: Bearer secret-token"}, 5);
  });
  for (int i = 0; i < 200 && servers[0]->stats().active == 0; ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  ASSERT_EQ(servers[0]->stats().active, 1);
  makeClient({endpoint("busy", busy), endpoint("a", addServer({"va", "r"})), endpoint("c", addServer({"vc", "r"}))});
  Verification v = verify(kDownUrl);
  hog.join();
  EXPECT_EQ(v.votes[0].outcome, Outcome::kOverloaded);
  EXPECT_EQ(v.healthy, 2);
  EXPECT_EQ(v.decision, Decision::kConfirmed);
  EXPECT_EQ(counter("verifier.vote.non_vote.count"), 1u);
}

TEST_F(VerifierClientTest, RegionalOutcomeWhenRegionsDisagree) {
  // Two scripted probes: the us-east vantages see the site down, eu-west sees it up.
  testing::ScriptedProbe eu(loop);
  eu.set(kDownUrl, 200);
  std::uint16_t e1 = addServer({"use-1", "us-east"});
  std::uint16_t e2 = addServer({"use-2", "us-east"});
  auto o = testing::serverOptions();
  o.vantage_id = "euw-1";
  o.region = "eu-west";
  servers.push_back(testing::makeServer(loop, eu, server_metrics, o));
  makeClient({endpoint("e1", e1), endpoint("e2", e2), endpoint("w", servers.back()->port())});
  Verification v = verify(kDownUrl);
  EXPECT_EQ(v.healthy, 3);
  EXPECT_EQ(v.confirmations, 2);
  EXPECT_EQ(v.quorum, 3);
  EXPECT_EQ(v.decision, Decision::kDisagreed);
  EXPECT_EQ(v.regional_outcome, "up in eu-west; confirmed in us-east");
}

TEST_F(VerifierClientTest, LegacyProtocolEndpoint) {
  makeClient({endpoint("a", addServer({"va", "r"}), "legacy"), endpoint("b", addServer({"vb", "r"}), "legacy")});
  Verification v = verify(kDownUrl);
  EXPECT_EQ(v.decision, Decision::kConfirmed);
  EXPECT_EQ(v.healthy, 2);
  EXPECT_EQ(v.votes[0].http_code, 503);
  EXPECT_EQ(v.votes[0].vantage_id, "host-va");  // legacy replies carry only Host
  EXPECT_EQ(verify(kUpUrl, 2).decision, Decision::kDisagreed);
}

TEST_F(VerifierClientTest, ProbeSafetyBlockIsNotAVote) {
  probe.set("http://site.test/private", 0, ErrorCode::kProbeSafety);
  makeClient({endpoint("a", addServer({"va", "r"})), endpoint("b", addServer({"vb", "r"}))});
  Verification v = verify("http://site.test/private");
  EXPECT_EQ(v.votes[0].outcome, Outcome::kProbeError);
  EXPECT_EQ(v.decision, Decision::kDeferred);
}

TEST_F(VerifierClientTest, UrlThatIsNotUtf8StillGetsADecision) {
  // URLs come from the database; a stray Latin-1 byte must not throw out of verify().
  makeClient({endpoint("a", addServer({"va", "r"})), endpoint("b", addServer({"vb", "r"}))});
  Verification v = verify("http://site.test/caf\xe9");
  EXPECT_EQ(v.decision, Decision::kDisagreed);  // the scripted probe answers 200 by default
  EXPECT_EQ(v.healthy, 2);
}

}  // namespace
}  // namespace tidewatch
