// The runner's side of the control loop, on the real event loop with simulated probes: side
// effects that back up pause dispatch (and it resumes), periodic reloads wait while the
// scheduler is under pressure, and lateness and freshness are measured.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <mutex>
#include <set>
#include <thread>

#include "core/text.h"
#include "io/event_loop.h"
#include "pipeline/runner.h"
#include "tests/pipeline/test_stages.h"

namespace tidewatch {
namespace {

using namespace std::chrono_literals;

// A sink whose backlog the test sets by hand: rows out of a bound of 1 000.
struct BackloggedSink final : Sink {
  void consume(const CheckPtr&) override {}
  Backlog backlog() const override { return {rows.load(), 0, 1000, 0}; }
  std::atomic<std::int64_t> rows{0};
};
BackloggedSink* g_sink = nullptr;

// A source that serves one generated fleet and records the pressure hints it gets.
struct RecordingSource final : TargetSource {
  void start(TargetListener& l) override {
    std::vector<Target> fleet;
    for (std::uint64_t id = 1; id <= 2000; ++id) {
      Target t;
      t.id = id;
      t.blog_id = id;
      t.url = "http://site-" + std::to_string(id) + ".test/";
      t.interval_s = 2;
      fleet.push_back(std::move(t));
    }
    l.replaceFleet(std::move(fleet));
  }
  void setUnderPressure(bool p) override {
    (p ? pressured : relaxed).fetch_add(1);
    last = p;
  }
  std::atomic<int> pressured{0}, relaxed{0};
  std::atomic<bool> last{false};
};
RecordingSource* g_source = nullptr;

StageRegistry testRegistry() {
  StageRegistry registry;
  testing::registerPipelineTestStages(registry);
  registry.add({StageKind::kSink, "sink.backlogged", "test", [](ConfigMap&) { return std::any(); },
                [](const std::any&, StageContext&) -> std::unique_ptr<Stage> {
                  auto s = std::make_unique<BackloggedSink>();
                  g_sink = s.get();
                  return s;
                }});
  registry.add({StageKind::kSource, "source.recording", "test", [](ConfigMap&) { return std::any(); },
                [](const std::any&, StageContext&) -> std::unique_ptr<Stage> {
                  auto s = std::make_unique<RecordingSource>();
                  g_source = s.get();
                  return s;
                }});
  return registry;
}

template <class Pred>
bool waitFor(Pred pred, std::chrono::milliseconds limit) {
  const auto deadline = std::chrono::steady_clock::now() + limit;
  while (!pred()) {
    if (std::chrono::steady_clock::now() > deadline) return false;
    std::this_thread::sleep_for(20ms);
  }
  return true;
}

TEST(RunnerControl, SideEffectBacklogPausesDispatchAndReloadsWaitUntilItDrains) {
  const StageRegistry registry = testRegistry();
  io::AsioEventLoop loop(1);
  loop.start();
  Metrics metrics;
  ConfigDiagnostics diag;
  Config cfg = parseConfigString(R"(
pipeline:
  source: {type: source.recording}
  probe: {type: probe.simulated, latency: {ms: 5}}
  sink: [{type: sink.backlogged}]
scheduler: {summary_interval_s: 3600}
admin: {listen: ""}
)", registry, diag);
  ASSERT_TRUE(diag.ok()) << diag.firstError();
  Runner runner(cfg, registry, loop, metrics);
  runner.start();
  ASSERT_TRUE(waitFor([&] { return runner.stats().completed > 2000; }, 5s));
  EXPECT_FALSE(runner.stats().paused);

  g_sink->rows = 850;  // 85 % of its bound: pressure
  ASSERT_TRUE(waitFor([&] { return runner.stats().paused; }, 2s));
  EXPECT_EQ(runner.stats().pause_cause, "side_effect_backlog");
  std::this_thread::sleep_for(300ms);  // what was already submitted completes
  const std::int64_t held = runner.stats().dispatched;
  std::this_thread::sleep_for(1s);
  EXPECT_EQ(runner.stats().dispatched, held) << "nothing new is dispatched while paused";
  ASSERT_TRUE(waitFor([&] { return g_source->pressured.load() > 0; }, 7s)) << "periodic reloads are told to wait";

  g_sink->rows = 600;  // below the pause mark, above the resume mark: hysteresis holds
  std::this_thread::sleep_for(500ms);
  EXPECT_TRUE(runner.stats().paused);
  g_sink->rows = 100;
  ASSERT_TRUE(waitFor([&] { return !runner.stats().paused; }, 2s));
  ASSERT_TRUE(waitFor([&] { return runner.stats().dispatched > held + 1000; }, 3s)) << "dispatch resumed";
  ASSERT_TRUE(waitFor([&] { return !g_source->last.load(); }, 7s)) << "reloads may run again";
  EXPECT_EQ(metrics.counter("scheduler.streaming.side_effect_backpressure_pause.count").load(), 1u);
  EXPECT_GT(metrics.counter("scheduler.pause.side_effect_backlog.total_ms").load(), 1000u);

  const RunnerStats s = runner.stats();
  EXPECT_EQ(s.dispatched, s.completed + s.in_flight) << "nothing dropped to relieve pressure";
  ASSERT_TRUE(runner.drain(3s));
  loop.stop();
}

TEST(RunnerControl, ReportsLatenessFreshnessAndOutcomes) {
  const StageRegistry registry = testRegistry();
  io::AsioEventLoop loop(1);
  loop.start();
  Metrics metrics;
  ConfigDiagnostics diag;
  Config cfg = parseConfigString(R"(
pipeline:
  source: {type: source.recording}
  probe: {type: probe.simulated, latency: {ms: 5}, failure_rate: 0.1}
  sink: [{type: sink.backlogged}]
scheduler: {summary_interval_s: 3600}
admin: {listen: ""}
)", registry, diag);
  ASSERT_TRUE(diag.ok()) << diag.firstError();
  Runner runner(cfg, registry, loop, metrics);
  runner.start();
  // Two-second sites (cadence 1 s): after a few seconds every one has been checked.
  ASSERT_TRUE(waitFor([&] { return runner.stats().completed > 8000; }, 10s));
  ASSERT_TRUE(waitFor([&] { return runner.stats().never_checked == 0 && runner.stats().age_p50_s > 0; }, 3s));
  const RunnerStats s = runner.stats();
  EXPECT_EQ(s.stale_targets, 0);
  EXPECT_LE(s.age_max_s, 3);
  // All 2 000 are due in the same second and leave paced (≤ 2 × the rate per tick).
  EXPECT_LT(s.lateness_p50_s, 1.0);
  EXPECT_LT(s.lateness_p99_s, 3.0);
  EXPECT_GT(s.lateness_p99_s, 0.0);
  const auto age = metrics.entries();
  bool saw_age = false, saw_lateness = false;
  for (const auto& e : age) {
    if (e.name == "freshness.age") saw_age = e.distribution.count == 2000;
    if (e.name == "scheduler.lateness") saw_lateness = e.histogram.count >= static_cast<std::uint64_t>(s.dispatched) - 10;
  }
  EXPECT_TRUE(saw_age) << "the whole fleet is in each freshness pass";
  EXPECT_TRUE(saw_lateness) << "every dispatch observes its lateness";
  const std::uint64_t ok = metrics.counter("checks.success.0.count").load();
  const std::uint64_t failed = metrics.counter("scheduler.streaming.check.failure.count").load();
  EXPECT_GT(ok, 0u);
  EXPECT_GT(failed, 0u);
  EXPECT_EQ(metrics.counter("scheduler.streaming.check.success.count").load(), ok);
  EXPECT_NE(runner.summaryLine().find("age_p99="), std::string::npos);
  ASSERT_TRUE(runner.drain(3s));
  loop.stop();
}

}  // namespace
}  // namespace tidewatch

