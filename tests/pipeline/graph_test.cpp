#include "pipeline/graph.h"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <memory>
#include <random>
#include <thread>
#include <vector>

#include "io/event_loop.h"
#include "core/metrics.h"
#include "pipeline/registry.h"
#include "tests/pipeline/test_stages.h"

namespace tidewatch {
namespace {

using namespace std::chrono_literals;

struct CountingHooks : GraphHooks {
  explicit CountingHooks(std::size_t n) : routed(n) {}
  void onRouted(const CheckPtr& c) override { routed[c->request.seq].fetch_add(1); }
  std::vector<std::atomic<int>> routed;
};

class SeqSink final : public Sink {
 public:
  explicit SeqSink(std::size_t n) : seen(n) {}
  void consume(const CheckPtr& c) override { seen[c->request.seq].fetch_add(1); }
  bool serial() const override { return false; }
  std::vector<std::atomic<int>> seen;
};

CheckPtr makeCheck(std::uint64_t seq, const TargetPtr& target) {
  auto c = std::make_shared<Check>();
  c->request.slot = static_cast<std::uint32_t>(seq % 1000);
  c->request.seq = seq;
  c->request.due_s = static_cast<std::int64_t>(seq);
  c->request.target = target;
  return c;
}

// Every one of a million checks — healthy, failing, timing out — completes, is routed and
// reaches the sink exactly once; nothing is dropped anywhere.
TEST(Graph, NeverDropsAMillionSimulatedChecksWithTimeoutsAndFailures) {
  constexpr std::size_t kChecks = 1'000'000;
  io::AsioEventLoop loop(2);
  loop.start();
  Metrics metrics;
  ConfigDiagnostics diag;
  Config cfg = parseConfigString(R"(
pipeline:
  source: {type: source.generated, count: 1}
  probe: {type: probe.simulated, seed: 7, failure_rate: 0.1, timeout_rate: 0.02, timeout_ms: 1}
)", testing::pipelineTestStages(), diag);
  ASSERT_TRUE(diag.ok()) << diag.firstError();
  StageContext ctx{cfg, loop, metrics};
  auto probe = testing::pipelineTestStages().create<Probe>(cfg.pipeline.probe, ctx);
  auto classifier = testing::pipelineTestStages().create<Classifier>(cfg.pipeline.classify, ctx);
  CountingHooks hooks(kChecks);
  SeqSink sink(kChecks);
  auto target = std::make_shared<const Target>(Target{1, 1, "http://x/", 60, 0, SiteStatus::kRunning, 0, 0, defaultSiteConfig()});
  {
    PipelineGraph graph(*probe, *classifier, {{&sink, "test.seq"}}, hooks, 512);
    for (std::uint64_t seq = 0; seq < kChecks; ++seq) {
      while (graph.counters().queued > 20000) std::this_thread::yield();
      graph.submit(makeCheck(seq, target));
    }
    auto deadline = std::chrono::steady_clock::now() + 120s;
    while (graph.counters().routed < static_cast<std::int64_t>(kChecks) && std::chrono::steady_clock::now() < deadline)
      std::this_thread::sleep_for(5ms);
    graph.waitForAll();
    GraphCounters c = graph.counters();
    EXPECT_EQ(c.submitted, static_cast<std::int64_t>(kChecks));
    EXPECT_EQ(c.dispatched, static_cast<std::int64_t>(kChecks));
    EXPECT_EQ(c.completed, static_cast<std::int64_t>(kChecks));
    EXPECT_EQ(c.routed, static_cast<std::int64_t>(kChecks));
    EXPECT_EQ(c.in_flight, 0);
    EXPECT_EQ(c.sink_backlog, 0);
    EXPECT_EQ(c.dispatched, c.completed + c.in_flight);
  }
  std::size_t bad_route = 0, bad_sink = 0;
  for (std::size_t i = 0; i < kChecks; ++i) {
    bad_route += hooks.routed[i].load() != 1;
    bad_sink += sink.seen[i].load() != 1;
  }
  EXPECT_EQ(bad_route, 0u);
  EXPECT_EQ(bad_sink, 0u);
  loop.stop();
}

// A probe that completes after a random 0.2–2 ms and records how many checks are in flight
// when each one starts.
class MeasuringProbe final : public Probe {
 public:
  explicit MeasuringProbe(EventLoop& loop) : loop_(loop) {}
  void start(CheckPtr check, ProbeCallback& done) override {
    std::int64_t now = in_flight.fetch_add(1) + 1;
    std::int64_t prev = phase_max.load();
    while (now > prev && !phase_max.compare_exchange_weak(prev, now)) {}
    std::int64_t ever = all_time_max.load();
    while (now > ever && !all_time_max.compare_exchange_weak(ever, now)) {}
    thread_local std::mt19937 rng(std::random_device{}());
    auto delay = std::chrono::microseconds(200 + rng() % 1800);
    loop_.postAfter(delay, [this, check = std::move(check), &done]() mutable {
      check->result.http_code = 200;
      in_flight.fetch_sub(1);
      done.onProbeDone(std::move(check));
    });
  }
  std::atomic<std::int64_t> in_flight{0}, phase_max{0}, all_time_max{0};

