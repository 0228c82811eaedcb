// Runner: builds the stages and the graph from a validated Config and drives them.
//
// The dispatcher is a timer chain on the EventLoop (one tick at a time, so the TargetTable,
// the DueWheel and the pending list need no locks). Each tick it:
//   1. merges a fleet snapshot the source delivered, if any;
//   2. reschedules checks that were routed since the last tick;
//   3. pops due targets from the wheel into `pending`;
//   4. unless the DispatchGate holds dispatch (result backlog, side-effect backlog), submits a
//      budget of pending checks computed from wall-clock time elapsed (so a backlog never
//      leaves in one burst);
//   5. measures a slice of the fleet's freshness (FreshnessSampler);
//   6. every control period (5 s) asks the TokenController for the token target, tells the
//      source whether it is under pressure (periodic reloads wait), and logs a summary line
//      every summary interval. pipeline/control.h holds the decisions.
//
// Lifecycle: start() → requestStop() stops dispatching → drain() lets in-flight checks
// finish (bounded by their deadlines), flushes the sinks and notifiers, stops the source.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "pipeline/config.h"
#include "pipeline/control.h"
#include "pipeline/due_wheel.h"
#include "pipeline/freshness.h"
#include "core/event_loop.h"
#include "pipeline/graph.h"
#include "core/metrics.h"
#include "pipeline/registry.h"
#include "pipeline/target_table.h"

namespace tidewatch {

struct RunnerStats {
  std::int64_t targets = 0;
  double required_rate = 0;        // checks/s the fleet needs (Σ 1/cadence)
  double checks_per_s = 0;         // completed over the last summary interval
  std::int64_t in_flight = 0;
  std::int64_t token_target = 0;
  std::int64_t token_max = 0;
  std::int64_t pending = 0;        // due but not yet dispatched (dispatcher + due queue)
  std::int64_t max_lag_ms = 0;     // worst dispatch delay past due, last summary interval
  std::int64_t dispatched = 0;
  std::int64_t completed = 0;
  std::int64_t routed = 0;
  std::int64_t failures = 0;
  std::int64_t monitor_faults = 0; // checks lost to the monitor's own limits (Unknown)
  std::int64_t stale_results = 0;  // results for targets removed while in flight
  std::int64_t result_backlog = 0;
  std::int64_t side_effect_rows = 0;
  double side_effect_fill = 0;     // the fullest stage's share of its bound
  bool paused = false;
  std::string pause_cause = "none";
  std::string control_mode = "steady";
  bool monitor_pressure = false;
  // Lateness (dispatch time − due time), seconds, over the last summary interval.
  double lateness_p50_s = 0, lateness_p99_s = 0, lateness_max_s = 0;
  // Freshness of the whole fleet (the last full pass of the sampler).
  double age_p50_s = 0, age_p99_s = 0, age_max_s = 0;
  std::int64_t stale_targets = 0;
  std::int64_t never_checked = 0;
};

class Runner final : private GraphHooks, private TargetListener {
 public:
  // `asio`: the Asio side of `loop` for stages that do network I/O (StageContext::asio).
  Runner(Config config, const StageRegistry& registry, EventLoop& loop, Metrics& metrics,
         io::AsioEventLoop* asio = nullptr);
  ~Runner() override;

  void start();
  void requestStop();
  // Waits for in-flight checks (at most `limit`), flushes sinks and notifiers, stops the
  // source. Returns false if checks were still in flight when the limit passed.
  bool drain(std::chrono::milliseconds limit);
  // SIGHUP: applies scheduler/token/log settings; stage changes need a restart (logged).
  void reload(const Config& config);

  RunnerStats stats() const;
  std::string summaryLine() const;
  const Config& config() const { return config_; }

 private:
  struct Pending {
    std::uint32_t slot;
    std::uint64_t id;
    std::int64_t due_s;
  };

  void onRouted(const CheckPtr& check) override;
  void replaceFleet(std::vector<Target> fleet) override;

