// The streaming control loop's decisions, as pure functions of what the runner measured, so
// that they can be tested on a fake clock with synthetic traces (tests/pipeline/control_test).
//
//   DispatchGate    — whether new dispatch waits: result backlog, side-effect backlog,
//                     monitor pressure; with hysteresis, and never while nothing is in flight
//                     for the result rule (a result backlog drains by itself).
//   dispatchBudget  — how many pending checks one tick may hand to the graph.
//   TokenController — the in-flight target every control period (5 s).
//
// Not thread-safe: the runner calls them from its dispatcher tick only. No clock is read
// here; every input carries its time.
#pragma once

#include <cstdint>
#include <string_view>

namespace tidewatch {

// ---- pause rule ---------------------------------------------------------------------------

enum class PauseCause : std::uint8_t { kNone, kResultBacklog, kSideEffectBacklog };
std::string_view toString(PauseCause cause);

struct GateInputs {
  std::int64_t active_targets = 0;
  std::int64_t token_target = 0;
  std::int64_t in_flight = 0;
  std::int64_t queued = 0;           // in the graph's due queue
  std::int64_t result_backlog = 0;   // completed − routed
  // Side effects: the fullest stage's fill ratio of its own bound (rows or bytes, whichever
  // is fuller), and the rows queued after routing in every sink, writer and notifier.
  double side_effect_fill = 0;
  std::int64_t side_effect_rows = 0;
};

class DispatchGate {
 public:
  // Result rule: the reference settled on active/3 (compat §11.4); a floor so that small
  // fleets are not paused by a few hundred results, a ceiling so memory stays bounded.
  static std::int64_t resultThreshold(std::int64_t active_targets, std::int64_t token_target);
  // Side-effect rule on rows (each stage's own bound in rows and bytes is the other rule).
  static std::int64_t sideEffectThreshold(std::int64_t active_targets, std::int64_t token_target);
  // A stage's queue at this share of its bound pauses dispatch; below kResumeFill it resumes.
  static constexpr double kPauseFill = 0.8;
  static constexpr double kResumeFill = 0.5;

  // Returns the cause that holds dispatch now (kNone = dispatch). A cause that started a
  // pause ends only below half of its threshold (hysteresis).
  PauseCause evaluate(const GateInputs& in);
  PauseCause cause() const { return cause_; }

 private:
  PauseCause cause_ = PauseCause::kNone;
};

// ---- dispatch budget ----------------------------------------------------------------------

struct BudgetInputs {
  double required_rate = 0;     // checks/s (Σ 1/cadence)
  double elapsed_s = 0;         // wall time since the previous tick
  std::int64_t pending = 0;     // due, not yet submitted
  std::int64_t token_target = 0;
  std::int64_t queued = 0;      // already in the graph's due queue
  std::int64_t max_lag_ms = 0;  // how late the oldest pending check is
  std::int64_t result_backlog = 0;
};

// The reference's streaming budget (compat §11.4): the required rate over the elapsed
// wall-clock time with 25 % headroom plus a slice of the backlog, capped at twice the rate so
// that a backlog is paid back gradually (faster once lag passes a minute), and never more
// than the due queue in front of the tokens has room for.
std::int64_t dispatchBudget(const BudgetInputs& in);

// ---- token controller ---------------------------------------------------------------------

// What the runner measured over one control period.
struct ControlSample {
  std::int64_t now_ms = 0;
  double period_s = 5;              // wall time the sample covers
  double required_rate = 0;         // checks/s the fleet needs
  std::int64_t active_targets = 0;
  std::int64_t completed = 0;       // checks completed in the period
  std::int64_t successes = 0;
  double success_latency_s = 0;     // mean over successful checks (0 = none)
  std::int64_t failures = 0;
  // Self-inflicted loss in the period: drops on our own resolver sockets, our own DNS
  // timeouts across the fleet, connect errors from local resource limits. Never the sites'.
  std::int64_t monitor_faults = 0;
  double loop_lag_ms = 0;           // worst event-loop (dispatcher tick) lag in the period
  double mean_in_flight = 0;        // average checks in flight over the period
  std::int64_t pending = 0;         // due, not dispatched (now)
  std::int64_t max_lag_ms = 0;      // lateness of the oldest pending check (now)
  bool paused = false;              // dispatch was held by a backlog at the end of the period
};

enum class ControlMode : std::uint8_t {
  kFixed,            // tokens.target set by the operator
  kIdle,             // no targets: a small floor
  kSteady,           // Little's law on successful latency, keeping up
  kCatchUp,          // behind: grow while more concurrency buys throughput
  kSaturated,        // more concurrency stopped buying throughput: hold or shrink
  kFailurePressure,  // many failures: latency input pinned low, no growth from timeouts
  kMonitorPressure,  // our own losses or loop lag: shed concurrency
};
std::string_view toString(ControlMode mode);

struct ControlDecision {
  std::int64_t target = 0;
  ControlMode mode = ControlMode::kSteady;
};

class TokenController {
 public:
  struct Options {
    std::int64_t hard_max = 1024;
    std::int64_t fixed_target = 0;  // > 0: tokens.target
    double timeout_s = 10;          // probe.default_timeout_s: latency input ceiling
  };

