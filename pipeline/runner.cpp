#include "pipeline/runner.h"

#include <spdlog/spdlog.h>
#include <sys/resource.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <thread>

#include "core/text.h"

namespace tidewatch {

namespace {

// Controller cadence: the reference recomputes its worker target every 5 s.
constexpr std::int64_t kControllerPeriodMs = 5000;
// Floor of the automatic token target (NUM_WORKERS default in Jetmon).
constexpr std::int64_t kMinAutoTokens = 60;

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
      m_dispatched_(metrics.gauge("scheduler.dispatched")),
      m_completed_(metrics.gauge("scheduler.completed")),
      m_in_flight_(metrics.gauge("scheduler.inflight")),
      m_pending_(metrics.gauge("scheduler.pending")),
      m_tokens_(metrics.gauge("scheduler.tokens")),
      m_targets_(metrics.gauge("scheduler.targets")),
      m_max_lag_(metrics.gauge("scheduler.max_lag_ms")) {
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
  std::int64_t initial = config_.tokens.target > 0 ? config_.tokens.target
                                                   : std::min(hard_max, kMinAutoTokens * 4);
  graph_->tokens().setTarget(initial);
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
  }
  std::lock_guard lock(inbox_mu_);
  routed_inbox_.push_back(check);
}

void Runner::scheduleTick() {
  if (stopping_.load()) return;
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
    place(slot);
  }
  for (std::uint32_t slot : delta.changed)
    if (!wheel_.isInFlight(slot) && !wheel_.isQueued(slot)) place(slot);
  if (!delta.added.empty() || !delta.changed.empty() || !delta.removed.empty())
    spdlog::info("fleet merged: {} targets ({} added, {} changed, {} removed, {} unchanged)",
                 table_.size(), delta.added.size(), delta.changed.size(), delta.removed.size(),
                 delta.unchanged);
}

void Runner::reschedule(const CheckPtr& check, std::int64_t now_s) {
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
  wheel_.markDone(slot);
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
    // 3 × deadline + 2 × retry_interval (docs/incidents.md "Detection latency").
    bool follow_up = fails < config_.scheduler.num_of_checks;
    for (const auto& sink : sinks_) follow_up = follow_up && sink->allowFollowUp(*check);
    if (follow_up) next = std::min(next, followUpDue(check->request.dispatched_at_ms, now_s,
                                                     config_.scheduler.retry_interval_s));
  } else {
    wheel_.setFailures(slot, 0);
  }
  wheel_.schedule(slot, next);
}

std::int64_t Runner::dispatchBudget(double elapsed_s, const GraphCounters& c) const {
  // The reference's streaming budget (compat §11.4): the required rate over the elapsed
  // wall-clock time with 25 % headroom plus a slice of the backlog, capped at twice the rate
  // so a backlog is paid back gradually; faster catch-up once lag passes a minute.
  double rate = std::max(table_.requiredRate(), 1.0);
  elapsed_s = std::clamp(elapsed_s, 0.001, 6.0);
  double base = rate * elapsed_s;
  auto pending = static_cast<double>(pending_.size());
  std::int64_t tokens = graph_->tokens().target();
  bool catch_up = max_lag_now_ms_ > 60'000 && c.result_backlog < 1024;
  double budget = std::ceil(base * 1.25) + pending / (catch_up ? 60.0 : 120.0);
  double cap = std::ceil(base * (catch_up ? 4.0 : 2.0)) + 1;
  budget = std::min({budget, cap, static_cast<double>(tokens) * (catch_up ? 6 : 3)});
  // Keep the due queue short: what waits for a token waits here, visibly.
  std::int64_t room = std::max<std::int64_t>(tokens * 2, 1024) - c.queued;
  return std::max<std::int64_t>(0, std::min<std::int64_t>(static_cast<std::int64_t>(budget), room));
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
  for (const CheckPtr& check : routed) reschedule(check, now_s);
  routed.clear();

  wheel_.popDue(now_s, [&](std::uint32_t slot, std::int64_t due_s) {
    pending_.push_back({slot, table_.at(slot)->id, due_s});
  });

  GraphCounters c = graph_->counters();
  std::int64_t active = static_cast<std::int64_t>(table_.size());
  std::int64_t tokens = graph_->tokens().target();
  bool paused =
      c.result_backlog >= std::clamp<std::int64_t>(std::max(tokens * 6, active / 3), 1024, 786432) ||
      c.sink_backlog >= std::clamp<std::int64_t>(std::max(tokens, active / 20), 1024, 524288);

  double elapsed_s = static_cast<double>(now_ms - last_tick_ms_) / 1000.0;
  last_tick_ms_ = now_ms;
  std::int64_t budget = (paused || stopping_.load()) ? 0 : dispatchBudget(elapsed_s, c);
  max_lag_now_ms_ = pending_.empty() ? 0 : std::max<std::int64_t>(0, now_ms - pending_.front().due_s * 1000);

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
    interval_max_lag_ms_ = std::max(interval_max_lag_ms_, now_ms - p.due_s * 1000);
    graph_->submit(std::move(check));
    --budget;
  }

  if (now_ms - last_controller_ms_ >= kControllerPeriodMs) {
    runController(now_ms);
    last_controller_ms_ = now_ms;
  }
  publishStats(graph_->counters(), now_ms);
  {
    std::lock_guard lock(stats_mu_);
    stats_.paused = paused;
  }
  if (now_ms - last_summary_ms_ >= config_.scheduler.summary_interval_s * 1000LL) {
    spdlog::info("{}", summaryLine());
    std::lock_guard lock(stats_mu_);
    summary_completed_ = stats_.completed;
    last_summary_ms_ = now_ms;
    interval_max_lag_ms_ = 0;
  }
}