  // Side effects queued after routing, over every sink and notifier: total rows, and the
  // fullest stage's share of its own bound.
  void sideEffects(std::int64_t& rows, double& fill) const;

  void scheduleTick();
  void tick(std::int64_t now_ms);
  void applyFleet(std::vector<Target>&& fleet, std::int64_t now_s);
  void reschedule(const CheckPtr& check, std::int64_t now_ms);
  void dispatch(std::int64_t budget, std::int64_t now_ms);
  void prefetch(std::int64_t now_s);
  void runController(std::int64_t now_ms, const GraphCounters& c);
  void publishStats(const GraphCounters& c, std::int64_t now_ms);
  void countOutcome(const Check& check);

  Config config_;
  const StageRegistry& registry_;
  EventLoop& loop_;
  Metrics& metrics_;
  std::unique_ptr<StageContext> ctx_;

  std::unique_ptr<TargetSource> source_;
  std::unique_ptr<Probe> probe_;
  std::unique_ptr<Classifier> classifier_;
  std::vector<std::unique_ptr<Sink>> sinks_;
  std::vector<std::unique_ptr<Notifier>> notifiers_;
  std::unique_ptr<PipelineGraph> graph_;

  // Dispatcher state (timer chain only).
  TargetTable table_;
  DueWheel wheel_;
  std::deque<Pending> pending_;
  std::uint64_t seq_ = 0;
  std::int64_t last_tick_ms_ = 0;
  std::int64_t prefetched_until_s_ = 0;  // wheel seconds already announced to the probe
  std::int64_t last_controller_ms_ = 0;
  std::int64_t last_summary_ms_ = 0;
  std::int64_t summary_completed_ = 0;
  std::int64_t interval_max_lag_ms_ = 0;
  std::int64_t max_lag_now_ms_ = 0;
  std::unique_ptr<EventLoop::Timer> timer_;
  std::mutex tick_mu_;  // a tick and drain()'s final bookkeeping never overlap

  // The control loop (pipeline/control.h) and its period's measurements (tick thread).
  DispatchGate gate_;
  PauseCause last_cause_ = PauseCause::kNone;
  TokenController controller_;
  ControlMode control_mode_ = ControlMode::kSteady;
  double period_in_flight_sum_ = 0;
  std::int64_t period_ticks_ = 0;
  double period_loop_lag_ms_ = 0;
  std::int64_t timer_armed_ms_ = 0;  // when the next tick's timer was set
  ProbeHealth last_health_;
  FreshnessSampler freshness_;
  Histogram& lateness_;
  Histogram::Snapshot lateness_at_summary_;

  // Controller window (written by onRouted on TBB threads).
  std::atomic<std::int64_t> window_success_{0}, window_success_ms_{0}, window_results_{0},
      window_failures_{0}, window_monitor_faults_{0};

  // Inboxes from other threads.
  std::mutex inbox_mu_;
  std::vector<CheckPtr> routed_inbox_;
  std::optional<std::vector<Target>> fleet_inbox_;

  std::atomic<bool> stopping_{false};
  std::atomic<bool> started_{false};
  std::atomic<bool> monitor_pressure_{false};  // read by reschedule's follow-up rule
  std::atomic<std::int64_t> failures_{0}, monitor_faults_{0}, stale_results_{0};

  mutable std::mutex stats_mu_;
  RunnerStats stats_;

  // Exported metrics (names: Jetmon's streaming set, compat §11.6; catalog in app/).
  struct Gauges;
  struct Counters;
  std::unique_ptr<Gauges> gauges_;
  std::unique_ptr<Counters> counters_;
};

// When a failing check's follow-up is due (whole seconds): `retry_interval_s` after the
// failing check was dispatched, but never before `now_s` (the result's routing).
std::int64_t followUpDue(std::int64_t dispatched_at_ms, std::int64_t now_s, int retry_interval_s);

// The in-flight hard maximum for "automatic": what the open-files limit leaves room for.
std::int64_t automaticTokenMax();

}  // namespace tidewatch
