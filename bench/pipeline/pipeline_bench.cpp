// Benchmarks of the engine without the network: the due wheel per target, and checks through
// the flow graph with probe.simulated (zero latency) + sink.null built from YAML through the
// registry, exactly as the daemon builds them.
//
//   build/bench/pipeline/pipeline_bench --benchmark_repetitions=5 --benchmark_report_aggregates_only=true
#include <benchmark/benchmark.h>

#include <chrono>
#include <fstream>
#include <string>
#include <thread>

#include "io/event_loop.h"
#include "pipeline/due_wheel.h"
#include "pipeline/graph.h"
#include "core/metrics.h"
#include "pipeline/registry.h"
#include "stages/register_all.h"
#include "pipeline/target_table.h"
#include "stages/source/generated/generated_source.h"

namespace tidewatch {
namespace {

std::int64_t rssBytes() {
  std::ifstream f("/proc/self/statm");
  long pages = 0, resident = 0;
  f >> pages >> resident;
  return resident * 4096;
}

// Schedule every target once and pop one full 285 s cadence: the per-target cost of the
// wheel's two operations, and its memory with `range(0)` targets loaded.
void BM_WheelSchedulePopPerTarget(benchmark::State& state) {
  const auto n = static_cast<std::uint32_t>(state.range(0));
  std::size_t bytes = 0;
  for (auto _ : state) {
    DueWheel wheel(0);
    wheel.resize(n);
    for (std::uint32_t s = 0; s < n; ++s)
      wheel.schedule(s, DueWheel::nextAligned(0, 285, DueWheel::phaseFor(s + 1, 285)));
    std::size_t popped = 0;
    for (std::int64_t t = 0; t < 285; ++t)
      popped += wheel.popDue(t, [&](std::uint32_t slot, std::int64_t due) {
        wheel.markInFlight(slot);
        wheel.markDone(slot, due);
        wheel.schedule(slot, due + 285);  // the next round: buckets keep their capacity
      });
    benchmark::DoNotOptimize(popped);
    bytes = wheel.memoryBytes();
  }
  state.SetItemsProcessed(state.iterations() * n);
  state.counters["schedule_bytes_per_target"] = static_cast<double>(bytes) / n;
}
BENCHMARK(BM_WheelSchedulePopPerTarget)->Arg(100'000)->Arg(2'000'000)->Unit(benchmark::kMillisecond);

// Memory of the whole fleet state (TargetTable: Target objects with their 30-byte URLs, the id
// index; DueWheel) with 2 M generated targets, measured as RSS growth.
void BM_FleetMemory2M(benchmark::State& state) {
  for (auto _ : state) {
    std::int64_t before = rssBytes();
    auto fleet = stages::generateTargets("http://site-%07d.fleet.test/", 1, 2'000'000, 300, 1000);
    TargetTable table;
    DueWheel wheel(0);
    auto delta = table.merge(std::move(fleet), [](std::uint32_t) { return false; });
    std::vector<Target>().swap(fleet);  // the source's snapshot is not part of the fleet state
    wheel.resize(table.slotCapacity());
    for (auto slot : delta.added) {
      const Target& t = *table.at(slot);
      std::uint32_t c = DueWheel::cadenceFor(t.interval_s);
      wheel.schedule(slot, DueWheel::nextAligned(0, c, DueWheel::phaseFor(t.id, c)));
    }
    std::int64_t after = rssBytes();
    state.counters["fleet_rss_bytes_per_target"] = static_cast<double>(after - before) / 2e6;
    state.counters["wheel_bytes_per_target"] = static_cast<double>(wheel.memoryBytes()) / 2e6;
  }
}
BENCHMARK(BM_FleetMemory2M)->Iterations(1)->Unit(benchmark::kMillisecond);

struct NoHooks : GraphHooks {
  void onRouted(const CheckPtr&) override {}
};

// Checks/s through due_queue → tokens → probe.simulated (zero latency) → classify.jetmon →
// route → sink.null, on every core of the machine.
void BM_GraphThroughput(benchmark::State& state) {
  io::AsioEventLoop loop(1);
  loop.start();
  Metrics metrics;
  ConfigDiagnostics diag;
  Config cfg = parseConfigString(R"(
pipeline:
  source: {type: source.generated, count: 1}
  probe: {type: probe.simulated}
  classify: {type: classify.jetmon}
  sink: {type: sink.null}
)", builtinStages(), diag);
  if (!diag.ok()) {
    state.SkipWithError(diag.firstError().c_str());
    return;
  }
  StageContext ctx{cfg, loop, metrics};
  auto probe = builtinStages().create<Probe>(cfg.pipeline.probe, ctx);
  auto classifier = builtinStages().create<Classifier>(cfg.pipeline.classify, ctx);
  auto sink = builtinStages().create<Sink>(cfg.pipeline.sinks[0], ctx);
  NoHooks hooks;
  PipelineGraph graph(*probe, *classifier, {{sink.get(), "sink.null"}}, hooks, 4096);
  auto target = std::make_shared<const Target>(
      Target{1, 1, "http://site-0000001.fleet.test/", 300, 0, SiteStatus::kRunning, 0, 0, defaultSiteConfig()});
  const std::int64_t batch = state.range(0);
  std::uint64_t seq = 0;
  for (auto _ : state) {
    std::int64_t goal = graph.counters().routed + batch;
    for (std::int64_t i = 0; i < batch; ++i) {
      while (graph.counters().queued > 8192) std::this_thread::yield();
      auto c = std::make_shared<Check>();
      c->request.target = target;
      c->request.seq = seq++;
      c->request.slot = 1;
      graph.submit(std::move(c));
    }
    while (graph.counters().routed < goal) std::this_thread::yield();
  }
  graph.waitForAll();
  state.SetItemsProcessed(state.iterations() * batch);
  loop.stop();
}
BENCHMARK(BM_GraphThroughput)->Arg(200'000)->UseRealTime()->Unit(benchmark::kMillisecond);

}  // namespace
}  // namespace tidewatch

BENCHMARK_MAIN();