void Runner::runController(std::int64_t now_ms) {
  std::int64_t results = window_results_.exchange(0);
  std::int64_t fails = window_failures_.exchange(0);
  std::int64_t ok = window_success_.exchange(0);
  std::int64_t ok_ms = window_success_ms_.exchange(0);
  if (config_.tokens.target > 0) return;  // fixed by config

  // Little's law on *successful* checks only: failure latency (timeouts) must never drive
  // concurrency up, or an overload turns into a storm (DESIGN.md §3).
  double timeout_s = std::max(1, config_.probe.default_timeout_s);
  double latency_s = ok > 0 ? static_cast<double>(ok_ms) / 1000.0 / static_cast<double>(ok) : 0.25;
  if (results >= 1000 && fails * 4 >= results) failure_pressure_until_ms_ = now_ms + 120'000;
  if (now_ms < failure_pressure_until_ms_) latency_s = 0.25;
  latency_s = std::clamp(latency_s, 0.25, timeout_s);
  double rate = table_.requiredRate();
  std::int64_t hard_max = graph_->tokens().hardMax();
  auto want = static_cast<std::int64_t>(std::ceil(rate * latency_s * 2.0)) + 1;
  want = std::clamp<std::int64_t>(want, kMinAutoTokens, hard_max);
  std::int64_t cur = graph_->tokens().target();
  if (want > cur) want = std::min(want, cur + std::max<std::int64_t>(cur / 2, 50));
  if (want < cur) want = std::max(want, cur - std::max<std::int64_t>(cur / 5, 50));
  if (want != cur) graph_->tokens().setTarget(want);
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
  stats_.failures = failures_.load();
  stats_.stale_results = stale_results_.load();
  double secs = std::max(0.001, static_cast<double>(now_ms - last_summary_ms_) / 1000.0);
  stats_.checks_per_s = static_cast<double>(c.completed - summary_completed_) / secs;
  m_dispatched_ = c.dispatched;
  m_completed_ = c.completed;
  m_in_flight_ = c.in_flight;
  m_pending_ = stats_.pending;
  m_tokens_ = stats_.token_target;
  m_targets_ = stats_.targets;
  m_max_lag_ = stats_.max_lag_ms;
}

RunnerStats Runner::stats() const {
  std::lock_guard lock(stats_mu_);
  return stats_;
}

std::string Runner::summaryLine() const {
  RunnerStats s = stats();
  char buf[512];
  std::snprintf(buf, sizeof buf,
                "summary targets=%lld required_rate=%.1f/s checks_per_s=%.1f in_flight=%lld "
                "tokens=%lld/%lld pending=%lld max_lag_ms=%lld dispatched=%lld completed=%lld "
                "failures=%lld%s",
                static_cast<long long>(s.targets), s.required_rate, s.checks_per_s,
                static_cast<long long>(s.in_flight), static_cast<long long>(s.token_target),
                static_cast<long long>(s.token_max), static_cast<long long>(s.pending),
                static_cast<long long>(s.max_lag_ms), static_cast<long long>(s.dispatched),
                static_cast<long long>(s.completed), static_cast<long long>(s.failures),
                s.paused ? " paused" : "");
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
  if (config.tokens.target > 0) graph_->tokens().setTarget(config.tokens.target);
  if (config.pipeline.source.type != config_.pipeline.source.type ||
      config.pipeline.probe.type != config_.pipeline.probe.type)
    spdlog::warn("reload: pipeline stage changes take effect after a restart");
  source_->refresh();
  spdlog::info("reload: scheduler and token settings applied");
}

}  // namespace tidewatch
