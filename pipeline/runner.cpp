#include "pipeline/runner.h"

#include <spdlog/spdlog.h>
#include <sys/resource.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <thread>

#include "core/text.h"
#include "pipeline/runner_metrics.h"

namespace tidewatch {

namespace {

// Controller cadence: the reference recomputes its worker target every 5 s.
constexpr std::int64_t kControllerPeriodMs = 5000;
// A full freshness pass over the fleet every 10 s.
constexpr std::int64_t kFreshnessPassMs = 10'000;

}  // namespace

std::int64_t followUpDue(std::int64_t dispatched_at_ms, std::int64_t now_s, int retry_interval_s) {
  if (dispatched_at_ms <= 0) return now_s + retry_interval_s;  // no dispatch time: from now
  // A due time in the past means "the next tick" to the wheel.
  return std::max(now_s, dispatched_at_ms / 1000 + retry_interval_s);
}

std::int64_t automaticTokenMax() {
  rlimit rl{};
  std::int64_t files = 1024;
  if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY)
    files = static_cast<std::int64_t>(rl.rlim_cur);
  // One socket per in-flight check; keep a quarter (and 512) for the resolver, the database
  // pool, the admin server and logs.
  return std::clamp<std::int64_t>((files - 512) * 3 / 4, 64, 65536);
}

Runner::Runner(Config config, const StageRegistry& registry, EventLoop& loop, Metrics& metrics,
               io::AsioEventLoop* asio)
    : config_(std::move(config)),
      registry_(registry),
      loop_(loop),
      metrics_(metrics),
      wheel_(unixNowMs() / 1000),
      controller_({}),
      lateness_(metrics.histogram("scheduler.lateness", kLatenessBounds)) {
  ctx_ = std::make_unique<StageContext>(StageContext{config_, loop_, metrics_, asio});
  for (const auto& spec : config_.pipeline.notifiers) {
    notifiers_.push_back(registry_.create<Notifier>(spec, *ctx_));
    ctx_->notifiers.push_back(notifiers_.back().get());
  }
  source_ = registry_.create<TargetSource>(config_.pipeline.source, *ctx_);
  probe_ = registry_.create<Probe>(config_.pipeline.probe, *ctx_);
  classifier_ = registry_.create<Classifier>(config_.pipeline.classify, *ctx_);
  std::vector<PipelineGraph::SinkBinding> bindings;
  for (const auto& spec : config_.pipeline.sinks) {
    sinks_.push_back(registry_.create<Sink>(spec, *ctx_));
    bindings.push_back({sinks_.back().get(), spec.type});
  }

  std::int64_t hard_max = config_.tokens.max > 0 ? config_.tokens.max : automaticTokenMax();
  graph_ = std::make_unique<PipelineGraph>(*probe_, *classifier_, std::move(bindings), static_cast<GraphHooks&>(*this), hard_max,
                                          config_.runtime.tbb_threads);
  controller_ = TokenController({hard_max, config_.tokens.target, static_cast<double>(config_.probe.default_timeout_s)});
  std::int64_t initial = config_.tokens.target > 0 ? config_.tokens.target
                                                   : std::min(hard_max, TokenController::kFloor * 4);
  graph_->tokens().setTarget(initial);
  gauges_ = std::make_unique<Gauges>(metrics_);
  counters_ = std::make_unique<Counters>(metrics_);
}

Runner::~Runner() {
  requestStop();
  if (timer_) timer_->cancel();
  if (source_) source_->stop();
  graph_.reset();  // waits for in-flight work
}

void Runner::start() {
  if (started_.exchange(true)) return;
  source_->start(static_cast<TargetListener&>(*this));
  last_tick_ms_ = unixNowMs();
  last_controller_ms_ = last_tick_ms_;
  last_summary_ms_ = last_tick_ms_;
  scheduleTick();
}

void Runner::requestStop() { stopping_.store(true); }

void Runner::replaceFleet(std::vector<Target> fleet) {
  std::lock_guard lock(inbox_mu_);
  fleet_inbox_ = std::move(fleet);
}

void Runner::onRouted(const CheckPtr& check) {
  const Verdict& v = check->verdict;
  window_results_.fetch_add(1, std::memory_order_relaxed);
  if (v.failure) {
    window_failures_.fetch_add(1, std::memory_order_relaxed);
    failures_.fetch_add(1, std::memory_order_relaxed);
  } else if (v.success) {
    window_success_.fetch_add(1, std::memory_order_relaxed);
    window_success_ms_.fetch_add(check->result.timings.rtt_ms, std::memory_order_relaxed);
  } else if (v.monitor_fault) {
    window_monitor_faults_.fetch_add(1, std::memory_order_relaxed);
    monitor_faults_.fetch_add(1, std::memory_order_relaxed);
  }
  countOutcome(*check);
  std::lock_guard lock(inbox_mu_);
  routed_inbox_.push_back(check);
}

