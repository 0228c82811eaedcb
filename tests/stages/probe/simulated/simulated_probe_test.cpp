#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <thread>

#include "io/event_loop.h"
#include "core/metrics.h"
#include "pipeline/registry.h"
#include "stages/register_all.h"
#include "tests/fakes/probe_callbacks.h"

namespace tidewatch {
namespace {

std::vector<CheckPtr> runChecks(const std::string& probe_yaml, int n) {
  io::AsioEventLoop loop(1);
  loop.start();
  Metrics metrics;
  ConfigDiagnostics diag;
  Config cfg = parseConfigString("pipeline:\n  source: {type: source.generated}\n  probe: " + probe_yaml + "\n",
                                 builtinStages(), diag);
  EXPECT_TRUE(diag.ok()) << diag.firstError();
  StageContext ctx{cfg, loop, metrics};
  auto probe = builtinStages().create<Probe>(cfg.pipeline.probe, ctx);
  testing::CollectedChecks collect;
  for (int i = 0; i < n; ++i) {
    auto c = std::make_shared<Check>();
    auto t = std::make_shared<Target>();
    t->id = static_cast<std::uint64_t>(i + 1);
    t->config = defaultSiteConfig();
    c->request.target = t;
    c->request.due_s = 1000;
    probe->start(c, collect);
  }
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (std::chrono::steady_clock::now() < deadline) {
    if (static_cast<int>(collect.size()) == n) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  loop.stop();
  return collect.done;
}

TEST(SimulatedProbe, OutcomeMixFollowsTheRatesAndIsRepeatable) {
  auto a = runChecks("{type: probe.simulated, seed: 3, failure_rate: 0.2, timeout_rate: 0.1, timeout_ms: 1}", 5000);
  auto b = runChecks("{type: probe.simulated, seed: 3, failure_rate: 0.2, timeout_rate: 0.1, timeout_ms: 1}", 5000);
  ASSERT_EQ(a.size(), 5000u);
  ASSERT_EQ(b.size(), 5000u);
  auto tally = [](const std::vector<CheckPtr>& v, std::map<std::uint64_t, int>& by_id) {
    int fail = 0, timeout = 0;
    for (const auto& c : v) {
      by_id[c->request.target->id] = c->result.error == ErrorCode::kTimeout ? -1 : c->result.http_code;
      fail += c->result.http_code == 503;
      timeout += c->result.error == ErrorCode::kTimeout;
    }
    return std::make_pair(fail, timeout);
  };
  std::map<std::uint64_t, int> ia, ib;
  auto [fa, ta] = tally(a, ia);
  tally(b, ib);
  EXPECT_NEAR(fa / 5000.0, 0.2, 0.03);
  EXPECT_NEAR(ta / 5000.0, 0.1, 0.02);
  EXPECT_EQ(ia, ib) << "same seed, same outcome per target";
}

TEST(SimulatedProbe, LognormalLatencyHasTheConfiguredMedian) {
  auto v = runChecks("{type: probe.simulated, latency: {distribution: lognormal, ms: 20, sigma: 0.5}}", 2000);
  ASSERT_EQ(v.size(), 2000u);
  std::vector<std::uint32_t> rtt;
  for (const auto& c : v) rtt.push_back(c->result.timings.rtt_ms);
  std::sort(rtt.begin(), rtt.end());
  EXPECT_NEAR(rtt[rtt.size() / 2], 20, 3);
  EXPECT_GT(rtt.back(), 40u);  // a real tail
}

}  // namespace
}  // namespace tidewatch
