#include "pipeline/runner_metrics.h"

#include <algorithm>
#include <cmath>
#include <string>

namespace tidewatch {

namespace {

constexpr std::array<PauseCause, 3> kCauses = {PauseCause::kNone, PauseCause::kResultBacklog,
                                               PauseCause::kSideEffectBacklog};
constexpr std::array<ControlMode, 7> kModes = {ControlMode::kFixed,     ControlMode::kIdle,
                                               ControlMode::kSteady,    ControlMode::kCatchUp,
                                               ControlMode::kSaturated, ControlMode::kFailurePressure,
                                               ControlMode::kMonitorPressure};
constexpr std::array<StatusType, 8> kTypes = {StatusType::kSuccess,  StatusType::kHttps,  StatusType::kIntermittent,
                                              StatusType::kRedirect, StatusType::kBlocked, StatusType::kServer,
                                              StatusType::kClient,   StatusType::kProbeSafety};
constexpr std::size_t kMonitorFaultOutcome = kTypes.size();

// Jetmon's streaming error kinds (compat §11.6), by our error code.
constexpr std::array<const char*, 10> kErrorKinds = {"other",    "timeout",     "connect",        "ssl",  "redirect",
                                                     "keyword", "tls_expired", "tls_deprecated", "body_read", "other"};

std::string stream(const char* name) { return std::string("scheduler.streaming.") + name + ".count"; }

}  // namespace

Runner::Gauges::Gauges(Metrics& m)
    : metrics(m),
      targets(m.gauge(stream("targets"))),
      required_rate(m.gauge(stream("required_rate"))),
      worker_target(m.gauge(stream("worker_target"))),
      token_max(m.gauge("scheduler.tokens.max")),
      pending(m.gauge(stream("pending"))),
      in_flight(m.gauge(stream("inflight"))),
      queue_depth(m.gauge(stream("queue_depth"))),
      result_depth(m.gauge(stream("result_depth"))),
      side_effect_depth(m.gauge(stream("side_effect_queue_depth"))),
      side_effect_fill(m.gauge("scheduler.side_effect.fill_permille")),
      sps(m.gauge(stream("sps"))),
      max_lag(m.gauge("scheduler.streaming.max_lag.time")),
      age_max(m.gauge("freshness.age_max.time")),
      stale_targets(m.gauge("freshness.stale.count")),
      never_checked(m.gauge("freshness.never_checked.count")),
      monitor_pressure(m.gauge("scheduler.monitor_pressure")) {
  for (std::size_t i = 1; i < kCauses.size(); ++i)
    paused[i] = &m.gauge("scheduler.paused." + std::string(toString(kCauses[i])));
  for (std::size_t i = 0; i < kModes.size(); ++i)
    mode[i] = &m.gauge("scheduler.control_mode." + std::string(toString(kModes[i])));
}

void Runner::Gauges::set(const GateInputs& gate, PauseCause cause) {
  for (std::size_t i = 1; i < kCauses.size(); ++i) paused[i]->store(kCauses[i] == cause ? 1 : 0, std::memory_order_relaxed);
  side_effect_depth.store(gate.side_effect_rows, std::memory_order_relaxed);
  side_effect_fill.store(std::llround(gate.side_effect_fill * 1000), std::memory_order_relaxed);
}

void Runner::Gauges::freshness(const FreshnessPass& pass) {
  age_ = pass.age;
  stale_ = pass.stale;
  never_checked_ = pass.never_checked;
  metrics.setDistribution("freshness.age", pass.age);
  age_max.store(std::llround(pass.age.max * 1000), std::memory_order_relaxed);
  stale_targets.store(pass.stale, std::memory_order_relaxed);
  never_checked.store(pass.never_checked, std::memory_order_relaxed);
}

void Runner::Gauges::publish(const RunnerStats& s) {
  targets.store(s.targets, std::memory_order_relaxed);
  required_rate.store(std::llround(s.required_rate), std::memory_order_relaxed);
  worker_target.store(s.token_target, std::memory_order_relaxed);
  token_max.store(s.token_max, std::memory_order_relaxed);
  pending.store(s.pending, std::memory_order_relaxed);
  in_flight.store(s.in_flight, std::memory_order_relaxed);
  queue_depth.store(std::max<std::int64_t>(0, s.pending - s.in_flight), std::memory_order_relaxed);
  result_depth.store(s.result_backlog, std::memory_order_relaxed);
  sps.store(std::llround(s.checks_per_s), std::memory_order_relaxed);
  max_lag.store(s.max_lag_ms, std::memory_order_relaxed);
  monitor_pressure.store(s.monitor_pressure ? 1 : 0, std::memory_order_relaxed);
  for (std::size_t i = 0; i < kModes.size(); ++i)
    mode[i]->store(toString(kModes[i]) == s.control_mode ? 1 : 0, std::memory_order_relaxed);
}

Runner::Counters::Counters(Metrics& m)
    : budget_limited(&m.counter(stream("dispatch_budget_limited"))),
      monitor_faults(&m.counter("scheduler.monitor_faults.count")),
      token_changes(&m.counter("scheduler.token_changes.count")),
      loop_lag(&m.gauge("scheduler.loop_lag.time")),
      avg_latency(&m.gauge("scheduler.streaming.avg_latency.time")),
      check_success(&m.counter(stream("check.success"))),
      check_failure(&m.counter(stream("check.failure"))) {
  pause_episodes[1] = &m.counter(stream("result_backpressure_pause"));
  pause_episodes[2] = &m.counter(stream("side_effect_backpressure_pause"));
  for (std::size_t i = 1; i < kCauses.size(); ++i)
    pause_ms[i] = &m.counter("scheduler.pause." + std::string(toString(kCauses[i])) + ".total_ms");
  for (std::size_t t = 0; t <= kTypes.size(); ++t) {
    const std::string outcome = t < kTypes.size() ? std::string(toString(kTypes[t])) : "monitor_fault";
    for (std::size_t e = 0; e < 10; ++e)
      outcome_slot(t, e) = &m.counter("checks." + outcome + "." + std::to_string(e) + ".count");
  }
  for (std::size_t e = 1; e < 10; ++e) check_error[e] = &m.counter(stream((std::string("check.error.") + kErrorKinds[e]).c_str()));
  const char* phases[] = {"dns", "connect", "tls", "ttfb", "total"};
  for (std::size_t i = 0; i < phase.size(); ++i) phase[i] = &m.histogram(std::string("check.latency.") + phases[i], kPhaseBounds);
}

void Runner::Counters::paused(PauseCause cause, PauseCause before, std::int64_t elapsed_ms) {
  const auto i = static_cast<std::size_t>(cause);
  if (cause == PauseCause::kNone) return;
  if (cause != before) pause_episodes[i]->fetch_add(1, std::memory_order_relaxed);
  pause_ms[i]->fetch_add(static_cast<std::uint64_t>(std::max<std::int64_t>(elapsed_ms, 0)), std::memory_order_relaxed);
}

void Runner::Counters::control(const ControlSample& s, const ControlDecision& d, std::int64_t before) {
  monitor_faults->fetch_add(static_cast<std::uint64_t>(s.monitor_faults), std::memory_order_relaxed);
  if (d.target != before) token_changes->fetch_add(1, std::memory_order_relaxed);
  loop_lag->store(std::llround(s.loop_lag_ms), std::memory_order_relaxed);
  avg_latency->store(std::llround(s.success_latency_s * 1000), std::memory_order_relaxed);
}

void Runner::countOutcome(const Check& check) {
  const Verdict& v = check.verdict;
  const ProbeResult& r = check.result;
  const auto code = std::min<std::size_t>(static_cast<std::size_t>(r.error), 9);
  const std::size_t outcome = v.monitor_fault ? kMonitorFaultOutcome : static_cast<std::size_t>(v.status_type);
  counters_->outcome_slot(outcome, code)->fetch_add(1, std::memory_order_relaxed);
  if (v.success) counters_->check_success->fetch_add(1, std::memory_order_relaxed);
  if (v.failure) counters_->check_failure->fetch_add(1, std::memory_order_relaxed);
  if (code != 0) counters_->check_error[code]->fetch_add(1, std::memory_order_relaxed);

  // Phase latencies of the phases that completed (a failed connect has no TLS or TTFB).
  const ProbeTimings& t = r.timings;
  const auto seconds = [](std::uint32_t ms) { return static_cast<double>(ms) / 1000.0; };
  const ProbePhase failed = r.failed_phase;
  if (failed != ProbePhase::kResolve) counters_->phase[0]->observe(seconds(t.dns_ms));
  if (t.tcp_ms > 0) counters_->phase[1]->observe(seconds(t.tcp_ms));
  if (t.tls_ms > 0) counters_->phase[2]->observe(seconds(t.tls_ms));
  if (t.ttfb_ms > 0) counters_->phase[3]->observe(seconds(t.ttfb_ms));
  if (r.finished_at_ms >= r.started_at_ms && r.started_at_ms > 0)
    counters_->phase[4]->observe(static_cast<double>(r.finished_at_ms - r.started_at_ms) / 1000.0);
}

}  // namespace tidewatch