void Runner::scheduleTick() {
  if (stopping_.load()) return;
  timer_armed_ms_ = unixNowMs();
  timer_ = loop_.runAfter(std::chrono::milliseconds(config_.scheduler.tick_ms), [this] {
    if (stopping_.load()) return;
    tick(unixNowMs());
    scheduleTick();
  });
}

void Runner::applyFleet(std::vector<Target>&& fleet, std::int64_t now_s) {
  auto delta = table_.merge(std::move(fleet), [this](std::uint32_t slot) {
    return slot < wheel_.slotCount() && wheel_.isInFlight(slot);
  });
  wheel_.resize(table_.slotCapacity());
  for (std::uint32_t slot : delta.removed) wheel_.deactivate(slot);
  auto place = [&](std::uint32_t slot) {
    const Target& t = *table_.at(slot);
    std::uint32_t cadence = DueWheel::cadenceFor(t.interval_s);
    wheel_.schedule(slot, DueWheel::nextAligned(now_s, cadence, DueWheel::phaseFor(t.id, cadence)));
  };
  for (std::uint32_t slot : delta.added) {
    wheel_.deactivate(slot);  // a reused slot starts clean
    wheel_.markJoined(slot, now_s);
    place(slot);
  }
  for (std::uint32_t slot : delta.changed)
    if (!wheel_.isInFlight(slot) && !wheel_.isQueued(slot)) place(slot);
  if (!delta.added.empty() || !delta.changed.empty() || !delta.removed.empty())
    spdlog::info("fleet merged: {} targets ({} added, {} changed, {} removed, {} unchanged)",
                 table_.size(), delta.added.size(), delta.changed.size(), delta.removed.size(),
                 delta.unchanged);
}

void Runner::reschedule(const CheckPtr& check, std::int64_t now_ms) {
  const std::int64_t now_s = now_ms / 1000;
  std::uint32_t slot = check->request.slot;
  if (table_.retired(slot)) {  // removed from the fleet while this check was in flight
    table_.releaseRetired(slot);
    stale_results_.fetch_add(1, std::memory_order_relaxed);
    return;
  }
  if (!table_.live(slot) || table_.at(slot)->id != check->request.target->id) {
    stale_results_.fetch_add(1, std::memory_order_relaxed);
    return;
  }
  wheel_.markDone(slot, now_s);
  const Target& t = *table_.at(slot);
  std::uint32_t cadence = DueWheel::cadenceFor(t.interval_s);
  std::int64_t next = DueWheel::nextAligned(now_s + 1, cadence, DueWheel::phaseFor(t.id, cadence));
  if (check->verdict.failure) {
    int fails = std::min(255, wheel_.failures(slot) + 1);
    wheel_.setFailures(slot, static_cast<std::uint8_t>(fails));
    // Confirmation follow-ups run on the retry cadence until NUM_OF_CHECKS failures in a row;
    // after that the site returns to its normal cadence. The cadence counts from the previous
    // check's dispatch, not its completion: a check that spent its whole deadline timing out
    // is followed up as soon as it ends, so three local timeouts take 3 × deadline rather than
    // 3 × deadline + 2 × retry_interval (docs/incidents.md "Detection latency"). While the
    // monitor itself is losing checks (monitor pressure) failures keep their normal cadence:
    // fast retries would add load exactly when the monitor cannot carry it.
    bool follow_up = fails < config_.scheduler.num_of_checks && !monitor_pressure_.load(std::memory_order_relaxed);
    for (const auto& sink : sinks_) follow_up = follow_up && sink->allowFollowUp(*check);
    if (follow_up) next = std::min(next, followUpDue(check->request.dispatched_at_ms, now_s,
                                                     config_.scheduler.retry_interval_s));
  } else if (!check->verdict.monitor_fault) {
    wheel_.setFailures(slot, 0);  // a monitor fault says nothing: the count stands
  }
  wheel_.schedule(slot, next);
}

void Runner::sideEffects(std::int64_t& rows, double& fill) const {
  rows = 0;
  fill = 0;
  auto add = [&](const Backlog& b) {
    rows += b.rows;
    fill = std::max(fill, b.fill());
  };
  for (const auto& sink : sinks_) add(sink->backlog());
  for (const auto& n : notifiers_) add(n->backlog());
}

