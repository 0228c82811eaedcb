#include "pipeline/control.h"

#include <algorithm>
#include <cmath>

namespace tidewatch {

std::string_view toString(PauseCause cause) {
  switch (cause) {
    case PauseCause::kNone: return "none";
    case PauseCause::kResultBacklog: return "result_backlog";
    case PauseCause::kSideEffectBacklog: return "side_effect_backlog";
  }
  return "?";
}

std::string_view toString(ControlMode mode) {
  switch (mode) {
    case ControlMode::kFixed: return "fixed";
    case ControlMode::kIdle: return "idle";
    case ControlMode::kSteady: return "steady";
    case ControlMode::kCatchUp: return "catch_up";
    case ControlMode::kSaturated: return "saturated";
    case ControlMode::kFailurePressure: return "failure_pressure";
    case ControlMode::kMonitorPressure: return "monitor_pressure";
  }
  return "?";
}

// ---- pause rule ---------------------------------------------------------------------------

std::int64_t DispatchGate::resultThreshold(std::int64_t active_targets, std::int64_t token_target) {
  return std::clamp<std::int64_t>(std::max(token_target * 6, active_targets / 3), 1024, 786432);
}

std::int64_t DispatchGate::sideEffectThreshold(std::int64_t active_targets, std::int64_t token_target) {
  return std::clamp<std::int64_t>(std::max(token_target, active_targets / 20), 1024, 524288);
}

PauseCause DispatchGate::evaluate(const GateInputs& in) {
  const std::int64_t results = resultThreshold(in.active_targets, in.token_target);
  const std::int64_t rows = sideEffectThreshold(in.active_targets, in.token_target);
  // A result backlog drains by itself once nothing more is in flight: holding dispatch then
  // would only starve the probe (the seed's lesson from its 500k runs).
  const bool work_in_graph = in.in_flight + in.queued > 0;
  const bool results_over = work_in_graph && in.result_backlog >= results;
  const bool effects_over = in.side_effect_fill >= kPauseFill || in.side_effect_rows >= rows;

  switch (cause_) {
    case PauseCause::kResultBacklog:
      if (work_in_graph && in.result_backlog * 2 >= results) return cause_;
      break;
    case PauseCause::kSideEffectBacklog:
      if (in.side_effect_fill >= kResumeFill || in.side_effect_rows * 2 >= rows) return cause_;
      break;
    case PauseCause::kNone:
      break;
  }
  // Side effects first: they are the bound on memory; a result backlog is transient.
  cause_ = effects_over ? PauseCause::kSideEffectBacklog
                        : results_over ? PauseCause::kResultBacklog : PauseCause::kNone;
  return cause_;
}

// ---- dispatch budget ----------------------------------------------------------------------

std::int64_t dispatchBudget(const BudgetInputs& in) {
  const double rate = std::max(in.required_rate, 1.0);
  // A tick delayed by more than six seconds pays back at most six seconds at once.
  const double elapsed = std::clamp(in.elapsed_s, 0.001, 6.0);
  const double base = rate * elapsed;
  const auto pending = static_cast<double>(in.pending);
  const bool catch_up = in.max_lag_ms > 60'000 && in.result_backlog < 1024;
  double budget = std::ceil(base * 1.25) + pending / (catch_up ? 60.0 : 120.0);
  const double cap = std::ceil(base * (catch_up ? 4.0 : 2.0)) + 1;
  const auto tokens = static_cast<double>(std::max<std::int64_t>(in.token_target, 1));
  budget = std::min({budget, cap, tokens * (catch_up ? 6 : 3)});
  // Keep the due queue short: what waits for a token waits in `pending`, visibly.
  const std::int64_t room = std::max<std::int64_t>(in.token_target * 2, 1024) - in.queued;
  return std::max<std::int64_t>(0, std::min<std::int64_t>(static_cast<std::int64_t>(budget), room));
}

// ---- token controller ---------------------------------------------------------------------

namespace {

// How long a found limit holds before it may be probed again.
constexpr std::int64_t kLimitHoldMs = 60'000;
constexpr std::int64_t kFailurePressureHoldMs = 120'000;
constexpr std::int64_t kMonitorPressureHoldMs = 60'000;
// A growth step must buy at least this share of its proportional throughput gain; a shrink
// step may cost at most this share of its proportional loss. Between the two a period's
// noise (±10 % on this machine) rarely flips a verdict.
constexpr double kGrowthMustPay = 0.25;
constexpr double kShrinkMayCost = 0.5;

}  // namespace

TokenController::TokenController(Options options) : options_(options) {}

std::int64_t TokenController::judgeTrial(double x, std::int64_t cur, std::int64_t now_ms) {
  const Trial t = trial_;
  trial_ = {};
  if (t.kind == Trial::Kind::kNone || t.throughput <= 0 || t.from <= 0 || cur == t.from) return 0;
  const double step = std::abs(static_cast<double>(cur - t.from)) / static_cast<double>(t.from);
  if (t.kind == Trial::Kind::kGrow) {
    const double gain = (x - t.throughput) / t.throughput;
    if (gain >= kGrowthMustPay * step) return 0;  // more concurrency bought throughput
    ceiling_ = t.from;
    ceiling_until_ms_ = now_ms + kLimitHoldMs;
    return t.from;
  }
  const double loss = (t.throughput - x) / t.throughput;
  if (loss <= kShrinkMayCost * step) {  // the tokens we gave back were only queueing
    if (loss <= 0.1 * step) shrink_step_ = std::min(0.5, shrink_step_ * 1.5);
    ceiling_ = cur;
    ceiling_until_ms_ = now_ms + kLimitHoldMs;
    return 0;
  }
  shrink_floor_ = t.from;
  shrink_floor_until_ms_ = now_ms + kLimitHoldMs;
  shrink_step_ = 0.2;
  return t.from;
}

ControlDecision TokenController::update(const ControlSample& s, std::int64_t cur) {
  const std::int64_t hard_max = std::max<std::int64_t>(options_.hard_max, 1);
  auto clampTarget = [&](std::int64_t t, std::int64_t floor) {
    return std::clamp<std::int64_t>(t, std::min(floor, hard_max), hard_max);
  };
  if (options_.fixed_target > 0) return {clampTarget(options_.fixed_target, 1), ControlMode::kFixed};
  if (s.active_targets == 0) {
    trial_ = {};
    previous_active_ = 0;
    return {clampTarget(kIdleFloor, 1), ControlMode::kIdle};
  }
  cur = std::max<std::int64_t>(cur, 1);
  const double x = static_cast<double>(s.completed) / std::max(s.period_s, 0.001);
  const double latency = s.successes > 0 ? s.success_latency_s : 0;

  // Pressure that is not the sites' doing. Failures: a quarter of at least 1 000 results
  // (timeouts must never size concurrency up). Monitor: our own losses above 1 % of the
  // checks (at least 20) or an event loop a quarter of a second behind.
  if (s.completed >= 1000 && s.failures * 4 >= s.completed)
    failure_pressure_until_ms_ = s.now_ms + kFailurePressureHoldMs;
  if (s.monitor_faults >= std::max<std::int64_t>(20, s.completed / 100) || s.loop_lag_ms >= 250)
    monitor_pressure_until_ms_ = s.now_ms + kMonitorPressureHoldMs;

  // Pre-warm: a large activation (the fleet at least doubled, by 10 000 targets or more)
  // starts at the concurrency a one-second latency would need instead of ramping up from the
  // floor in damped steps; dispatch pacing, not the token limit, sets the actual rate.
  const bool activation =
      s.active_targets >= 2 * previous_active_ && s.active_targets - previous_active_ >= 10'000;
  previous_active_ = s.active_targets;
  if (activation) {
    trial_ = {};
    const auto warm = static_cast<std::int64_t>(std::ceil(s.required_rate * kBootstrapLatencyS * kHeadroom)) + 1;
    return {clampTarget(std::max(cur, warm), kFloor), ControlMode::kSteady};
  }

  if (monitorPressure(s.now_ms)) {
    // Shed a quarter per period, down to the concurrency the current throughput uses at its
    // observed latency: the headroom goes (it is what bursts), the throughput stays. Below that
    // shedding would only cut the rate, and when the pressure comes from outside (other
    // processes starving the machine) it would not relieve anything. What we shed is not
    // probed back until the pressure is gone.
    trial_ = {};
    ceiling_ = std::min(ceiling(s.now_ms) > 0 ? ceiling_ : cur, cur);
    ceiling_until_ms_ = monitor_pressure_until_ms_ + kLimitHoldMs;
    const double in_use = latency > 0 ? x * latency : s.mean_in_flight;
    const auto keep = std::max<std::int64_t>(kFloor, static_cast<std::int64_t>(std::ceil(in_use)) + 1);
    const std::int64_t shed = std::max(keep, cur - std::max<std::int64_t>(cur / 4, 1));
    return {clampTarget(std::min(cur, shed), kFloor), ControlMode::kMonitorPressure};
  }
  // A sample that covers three periods or more was taken by a starved loop: its rates are
  // averages over a stall. Change nothing on it.
  if (s.period_s >= 15) {
    trial_ = {};
    return {clampTarget(cur, kFloor), ControlMode::kSteady};
  }

  const bool failing = failurePressure(s.now_ms);
  const bool behind = static_cast<double>(s.pending) > s.required_rate * 2 || s.max_lag_ms > 10'000;
  // The tokens are the limit only if they are in use and dispatch is not held elsewhere.
  const bool token_bound = !s.paused && s.mean_in_flight >= 0.8 * static_cast<double>(cur);

  // Judge last period's step first: it may send us back.
  if (!failing) {
    if (const std::int64_t back = judgeTrial(x, cur, s.now_ms); back > 0)
      return {clampTarget(back, kFloor), ControlMode::kSaturated};
  } else {
    trial_ = {};
  }

  // Little's law on successful latency (never on failures), for the fleet's rate plus, while
  // behind and not failing, paying the pending backlog back over a minute.
  double latency_in = failing ? kPressureLatencyS : latency > 0 ? latency : kBootstrapLatencyS;
  latency_in = std::clamp(latency_in, kPressureLatencyS, std::max(options_.timeout_s, kPressureLatencyS));
  const double demand = s.required_rate + (behind && !failing ? static_cast<double>(s.pending) / 60.0 : 0.0);
  auto want = static_cast<std::int64_t>(std::ceil(demand * latency_in * kHeadroom)) + 1;
  ControlMode mode = failing ? ControlMode::kFailurePressure : behind ? ControlMode::kCatchUp : ControlMode::kSteady;

  const std::int64_t limit = ceiling(s.now_ms);
  if (want > cur) {
    if (!token_bound || failing) {
      want = cur;  // more tokens would sit idle (or feed a timeout storm)
    } else if (limit > 0 && cur >= limit) {
      // Growth stopped paying here. While behind, try giving tokens back instead: if the
      // throughput holds, they were only queueing (ours or the targets').
      want = cur;
      mode = ControlMode::kSaturated;
      const bool floor_holds = s.now_ms < shrink_floor_until_ms_ && cur <= shrink_floor_;
      if (behind && !floor_holds && cur > kFloor) {
        want = std::max<std::int64_t>(
            kFloor, cur - std::max<std::int64_t>(static_cast<std::int64_t>(static_cast<double>(cur) * shrink_step_), 1));
        if (s.now_ms < shrink_floor_until_ms_) want = std::max(want, shrink_floor_);
        if (want < cur) trial_ = {Trial::Kind::kShrink, cur, x};
      }
    } else {
      want = std::min(want, cur + std::max<std::int64_t>(cur / 2, 50));
      if (limit > 0) want = std::min(want, limit);
      if (behind && want > cur) trial_ = {Trial::Kind::kGrow, cur, x};
    }
  } else if (want < cur) {
    want = std::max(want, cur - std::max<std::int64_t>(cur / 5, 50));
  }
  return {clampTarget(want, kFloor), mode};
}

}  // namespace tidewatch