 private:
  EventLoop& loop_;
};

struct NoHooks : GraphHooks {
  void onRouted(const CheckPtr&) override {}
};

// While the limit is lowered and raised under saturating load, no check is admitted beyond
// the limit in force: after lowering, once in-flight has drained to the new limit it stays
// there; after raising it rises to, and never above, the new limit.
TEST(Graph, InFlightNeverExceedsTheLimitWhileItIsRaisedAndLowered) {
  io::AsioEventLoop loop(2);
  loop.start();
  MeasuringProbe probe(loop);
  struct Ok : Classifier {
    void classify(Check& c) const override { c.verdict.success = true; }
  } classifier;
  NoHooks hooks;
  constexpr std::int64_t kMax = 200;
  auto target = std::make_shared<const Target>();
  {
    PipelineGraph graph(probe, classifier, {}, hooks, kMax);
    std::atomic<bool> feeding{true};
    std::thread feeder([&] {
      std::uint64_t seq = 0;
      while (feeding.load()) {
        if (graph.counters().queued < 2000) graph.submit(makeCheck(seq++, target));
        else std::this_thread::sleep_for(100us);
      }
    });
    auto settle_below = [&](std::int64_t limit) {
      auto deadline = std::chrono::steady_clock::now() + 5s;
      while (probe.in_flight.load() > limit && std::chrono::steady_clock::now() < deadline)
        std::this_thread::sleep_for(100us);
      ASSERT_LE(probe.in_flight.load(), limit);
    };
    for (int cycle = 0; cycle < 4; ++cycle) {
      graph.tokens().setTarget(150);
      std::this_thread::sleep_for(100ms);
      graph.tokens().setTarget(20);
      settle_below(20);
      probe.phase_max.store(0);
      std::this_thread::sleep_for(150ms);
      EXPECT_LE(probe.phase_max.load(), 20) << "cycle " << cycle << " lowered";
      EXPECT_GE(probe.phase_max.load(), 15) << "load should saturate the lowered limit";
      probe.phase_max.store(0);
      graph.tokens().setTarget(80);
      std::this_thread::sleep_for(150ms);
      EXPECT_LE(probe.phase_max.load(), 80) << "cycle " << cycle << " raised";
      EXPECT_GE(probe.phase_max.load(), 60) << "load should saturate the raised limit";
    }
    feeding.store(false);
    feeder.join();
    graph.tokens().setTarget(kMax);
    graph.waitForAll();
    EXPECT_LE(probe.all_time_max.load(), kMax);
    GraphCounters c = graph.counters();
    EXPECT_EQ(c.in_flight, 0);
    EXPECT_EQ(c.dispatched, c.completed);
  }
  loop.stop();
}

}  // namespace
}  // namespace tidewatch