void Runner::dispatch(std::int64_t budget, std::int64_t now_ms) {
  while (budget > 0 && !pending_.empty()) {
    Pending p = pending_.front();
    pending_.pop_front();
    if (!table_.live(p.slot) || table_.at(p.slot)->id != p.id || !wheel_.isQueued(p.slot)) continue;
    auto check = std::make_shared<Check>();
    check->request.slot = p.slot;
    check->request.target = table_.at(p.slot);
    check->request.due_s = p.due_s;
    check->request.dispatched_at_ms = now_ms;
    check->request.attempt = wheel_.failures(p.slot);
    check->request.seq = seq_++;
    wheel_.markInFlight(p.slot);
    const std::int64_t late_ms = now_ms - p.due_s * 1000;
    interval_max_lag_ms_ = std::max(interval_max_lag_ms_, late_ms);
    lateness_.observe(static_cast<double>(std::max<std::int64_t>(late_ms, 0)) / 1000.0);
    graph_->submit(std::move(check));
    --budget;
  }
}

void Runner::prefetch(std::int64_t now_s) {
  const int ahead = config_.scheduler.prefetch_s;
  if (ahead <= 0) return;
  // Each wheel second is announced once, `ahead` seconds before it is due; a check scheduled
  // later than that into an announced second (a follow-up, a reload) is simply not prefetched.
  const std::int64_t until = now_s + ahead;
  std::int64_t second = std::max(prefetched_until_s_ + 1, now_s + 1);
  for (; second <= until; ++second)
    wheel_.forEachDueAt(second, [&](std::uint32_t slot) { probe_->prefetch(*table_.at(slot), second); });
  prefetched_until_s_ = until;
}

void Runner::tick(std::int64_t now_ms) {
  std::lock_guard tick_lock(tick_mu_);
  const std::int64_t now_s = now_ms / 1000;
  std::optional<std::vector<Target>> fleet;
  std::vector<CheckPtr> routed;
  {
    std::lock_guard lock(inbox_mu_);
    fleet.swap(fleet_inbox_);
    routed.swap(routed_inbox_);
  }
  if (fleet) applyFleet(std::move(*fleet), now_s);
  for (const CheckPtr& check : routed) reschedule(check, now_ms);
  routed.clear();

  wheel_.popDue(now_s, [&](std::uint32_t slot, std::int64_t due_s) {
    pending_.push_back({slot, table_.at(slot)->id, due_s});
  });

  GraphCounters c = graph_->counters();
  GateInputs gate;
  gate.active_targets = static_cast<std::int64_t>(table_.size());
  gate.token_target = graph_->tokens().target();
  gate.in_flight = c.in_flight;
  gate.queued = c.queued;
  gate.result_backlog = c.result_backlog;
  sideEffects(gate.side_effect_rows, gate.side_effect_fill);
  gate.side_effect_rows += c.sink_backlog;
  const PauseCause cause = gate_.evaluate(gate);

  const double elapsed_ms = static_cast<double>(now_ms - last_tick_ms_);
  // The tick is a timer on the event loop: how late it fires after it was set is the loop's
  // lag (the tick's own work is not: a long tick is measured by its budget, not here).
  period_loop_lag_ms_ = std::max(
      period_loop_lag_ms_, static_cast<double>(now_ms - timer_armed_ms_ - config_.scheduler.tick_ms));
  period_in_flight_sum_ += static_cast<double>(c.in_flight);
  ++period_ticks_;
  counters_->paused(cause, last_cause_, static_cast<std::int64_t>(elapsed_ms));
  last_cause_ = cause;
  last_tick_ms_ = now_ms;
  max_lag_now_ms_ = pending_.empty() ? 0 : std::max<std::int64_t>(0, now_ms - pending_.front().due_s * 1000);

  std::int64_t budget = 0;
  if (cause == PauseCause::kNone && !stopping_.load()) {
    BudgetInputs b;
    b.required_rate = table_.requiredRate();
    b.elapsed_s = elapsed_ms / 1000.0;
    b.pending = static_cast<std::int64_t>(pending_.size());
    b.token_target = gate.token_target;
    b.queued = c.queued;
    b.max_lag_ms = max_lag_now_ms_;
    b.result_backlog = c.result_backlog;
    budget = dispatchBudget(b);
    if (budget < b.pending) counters_->budget_limited->fetch_add(1, std::memory_order_relaxed);
  }
  dispatch(budget, now_ms);
  prefetch(now_s);

  const auto slice = static_cast<std::uint32_t>(std::max<std::int64_t>(
      1024, static_cast<std::int64_t>(wheel_.slotCount()) * config_.scheduler.tick_ms / kFreshnessPassMs + 1));
  if (auto pass = freshness_.step(wheel_, table_, now_s, now_ms, slice)) gauges_->freshness(*pass);

  if (now_ms - last_controller_ms_ >= kControllerPeriodMs) {
    runController(now_ms, c);
    last_controller_ms_ = now_ms;
  }
  c = graph_->counters();
  publishStats(c, now_ms);
  {
    std::lock_guard lock(stats_mu_);
    stats_.paused = cause != PauseCause::kNone;
    stats_.pause_cause = std::string(toString(cause));
    stats_.side_effect_rows = gate.side_effect_rows;
    stats_.side_effect_fill = gate.side_effect_fill;
  }
  gauges_->set(gate, cause);
  if (now_ms - last_summary_ms_ >= config_.scheduler.summary_interval_s * 1000LL) {
    spdlog::info("{}", summaryLine());
    std::lock_guard lock(stats_mu_);
    summary_completed_ = stats_.completed;
    last_summary_ms_ = now_ms;
    interval_max_lag_ms_ = 0;
    lateness_at_summary_ = lateness_.snapshot();
  }
}