namespace tidewatch {
namespace {

// A probe that succeeds at once and records what it was told to prefetch.
struct PrefetchRecordingProbe final : Probe {
  explicit PrefetchRecordingProbe(EventLoop& l) : loop(l) {}
  void start(CheckPtr check, ProbeCallback& done) override {
    check->result.http_code = 200;
    loop.post([check, &done] { done.onProbeDone(check); });
  }
  void prefetch(const Target& t, std::int64_t due_s) override {
    std::lock_guard lock(mu);
    announced.emplace_back(t.id, due_s);
  }
  EventLoop& loop;
  std::mutex mu;
  std::vector<std::pair<std::uint64_t, std::int64_t>> announced;
};
PrefetchRecordingProbe* g_probe = nullptr;

TEST(RunnerControl, ProbesHearOfEachCheckPrefetchSecondsBeforeItIsDue) {
  StageRegistry registry;
  testing::registerPipelineTestStages(registry);
  registry.add({StageKind::kProbe, "probe.recording", "test", [](ConfigMap&) { return std::any(); },
                [](const std::any&, StageContext& ctx) -> std::unique_ptr<Stage> {
                  auto p = std::make_unique<PrefetchRecordingProbe>(ctx.loop);
                  g_probe = p.get();
                  return p;
                }});
  io::AsioEventLoop loop(1);
  loop.start();
  Metrics metrics;
  ConfigDiagnostics diag;
  Config cfg = parseConfigString(R"(
pipeline:
  source: {type: source.generated, count: 3000, interval_s: 60}
  probe: {type: probe.recording}
  sink: {type: sink.null}
scheduler: {summary_interval_s: 3600, prefetch_s: 5}
admin: {listen: ""}
)", registry, diag);
  ASSERT_TRUE(diag.ok()) << diag.firstError();
  Runner runner(cfg, registry, loop, metrics);
  const std::int64_t start_s = unixNowMs() / 1000;
  runner.start();
  std::this_thread::sleep_for(3500ms);
  std::vector<std::pair<std::uint64_t, std::int64_t>> seen;
  {
    std::lock_guard lock(g_probe->mu);
    seen = g_probe->announced;
  }
  ASSERT_TRUE(runner.drain(3s));
  loop.stop();
  // 3 000 sites on a 57 s cadence: ~53 per second; by now about 3.5 + 5 seconds' worth.
  EXPECT_GT(seen.size(), 300u);
  EXPECT_LT(seen.size(), 700u);
  std::set<std::uint64_t> ids;
  for (const auto& [id, due] : seen) {
    EXPECT_TRUE(ids.insert(id).second) << "announced twice: " << id;
    EXPECT_GT(due, start_s) << "never a second already due";
    EXPECT_LE(due, start_s + 3 + 5 + 1) << "at most prefetch_s ahead";
    const std::uint32_t cadence = DueWheel::cadenceFor(60);
    EXPECT_EQ(due % cadence, DueWheel::phaseFor(id, cadence)) << "the check's own due second";
  }
}

}  // namespace
}  // namespace tidewatch
