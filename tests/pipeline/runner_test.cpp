#include "pipeline/runner.h"

#include <gtest/gtest.h>

#include <chrono>
#include <thread>

#include "io/event_loop.h"
#include "tests/pipeline/test_stages.h"

namespace tidewatch {
namespace {

using namespace std::chrono_literals;

Config load(const std::string& yaml) {
  ConfigDiagnostics diag;
  Config cfg = parseConfigString(yaml, testing::pipelineTestStages(), diag);
  EXPECT_TRUE(diag.ok()) << diag.firstError();
  return cfg;
}

// Checks are dispatched on time, then a stop drains everything in flight: every dispatched
// check completes and is routed, and nothing new starts after the stop.
TEST(Runner, DrainOnStopLosesNothing) {
  io::AsioEventLoop loop(2);
  loop.start();
  Metrics metrics;
  Config cfg = load(R"(
pipeline:
  source: {type: source.generated, count: 3000, interval_s: 1}
  probe: {type: probe.simulated, latency: {ms: 150}, timeout_rate: 0.05, timeout_ms: 900}
  sink: {type: sink.null}
scheduler: {summary_interval_s: 1}
admin: {listen: ""}
)");
  Runner runner(cfg, testing::pipelineTestStages(), loop, metrics);
  runner.start();
  std::this_thread::sleep_for(2500ms);
  RunnerStats mid = runner.stats();
  EXPECT_GT(mid.dispatched, 3000);  // 3 000 sites every second
  EXPECT_GT(mid.in_flight, 0);
  EXPECT_EQ(mid.dispatched, mid.completed + mid.in_flight);
  ASSERT_TRUE(runner.drain(5s));
  RunnerStats end = runner.stats();
  std::int64_t dispatched_at_drain = end.dispatched;
  std::this_thread::sleep_for(300ms);
  end = runner.stats();
  EXPECT_EQ(end.dispatched, dispatched_at_drain) << "nothing dispatched after the stop";
  EXPECT_EQ(end.in_flight, 0);
  EXPECT_EQ(end.dispatched, end.completed);
  EXPECT_EQ(end.completed, end.routed);
  EXPECT_EQ(static_cast<std::int64_t>(metrics.counter("sink.null.consumed").load()), end.routed);
  loop.stop();
}

// The retry cadence: a failing site is re-checked after retry_interval_s, not after its
// normal cadence, until NUM_OF_CHECKS failures in a row; then it returns to its cadence.
TEST(Runner, FailuresFollowUpOnTheRetryCadence) {
  io::AsioEventLoop loop(1);
  loop.start();
  Metrics metrics;
  Config cfg = load(R"(
pipeline:
  source: {type: source.generated, count: 1, interval_s: 20}
  probe: {type: probe.simulated, failure_rate: 1.0}
  sink: {type: sink.null}
scheduler: {retry_interval_s: 2, num_of_checks: 3, summary_interval_s: 3600}
admin: {listen: ""}
)");
  Runner runner(cfg, testing::pipelineTestStages(), loop, metrics);
  runner.start();
  // The one site is due somewhere in the next 19 s; wait for its first check.
  auto deadline = std::chrono::steady_clock::now() + 25s;
  while (runner.stats().completed < 1 && std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(50ms);
  ASSERT_EQ(runner.stats().completed, 1);
  auto first = std::chrono::steady_clock::now();
  while (runner.stats().completed < 3 && std::chrono::steady_clock::now() < first + 10s)
    std::this_thread::sleep_for(50ms);
  auto took = std::chrono::steady_clock::now() - first;
  EXPECT_EQ(runner.stats().completed, 3) << "two follow-ups on the 2 s retry cadence";
  EXPECT_LT(took, 7s);
  // After the third consecutive failure it is back on its 19 s cadence.
  std::this_thread::sleep_for(4s);
  EXPECT_EQ(runner.stats().completed, 3);
  runner.drain(2s);
  loop.stop();
}

// Follow-ups count from the failing check's dispatch: a check that spent its 10 s deadline
// timing out is followed up at once (not 10 s after it ended); a fast failure still waits out
// the retry interval; a result routed late never schedules into the past.
TEST(Runner, FollowUpIsDueRetryIntervalAfterTheFailingChecksDispatch) {
  // Dispatched at 100.4 s, timed out and routed at 110 s: due at once.
  EXPECT_EQ(followUpDue(100'400, 110, 10), 110);
  // Dispatched at 100.4 s, refused at once (routed at 100 s): due at 110 s.
  EXPECT_EQ(followUpDue(100'400, 100, 10), 110);
  // Routed long after dispatch (a slow result): the next tick, never in the past.
  EXPECT_EQ(followUpDue(100'400, 125, 10), 125);
  // No dispatch time recorded: from the routing time, as before.
  EXPECT_EQ(followUpDue(0, 100, 10), 110);
}

// A source the test drives by hand.
struct ManualSource final : TargetSource {
  void start(TargetListener& l) override { listener = &l; }
  TargetListener* listener = nullptr;
};
ManualSource* g_manual = nullptr;

TEST(Runner, FleetReloadToZeroClearsPendingWork) {
  StageRegistry registry;
  testing::registerPipelineTestStages(registry);
  registry.add({StageKind::kSource, "source.manual", "test", [](ConfigMap&) { return std::any(); },
                [](const std::any&, StageContext&) -> std::unique_ptr<Stage> {
                  auto s = std::make_unique<ManualSource>();
                  g_manual = s.get();
                  return s;
                }});
  io::AsioEventLoop loop(1);
  loop.start();
  Metrics metrics;
  ConfigDiagnostics diag;
  Config cfg = parseConfigString(R"(
pipeline:
  source: {type: source.manual}
  probe: {type: probe.simulated, latency: {ms: 5}}
  sink: {type: sink.null}
tokens: {target: 10, max: 64}
admin: {listen: ""}
)", registry, diag);
  ASSERT_TRUE(diag.ok()) << diag.firstError();
  Runner runner(cfg, registry, loop, metrics);
  runner.start();
  ASSERT_NE(g_manual, nullptr);
  std::vector<Target> fleet;
  for (std::uint64_t id = 1; id <= 5000; ++id) {
    Target t;
    t.id = id;
    t.blog_id = id;
    t.url = "http://site-" + std::to_string(id) + ".test/";
    t.interval_s = 1;
    fleet.push_back(std::move(t));
  }
  g_manual->listener->replaceFleet(std::move(fleet));
  std::this_thread::sleep_for(2500ms);
  RunnerStats loaded = runner.stats();
  EXPECT_EQ(loaded.targets, 5000);
  EXPECT_GT(loaded.pending, 1000) << "10 tokens cannot keep up with 5 000 checks/s";

  g_manual->listener->replaceFleet({});
  std::this_thread::sleep_for(1000ms);
  RunnerStats emptied = runner.stats();
  EXPECT_EQ(emptied.targets, 0);
  // Only what already sat in the graph's due queue (bounded by max(2 × tokens, 1024)) may
  // still run; the dispatcher's own pending list is gone.
  EXPECT_LE(emptied.pending, 1024);
  std::this_thread::sleep_for(1500ms);
  RunnerStats later = runner.stats();
  EXPECT_EQ(later.pending, 0);
  EXPECT_EQ(later.in_flight, 0);
  EXPECT_GT(later.stale_results, 0) << "results of removed targets are counted, not rescheduled";
  ASSERT_TRUE(runner.drain(3s));
  loop.stop();
}

}  // namespace
}  // namespace tidewatch