void Runner::runController(std::int64_t now_ms, const GraphCounters& c) {
  ControlSample s;
  s.now_ms = now_ms;
  s.period_s = static_cast<double>(now_ms - last_controller_ms_) / 1000.0;
  s.required_rate = table_.requiredRate();
  s.active_targets = static_cast<std::int64_t>(table_.size());
  s.completed = window_results_.exchange(0);
  s.failures = window_failures_.exchange(0);
  s.successes = window_success_.exchange(0);
  const std::int64_t ok_ms = window_success_ms_.exchange(0);
  s.success_latency_s = s.successes > 0 ? static_cast<double>(ok_ms) / 1000.0 / static_cast<double>(s.successes) : 0;
  // Our own losses: checks the probe lost to local limits, datagrams the kernel dropped on
  // our resolver's sockets, and our DNS timeouts once they are more than a trickle (a few
  // dead authoritative servers are the sites' problem; 2 % of all lookups is ours).
  const ProbeHealth h = probe_->health();
  const auto delta = [](std::uint64_t now, std::uint64_t before) {
    return static_cast<std::int64_t>(now >= before ? now - before : 0);
  };
  const std::int64_t lookups = delta(h.lookups, last_health_.lookups);
  const std::int64_t dns_timeouts = delta(h.lookup_timeouts, last_health_.lookup_timeouts);
  s.monitor_faults = window_monitor_faults_.exchange(0) + delta(h.resolver_drops, last_health_.resolver_drops) +
                     (dns_timeouts >= std::max<std::int64_t>(20, lookups / 50) ? dns_timeouts : 0);
  last_health_ = h;
  s.loop_lag_ms = period_loop_lag_ms_;
  s.mean_in_flight = period_ticks_ > 0 ? period_in_flight_sum_ / static_cast<double>(period_ticks_) : 0;
  s.pending = static_cast<std::int64_t>(pending_.size()) + c.queued;
  s.max_lag_ms = max_lag_now_ms_;
  s.paused = last_cause_ != PauseCause::kNone;
  period_loop_lag_ms_ = 0;
  period_in_flight_sum_ = 0;
  period_ticks_ = 0;

  const std::int64_t cur = graph_->tokens().target();
  const ControlDecision d = controller_.update(s, cur);
  if (d.target != cur) graph_->tokens().setTarget(d.target);
  control_mode_ = d.mode;
  const bool monitor = controller_.monitorPressure(now_ms);
  monitor_pressure_.store(monitor, std::memory_order_relaxed);
  counters_->control(s, d, cur);

  // Reload deferral: periodic reloads wait while the scheduler is under pressure (activation
  // and bucket-change reloads never do; the source knows which is which).
  const bool pressure = s.paused || monitor || s.max_lag_ms > 30'000 ||
                        static_cast<double>(s.pending) > std::max(1000.0, s.required_rate * 10);
  source_->setUnderPressure(pressure);
}

