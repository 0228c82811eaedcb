// The control loop on a fake clock with synthetic traces (issue 11 §7): a fleet activated at
// once, a latency spike at the sites, a timeout storm, our own losses, a database that stalls,
// delayed ticks, and a target that saturates (latency grows with concurrency at flat
// throughput). Each trace asserts bounds, damping, and where pauses start and end.
#include "pipeline/control.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <vector>

namespace tidewatch {
namespace {

constexpr double kPeriod = 5.0;
constexpr std::int64_t kHardMax = 14616;

// A plant: `required` checks/s are due; the machine (or the target) completes at most
// `capacity` checks/s; each check takes `latency` seconds unqueued. With N tokens in use the
// throughput is min(N / latency, capacity) and the observed latency N / throughput, so
// concurrency above capacity × latency is pure queueing.
struct Plant {
  double required;
  double capacity;
  double latency;
  double pending = 0;
  std::int64_t active = 1'000'000;
  std::int64_t now_ms = 0;

  ControlSample step(std::int64_t tokens, double period = kPeriod) {
    now_ms += static_cast<std::int64_t>(period * 1000);
    const double offered = pending + required * period;
    const auto t = static_cast<double>(tokens);
    const double x = std::min({offered / period, t / latency, capacity});
    // Saturated: every token is taken and waits its turn; otherwise Little's law.
    const bool saturated = x >= capacity && x < offered / period;
    const double n = saturated ? t : std::min(t, x * latency);
    pending = std::max(0.0, offered - x * period);
    ControlSample s;
    s.now_ms = now_ms;
    s.period_s = period;
    s.required_rate = required;
    s.active_targets = active;
    s.completed = static_cast<std::int64_t>(x * period);
    s.successes = s.completed;
    s.success_latency_s = x > 0 ? n / x : latency;
    s.mean_in_flight = n;
    s.pending = static_cast<std::int64_t>(pending);
    s.max_lag_ms = required > 0 ? static_cast<std::int64_t>(pending / required * 1000) : 0;
    return s;
  }
};

// Runs `periods` control periods; returns every decision's target.
std::vector<std::int64_t> run(TokenController& c, Plant& plant, std::int64_t& target, int periods,
                              std::vector<double>* throughput = nullptr) {
  std::vector<std::int64_t> targets;
  for (int i = 0; i < periods; ++i) {
    ControlSample s = plant.step(target);
    if (throughput) throughput->push_back(static_cast<double>(s.completed) / kPeriod);
    target = c.update(s, target).target;
    targets.push_back(target);
  }
  return targets;
}

// The controller already knows this fleet (a first sample of a large fleet pre-warms).
void prime(TokenController& c, const Plant& plant) {
  ControlSample s;
  s.now_ms = plant.now_ms;
  s.active_targets = plant.active;
  s.required_rate = plant.required;
  c.update(s, 60);
}

// Up by at most half (50 at small sizes), down by at most half per period — or straight
// back to where the previous period started (a trial step that did not pay is undone).
void expectDamped(const std::vector<std::int64_t>& targets, std::int64_t start) {
  std::int64_t before = start, prev = start;
  for (std::size_t i = 0; i < targets.size(); ++i) {
    const std::int64_t t = targets[i];
    if (t != before) {
      EXPECT_LE(t, prev + std::max<std::int64_t>(prev / 2, 50)) << "period " << i;
      EXPECT_GE(t, prev - prev / 2) << "period " << i;
    }
    before = prev;
    prev = t;
  }
}

TEST(TokenController, SaturatedTargetHoldsItsThroughputWithoutATokenRunaway) {
  // 2 000 000 five-minute sites want 7 018 checks/s; the machine carries 5 000.
  Plant plant{7018, 5000, 0.05};
  TokenController c({kHardMax, 0, 10});
  prime(c, plant);
  std::int64_t target = 240;
  std::vector<double> x;
  auto targets = run(c, plant, target, 120, &x);  // ten minutes
  expectDamped(targets, 240);
  const std::int64_t peak = *std::max_element(targets.begin(), targets.end());
  EXPECT_LT(peak, 1000) << "tokens ran away although concurrency stopped buying throughput";
  double sum = 0;
  for (std::size_t i = 60; i < x.size(); ++i) sum += x[i];
  EXPECT_GE(sum / static_cast<double>(x.size() - 60), 0.9 * 5000) << "throughput left on the table";
  EXPECT_GT(c.ceiling(plant.now_ms - 1), 0) << "the saturation point is remembered";
}

TEST(TokenController, QueueingLatencyShrinksTokensBackToWhatTheThroughputNeeds) {
  // Someone left the target at 6 000: every extra token only queues (latency 1.2 s at 5 000/s).
  Plant plant{7018, 5000, 0.05};
  TokenController c({kHardMax, 0, 10});
  prime(c, plant);
  std::int64_t target = 240;
  run(c, plant, target, 6);  // learn the unqueued latency at this throughput
  target = 6000;
  auto targets = run(c, plant, target, 24);
  expectDamped(targets, 6000);
  EXPECT_LT(targets.back(), 1000);
}

TEST(TokenController, LatencySpikeAtTheSitesBuysConcurrencyWithinDampingAndReturns) {
  Plant plant{3509, 1e9, 0.1};  // one million five-minute sites, no saturation
  TokenController c({kHardMax, 0, 10});
  prime(c, plant);
  std::int64_t target = 1756;
  run(c, plant, target, 12);
  const std::int64_t steady = target;
  EXPECT_LE(steady, 1800);
  plant.latency = 2.0;  // the sites slow down for a minute
  auto spike = run(c, plant, target, 12);
  expectDamped(spike, steady);
  EXPECT_GT(*std::max_element(spike.begin(), spike.end()), 3 * steady) << "slow sites need more concurrency";
  plant.latency = 0.1;
  auto after = run(c, plant, target, 36);
  expectDamped(after, spike.back());
  EXPECT_LE(after.back(), steady * 12 / 10) << "back near the steady target within three minutes";
  EXPECT_LT(plant.pending, 3509) << "the backlog was paid back";
}

TEST(TokenController, FortyPercentTimeoutsNeverRaiseTokens) {
  TokenController c({kHardMax, 0, 10});
  prime(c, Plant{3509, 1e9, 0.1});
  std::int64_t target = 1756;
  std::int64_t now = 0;
  for (int i = 0; i < 36; ++i) {
    ControlSample s;
    s.now_ms = now += 5000;
    s.required_rate = 3509;
    s.active_targets = 1'000'000;
    s.completed = 17'500;
    s.failures = 7'000;  // 40 %: timeouts at 10 s hold their tokens
    s.successes = 10'500;
    s.success_latency_s = 0.1;
    s.mean_in_flight = static_cast<double>(target);  // every token busy with timeouts
    s.pending = 20'000;
    s.max_lag_ms = 6'000;
    ControlDecision d = c.update(s, target);
    EXPECT_LE(d.target, 1756) << "period " << i;
    EXPECT_EQ(d.mode, ControlMode::kFailurePressure);
    target = d.target;
  }
  EXPECT_TRUE(c.failurePressure(now));
  EXPECT_FALSE(c.failurePressure(now + 121'000));
}

TEST(TokenController, OurOwnLossesShedConcurrencyUntilTheyStop) {
  TokenController c({kHardMax, 0, 10});
  Plant plant{3509, 1e9, 0.1};
  prime(c, plant);
  std::int64_t target = 4000;
  std::vector<std::int64_t> targets;
  for (int i = 0; i < 6; ++i) {
    ControlSample s = plant.step(target);
    s.monitor_faults = s.completed / 20;  // 5 % of checks lost on our own sockets
    ControlDecision d = c.update(s, target);
    EXPECT_EQ(d.mode, ControlMode::kMonitorPressure);
    EXPECT_LE(d.target, target - target / 4 + 1);
    target = d.target;
  }
  EXPECT_TRUE(c.monitorPressure(plant.now_ms));
  // The losses stop; pressure holds a minute, and growth stays under the remembered ceiling.
  const std::int64_t shed = target;
  ControlSample quiet = plant.step(target);
  EXPECT_EQ(c.update(quiet, target).mode, ControlMode::kMonitorPressure);
  EXPECT_FALSE(c.monitorPressure(plant.now_ms + 61'000));
  EXPECT_LT(shed, 4000 / 4);
}

TEST(TokenController, PressureFromOutsideNeverCutsTheThroughputItCarries) {
  // Other processes starve the machine: the event loop is 400 ms late every period. Shedding
  // takes the headroom away, but never the concurrency the fleet's rate uses.
  TokenController c({kHardMax, 0, 10});
  Plant plant{3509, 1e9, 0.1};
  prime(c, plant);
  std::int64_t target = 1756;
  std::vector<double> x;
  for (int i = 0; i < 60; ++i) {
    ControlSample s = plant.step(target);
    x.push_back(static_cast<double>(s.completed) / kPeriod);
    s.loop_lag_ms = 400;
    ControlDecision d = c.update(s, target);
    EXPECT_EQ(d.mode, ControlMode::kMonitorPressure);
    EXPECT_GE(d.target, static_cast<std::int64_t>(3509 * 0.1)) << "period " << i;
    target = d.target;
  }
  for (std::size_t i = 10; i < x.size(); ++i) EXPECT_GE(x[i], 3509 * 0.98) << "period " << i;
  EXPECT_LT(plant.pending, 3509 * 2.0);
}

TEST(TokenController, LoopLagIsMonitorPressure) {
  TokenController c({kHardMax, 0, 10});
  Plant plant{3509, 1e9, 0.1};
  prime(c, plant);
  ControlSample s = plant.step(2000);
  s.loop_lag_ms = 400;
  EXPECT_EQ(c.update(s, 2000).mode, ControlMode::kMonitorPressure);
}

TEST(TokenController, LargeActivationPrewarmsThenSettlesInDampedSteps) {
  TokenController c({kHardMax, 0, 10});
  ControlSample idle;
  idle.now_ms = 5000;
  EXPECT_EQ(c.update(idle, 240).target, TokenController::kIdleFloor);
  Plant plant{3509, 1e9, 0.05};
  std::int64_t target = TokenController::kIdleFloor;
  ControlSample first = plant.step(target);
  first.successes = 0;  // nothing has completed yet
  first.completed = 0;
  ControlDecision d = c.update(first, target);
  EXPECT_GE(d.target, 7000) << "a million sites start at the one-second-latency concurrency";
  EXPECT_LE(d.target, kHardMax);
  target = d.target;
  auto targets = run(c, plant, target, 24);
  expectDamped(targets, d.target);
  EXPECT_LE(targets.back(), 1800) << "settled on Little's law at the measured latency";
}

TEST(TokenController, APrewarmAboveTheSaturationPointComesDownWithinAMinute) {
  // Two million sites on a machine that carries 5 000 checks/s at 50 ms: the pre-warm
  // (14 037 tokens) is 56 times what the machine can use.
  TokenController c({kHardMax, 0, 10});
  Plant plant{7018, 5000, 0.05};
  plant.active = 2'000'000;
  std::int64_t target = TokenController::kIdleFloor;
  ControlSample first = plant.step(target);
  target = c.update(first, target).target;
  EXPECT_GE(target, 14000);
  auto targets = run(c, plant, target, 12);
  expectDamped(targets, 14037);
  EXPECT_LE(targets.back(), 4 * 250) << "near capacity × unqueued latency after a minute";
}

TEST(TokenController, DelayedTicksChangeNothingButPressure) {
  TokenController c({kHardMax, 0, 10});
  Plant plant{3509, 1e9, 0.5};
  prime(c, plant);
  std::int64_t target = 1000;
  ControlSample late = plant.step(target, 40.0);  // the loop was starved for 40 s
  late.pending = 200'000;
  late.max_lag_ms = 40'000;
  EXPECT_EQ(c.update(late, target).target, target) << "no growth from an average over a stall";
}

TEST(TokenController, PausedDispatchDoesNotGrowTokens) {
  // The database stalls: side effects back up, dispatch is paused, in-flight drains.
  TokenController c({kHardMax, 0, 10});
  prime(c, Plant{3509, 1e9, 0.1});
  std::int64_t target = 1756;
  std::int64_t now = 0;
  for (int i = 0; i < 24; ++i) {
    ControlSample s;
    s.now_ms = now += 5000;
    s.required_rate = 3509;
    s.active_targets = 1'000'000;
    s.completed = i < 2 ? 17'000 : 0;
    s.successes = s.completed;
    s.success_latency_s = s.completed > 0 ? 0.1 : 0;
    s.mean_in_flight = i < 2 ? 1700 : 0;
    s.pending = 3509 * 5 * i;  // lateness grows while paused
    s.max_lag_ms = 5000 * i;
    s.paused = i >= 1;
    ControlDecision d = c.update(s, target);
    EXPECT_LE(d.target, 1756) << "period " << i;
    target = d.target;
  }
}

TEST(TokenController, FixedTargetAndBounds) {
  TokenController fixed({kHardMax, 500, 10});
  ControlSample s;
  s.active_targets = 10;
  EXPECT_EQ(fixed.update(s, 60).target, 500);
  EXPECT_EQ(fixed.update(s, 60).mode, ControlMode::kFixed);
  TokenController small({100, 0, 10});
  Plant plant{50'000, 1e9, 2.0};
  prime(small, plant);
  std::int64_t target = 60;
  auto targets = run(small, plant, target, 20);
  for (std::int64_t t : targets) EXPECT_LE(t, 100);
}

// ---- pause rule ---------------------------------------------------------------------------

TEST(DispatchGate, ResultBacklogPausesWithHysteresisAndNeverStarvesAnIdleGraph) {
  DispatchGate gate;
  GateInputs in;
  in.active_targets = 1'000'000;
  in.token_target = 2000;
  in.in_flight = 1500;
  const std::int64_t threshold = DispatchGate::resultThreshold(in.active_targets, in.token_target);
  EXPECT_EQ(threshold, 333'333);  // active/3
  in.result_backlog = threshold - 1;
  EXPECT_EQ(gate.evaluate(in), PauseCause::kNone);
  in.result_backlog = threshold;
  EXPECT_EQ(gate.evaluate(in), PauseCause::kResultBacklog);
  in.result_backlog = threshold * 6 / 10;  // still above half: stays paused
  EXPECT_EQ(gate.evaluate(in), PauseCause::kResultBacklog);
  in.result_backlog = threshold / 2 - 1;
  EXPECT_EQ(gate.evaluate(in), PauseCause::kNone);
  // Nothing in flight or queued: a result backlog never holds dispatch.
  in.result_backlog = threshold * 2;
  in.in_flight = 0;
  in.queued = 0;
  EXPECT_EQ(gate.evaluate(in), PauseCause::kNone);
}

TEST(DispatchGate, SideEffectBoundPausesAtEightyPercentAndResumesBelowHalf) {
  DispatchGate gate;
  GateInputs in;
  in.active_targets = 1'000'000;
  in.token_target = 2000;
  in.side_effect_fill = 0.79;
  EXPECT_EQ(gate.evaluate(in), PauseCause::kNone);
  in.side_effect_fill = 0.8;
  EXPECT_EQ(gate.evaluate(in), PauseCause::kSideEffectBacklog);
  in.side_effect_fill = 0.6;
  EXPECT_EQ(gate.evaluate(in), PauseCause::kSideEffectBacklog) << "hysteresis";
  in.side_effect_fill = 0.49;
  EXPECT_EQ(gate.evaluate(in), PauseCause::kNone);
  // Rows over the fleet-sized threshold pause too, even with nothing in flight: the bound
  // is on memory, which keeps growing with every further check's side effects.
  in.side_effect_fill = 0;
  in.side_effect_rows = DispatchGate::sideEffectThreshold(in.active_targets, in.token_target);
  EXPECT_EQ(gate.evaluate(in), PauseCause::kSideEffectBacklog);
}

// ---- dispatch budget ----------------------------------------------------------------------

TEST(DispatchBudget, NoBurstExceedsItsCap) {
  BudgetInputs in;
  in.required_rate = 3509;
  in.token_target = 2000;
  for (double elapsed : {0.1, 0.25, 1.0, 6.0, 30.0, 600.0}) {
    for (std::int64_t pending : {0LL, 10'000LL, 1'000'000LL}) {
      in.elapsed_s = elapsed;
      in.pending = pending;
      in.max_lag_ms = 0;
      const std::int64_t b = dispatchBudget(in);
      const double base = in.required_rate * std::min(elapsed, 6.0);
      EXPECT_LE(b, std::ceil(base * 2.0) + 1) << elapsed << " s, " << pending << " pending";
      EXPECT_LE(b, 2000 * 3);
      in.max_lag_ms = 120'000;  // catch-up: faster, still capped
      EXPECT_LE(dispatchBudget(in), std::ceil(base * 4.0) + 1);
      EXPECT_LE(dispatchBudget(in), 2000 * 6);
    }
  }
  in.elapsed_s = 0.1;
  in.pending = 100;
  in.max_lag_ms = 0;
  EXPECT_GE(dispatchBudget(in), static_cast<std::int64_t>(3509 * 0.1)) << "keeps up with the rate";
  in.queued = 4000;  // the due queue in front of the tokens is full
  EXPECT_EQ(dispatchBudget(in), 0);
}

}  // namespace
}  // namespace tidewatch
