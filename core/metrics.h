// Named metrics: counters, gauges, histograms and sampled distributions. Exported by the
// summary log line, the admin server (/metrics in the Prometheus text format, /api/state),
// and StatsD (core/metrics_export.h).
//
// A metric's name is its dotted Jetmon-style name ("wpcom.notification.delivered.count"),
// which is also its StatsD name; the Prometheus family, type, unit and help text come from
// the metric catalog (core/metrics_export.h). Looking a metric up takes a lock: keep the
// returned reference and bump it with relaxed atomics (counters, gauges) or observe()
// (histograms, lock-free) on the hot path. Every method is thread-safe.
#pragma once

#include <atomic>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

namespace tidewatch {

// A cumulative histogram with fixed upper bounds (in the metric's base unit: seconds, bytes),
// lock-free: observe() is two relaxed atomic adds after a binary search over the bounds.
class Histogram {
 public:
  explicit Histogram(std::vector<double> bounds);
  void observe(double value);

  struct Snapshot {
    std::vector<double> bounds;          // upper bounds; +Inf is implicit
    std::vector<std::uint64_t> counts;   // per bucket (not cumulative), bounds.size() + 1
    std::uint64_t count = 0;
    double sum = 0;
    // Estimate by linear interpolation inside the bucket holding the q-th observation
    // (the +Inf bucket reports its lower bound). 0 when empty.
    double quantile(double q) const;
    // This snapshot minus an earlier one of the same histogram (what happened in between).
    Snapshot since(const Snapshot& earlier) const;
  };
  Snapshot snapshot() const;
  const std::vector<double>& bounds() const { return bounds_; }

  // Bounds from `start`, each `factor` times the previous, `count` of them.
  static std::vector<double> exponential(double start, double factor, int count);

 private:
  std::vector<double> bounds_;
  std::unique_ptr<std::atomic<std::uint64_t>[]> counts_;
  std::atomic<std::uint64_t> count_{0};
  std::atomic<std::int64_t> sum_micros_{0};  // sum in 1e-6 base units
};

// A distribution measured as a whole every few seconds (e.g. the age of every target's last
// check): quantiles of the latest complete measurement, not a running total.
struct SampledDistribution {
  std::int64_t at_ms = 0;         // when the measurement completed; 0 = none yet
  std::uint64_t count = 0;        // values measured
  double sum = 0;
  double p50 = 0, p90 = 0, p99 = 0, max = 0;
};

class Metrics {
 public:
  std::atomic<std::uint64_t>& counter(const std::string& name);
  std::atomic<std::int64_t>& gauge(const std::string& name);
  // The first call fixes the bounds; later calls return the same histogram.
  Histogram& histogram(const std::string& name, const std::vector<double>& bounds);
  void setDistribution(const std::string& name, const SampledDistribution& value);

  // Counters and gauges: name -> value, sorted by name.
  std::vector<std::pair<std::string, std::int64_t>> snapshot() const;

  // Everything, sorted by name, for exporters.
  struct Entry {
    enum class Kind : std::uint8_t { kCounter, kGauge, kHistogram, kDistribution } kind;
    std::string name;
    std::int64_t value = 0;        // counter or gauge
    Histogram::Snapshot histogram;
    SampledDistribution distribution;
  };
  std::vector<Entry> entries() const;

 private:
  mutable std::mutex mu_;
  std::deque<std::atomic<std::uint64_t>> counter_store_;  // deque: stable addresses
  std::deque<std::atomic<std::int64_t>> gauge_store_;
  std::map<std::string, std::atomic<std::uint64_t>*> counters_;
  std::map<std::string, std::atomic<std::int64_t>*> gauges_;
  std::map<std::string, std::unique_ptr<Histogram>> histograms_;
  std::map<std::string, SampledDistribution> distributions_;
};

}  // namespace tidewatch