void Runner::publishStats(const GraphCounters& c, std::int64_t now_ms) {
  std::lock_guard lock(stats_mu_);
  stats_.targets = static_cast<std::int64_t>(table_.size());
  stats_.required_rate = table_.requiredRate();
  stats_.in_flight = c.in_flight;
  stats_.token_target = graph_->tokens().target();
  stats_.token_max = graph_->tokens().hardMax();
  stats_.pending = static_cast<std::int64_t>(pending_.size()) + c.queued;
  stats_.max_lag_ms = std::max(interval_max_lag_ms_, max_lag_now_ms_);
  stats_.dispatched = c.dispatched;
  stats_.completed = c.completed;
  stats_.routed = c.routed;
  stats_.result_backlog = c.result_backlog;
  stats_.failures = failures_.load();
  stats_.monitor_faults = monitor_faults_.load();
  stats_.stale_results = stale_results_.load();
  stats_.control_mode = std::string(toString(control_mode_));
  stats_.monitor_pressure = monitor_pressure_.load(std::memory_order_relaxed);
  double secs = std::max(0.001, static_cast<double>(now_ms - last_summary_ms_) / 1000.0);
  stats_.checks_per_s = static_cast<double>(c.completed - summary_completed_) / secs;
  const Histogram::Snapshot late = lateness_.snapshot().since(lateness_at_summary_);
  stats_.lateness_p50_s = late.quantile(0.5);
  stats_.lateness_p99_s = late.quantile(0.99);
  stats_.lateness_max_s = static_cast<double>(stats_.max_lag_ms) / 1000.0;
  const SampledDistribution& age = gauges_->age();
  stats_.age_p50_s = age.p50;
  stats_.age_p99_s = age.p99;
  stats_.age_max_s = age.max;
  stats_.stale_targets = gauges_->stale();
  stats_.never_checked = gauges_->neverChecked();
  gauges_->publish(stats_);
}

RunnerStats Runner::stats() const {
  std::lock_guard lock(stats_mu_);
  return stats_;
}

std::string Runner::summaryLine() const {
  RunnerStats s = stats();
  char buf[768];
  std::snprintf(buf, sizeof buf,
                "summary targets=%lld required_rate=%.1f/s checks_per_s=%.1f in_flight=%lld "
                "tokens=%lld/%lld mode=%s pending=%lld max_lag_ms=%lld lateness_p50=%.2fs "
                "lateness_p99=%.2fs age_p50=%.0fs age_p99=%.0fs age_max=%.0fs stale=%lld "
                "dispatched=%lld completed=%lld failures=%lld monitor_faults=%lld%s%s",
                static_cast<long long>(s.targets), s.required_rate, s.checks_per_s,
                static_cast<long long>(s.in_flight), static_cast<long long>(s.token_target),
                static_cast<long long>(s.token_max), s.control_mode.c_str(), static_cast<long long>(s.pending),
                static_cast<long long>(s.max_lag_ms), s.lateness_p50_s, s.lateness_p99_s, s.age_p50_s,
                s.age_p99_s, s.age_max_s, static_cast<long long>(s.stale_targets),
                static_cast<long long>(s.dispatched), static_cast<long long>(s.completed),
                static_cast<long long>(s.failures), static_cast<long long>(s.monitor_faults),
                s.paused ? " paused=" : "", s.paused ? s.pause_cause.c_str() : "");
  return buf;
}

bool Runner::drain(std::chrono::milliseconds limit) {
  requestStop();
  if (timer_) timer_->cancel();
  // Parked tokens go back so that checks already in the due queue can finish too.
  graph_->tokens().setTarget(graph_->tokens().hardMax());
  auto deadline = std::chrono::steady_clock::now() + limit;
  bool drained = false;
  while (std::chrono::steady_clock::now() < deadline) {
    GraphCounters c = graph_->counters();
    if (c.in_flight == 0 && c.queued == 0 && c.result_backlog == 0) {
      drained = true;
      break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  if (drained) graph_->waitForAll();
  for (auto& sink : sinks_) sink->flush();
  for (auto& n : notifiers_) n->flush();
  source_->stop();
  GraphCounters c = graph_->counters();
  {
    std::lock_guard tick_lock(tick_mu_);
    publishStats(c, unixNowMs());
  }
  spdlog::info("drained: dispatched={} completed={} in_flight={} routed={}", c.dispatched,
               c.completed, c.in_flight, c.routed);
  return drained;
}

void Runner::reload(const Config& config) {
  // Sizing and cadence settings apply at once; stage choices need a restart.
  config_.scheduler = config.scheduler;
  config_.tokens = config.tokens;
  {
    std::lock_guard tick_lock(tick_mu_);
    controller_.configure({graph_->tokens().hardMax(), config_.tokens.target,
                           static_cast<double>(config_.probe.default_timeout_s)});
  }
  if (config.tokens.target > 0) graph_->tokens().setTarget(config.tokens.target);
  if (config.pipeline.source.type != config_.pipeline.source.type ||
      config.pipeline.probe.type != config_.pipeline.probe.type)
    spdlog::warn("reload: pipeline stage changes take effect after a restart");
  source_->refresh();
  spdlog::info("reload: scheduler and token settings applied");
}

}  // namespace tidewatch