  // Floor while targets are loaded (Jetmon's NUM_WORKERS default) and while idle.
  static constexpr std::int64_t kFloor = 60;
  static constexpr std::int64_t kIdleFloor = 8;
  // Little's law headroom over successful latency (the reference settled on 2×).
  static constexpr double kHeadroom = 2.0;
  // Latency assumed for a fleet whose checks have not reported yet (pre-warm), and the
  // latency input while failures dominate (never size from timeouts).
  static constexpr double kBootstrapLatencyS = 1.0;
  static constexpr double kPressureLatencyS = 0.25;

  explicit TokenController(Options options);
  // SIGHUP: new options; what was learned (ceilings, pressure, the fleet size) stays.
  void configure(Options options) { options_ = options; }

  ControlDecision update(const ControlSample& s, std::int64_t current_target);

  // While true, failing checks go back to their normal cadence instead of fast follow-ups
  // (the seed's failure-pressure rule): the monitor is not sure the failures are the sites'.
  bool monitorPressure(std::int64_t now_ms) const { return now_ms < monitor_pressure_until_ms_; }
  bool failurePressure(std::int64_t now_ms) const { return now_ms < failure_pressure_until_ms_; }
  // The concurrency above which more tokens stopped buying throughput (0 = none known).
  std::int64_t ceiling(std::int64_t now_ms) const { return now_ms < ceiling_until_ms_ ? ceiling_ : 0; }

 private:
  // A step whose effect on throughput is judged one period later (hill climbing on
  // concurrency → completed checks/s).
  struct Trial {
    enum class Kind : std::uint8_t { kNone, kGrow, kShrink } kind = Kind::kNone;
    std::int64_t from = 0;     // the target before the step
    double throughput = 0;     // completed/s at `from`
  };
  // Judges the step taken last period; may return the target to go back to (or 0).
  std::int64_t judgeTrial(double throughput, std::int64_t cur, std::int64_t now_ms);

  Options options_;
  Trial trial_;
  std::int64_t previous_active_ = 0;
  std::int64_t failure_pressure_until_ms_ = 0;
  std::int64_t monitor_pressure_until_ms_ = 0;
  // Growth above `ceiling_` stopped buying throughput; shrinking below `floor_` cost it.
  std::int64_t ceiling_ = 0;
  std::int64_t ceiling_until_ms_ = 0;
  std::int64_t shrink_floor_ = 0;
  // Share of the target a shrink trial gives back: 1/5, growing while trials cost nothing
  // (a pre-warmed target far above the saturation point comes down in a few periods).
  double shrink_step_ = 0.2;
  std::int64_t shrink_floor_until_ms_ = 0;
};

}  // namespace tidewatch
