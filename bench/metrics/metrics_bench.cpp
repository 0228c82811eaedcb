// What a check pays for its metrics: tidewatch's relaxed-atomic counters and lock-free
// histogram against prometheus-cpp 1.0 (Debian) doing the same — one counter bump and the six
// histogram observations a check makes (lateness + five phases), alone and with two threads
// contending as the TBB arena does on this machine. docs/decisions/0003-metrics.md.
#include <benchmark/benchmark.h>
#include <prometheus/counter.h>
#include <prometheus/histogram.h>
#include <prometheus/registry.h>

#include "core/metrics.h"

namespace {

const std::vector<double> kBounds = {0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25,
                                     0.5,   1,      2.5,   5,    10,    20,   30,  60};

tidewatch::Metrics& ours() {
  static tidewatch::Metrics m;
  return m;
}

prometheus::Registry& registry() {
  static prometheus::Registry r;
  return r;
}

void OursCheck(benchmark::State& state) {
  auto& counter = ours().counter("checks.success.0.count");
  auto& h = ours().histogram("check.latency.total", kBounds);
  double v = 0.0001;
  for (auto _ : state) {
    counter.fetch_add(1, std::memory_order_relaxed);
    for (int i = 0; i < 6; ++i) h.observe(v);
    v = v > 30 ? 0.0001 : v * 1.7;
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(OursCheck)->Threads(1)->Threads(2)->UseRealTime();

void PrometheusCppCheck(benchmark::State& state) {
  static auto& counter = prometheus::BuildCounter().Name("tidewatch_checks_total").Help("x").Register(registry()).Add({});
  static auto& h = prometheus::BuildHistogram()
                       .Name("tidewatch_check_phase_seconds")
                       .Help("x")
                       .Register(registry())
                       .Add({}, prometheus::Histogram::BucketBoundaries(kBounds));
  double v = 0.0001;
  for (auto _ : state) {
    counter.Increment();
    for (int i = 0; i < 6; ++i) h.Observe(v);
    v = v > 30 ? 0.0001 : v * 1.7;
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(PrometheusCppCheck)->Threads(1)->Threads(2)->UseRealTime();

}  // namespace

BENCHMARK_MAIN();
