// The runner's exported metrics (names: Jetmon's streaming set, compat §11.6, plus ours; the
// catalog in app/ gives them Prometheus families and help). Internal to pipeline/runner.cpp.
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <vector>

#include "core/metrics.h"
#include "pipeline/check.h"
#include "pipeline/control.h"
#include "pipeline/freshness.h"
#include "pipeline/runner.h"

namespace tidewatch {

// Lateness (dispatch − due), seconds: a healthy fleet sits in the first buckets.
inline const std::vector<double> kLatenessBounds = {0.1, 0.25, 0.5, 1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 1800};
// Check latency by phase, seconds.
inline const std::vector<double> kPhaseBounds = {0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25,
                                                 0.5,   1,      2.5,   5,    10,    20,   30,  60};

struct Runner::Gauges {
  explicit Gauges(Metrics& m);
  void set(const GateInputs& gate, PauseCause cause);
  void freshness(const FreshnessPass& pass);
  void publish(const RunnerStats& s);
  const SampledDistribution& age() const { return age_; }
  std::int64_t stale() const { return stale_; }
  std::int64_t neverChecked() const { return never_checked_; }

  Metrics& metrics;
  std::atomic<std::int64_t>& targets;
  std::atomic<std::int64_t>& required_rate;
  std::atomic<std::int64_t>& worker_target;
  std::atomic<std::int64_t>& token_max;
  std::atomic<std::int64_t>& pending;
  std::atomic<std::int64_t>& in_flight;
  std::atomic<std::int64_t>& queue_depth;
  std::atomic<std::int64_t>& result_depth;
  std::atomic<std::int64_t>& side_effect_depth;
  std::atomic<std::int64_t>& side_effect_fill;  // per mille of the fullest stage's bound
  std::atomic<std::int64_t>& sps;
  std::atomic<std::int64_t>& max_lag;
  std::atomic<std::int64_t>& age_max;
  std::atomic<std::int64_t>& stale_targets;
  std::atomic<std::int64_t>& never_checked;
  std::atomic<std::int64_t>& monitor_pressure;
  std::array<std::atomic<std::int64_t>*, 3> paused{};  // by PauseCause
  std::array<std::atomic<std::int64_t>*, 7> mode{};    // by ControlMode

 private:
  SampledDistribution age_;
  std::int64_t stale_ = 0;
  std::int64_t never_checked_ = 0;
};

struct Runner::Counters {
  explicit Counters(Metrics& m);
  // One tick's pause bookkeeping: episodes by cause and the milliseconds spent paused.
  void paused(PauseCause cause, PauseCause before, std::int64_t elapsed_ms);
  // One control period: loop lag, latency, faults.
  void control(const ControlSample& s, const ControlDecision& d, std::int64_t before);

  std::atomic<std::uint64_t>* budget_limited;
  std::atomic<std::uint64_t>* monitor_faults;
  std::atomic<std::uint64_t>* token_changes;
  std::atomic<std::int64_t>* loop_lag;
  std::atomic<std::int64_t>* avg_latency;
  std::array<std::atomic<std::uint64_t>*, 3> pause_episodes{};
  std::array<std::atomic<std::uint64_t>*, 3> pause_ms{};
  // Checks by outcome (status_type, or monitor_fault) and Jetmon error code 0–9.
  std::array<std::array<std::atomic<std::uint64_t>*, 10>, 9> outcome{};
  std::atomic<std::uint64_t>*& outcome_slot(std::size_t t, std::size_t e) { return outcome[t][e]; }
  std::atomic<std::uint64_t>* check_success;
  std::atomic<std::uint64_t>* check_failure;
  std::array<std::atomic<std::uint64_t>*, 10> check_error{};  // Jetmon's kinds, by ErrorCode
  std::array<Histogram*, 5> phase{};  // dns, connect, tls, ttfb, total
};

}  // namespace tidewatch
