#include "stages/sink/incidents/incident_sink.h"

#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <deque>
#include <map>
#include <mutex>
#include <stdexcept>
#include <thread>
#include <unordered_map>
#include <unordered_set>

#include <spdlog/spdlog.h>

#include "io/mysql/event_store.h"
#include "io/mysql/pool.h"
#include "core/metrics.h"
#include "stages/sink/incidents/correlation.h"
#include "stages/sink/incidents/evidence.h"
#include "stages/sink/incidents/site_runtime_writer.h"
#include "stages/sink/incidents/verifier_factory.h"

namespace tidewatch::stages {
namespace {

using nlohmann::json;
using mysql::EventIdentity;
using mysql::EventMutation;
using mysql::Severity;

constexpr std::int32_t kUnknownDay = INT32_MIN;
constexpr std::int64_t kDayMs = 86'400'000;
// How long a restart may take and still continue a Seems Down's failure count: the next
// check after a restart comes one cadence after the last one plus the downtime.
constexpr std::int64_t kResumeSlackMs = 120'000;

std::int64_t systemNowMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

std::int64_t floorDiv(std::int64_t a, std::int64_t b) { return a / b - ((a % b != 0) && ((a < 0) != (b < 0))); }

// Per-slot flags read on the hot path (wants(), allowFollowUp()) without locks. Slots are the
// TargetTable's stable indices; chunks are allocated the first time a slot needs a flag, so a
// fleet of healthy sites costs nothing here.
class SlotFlags {
 public:
  static constexpr std::uint8_t kAttention = 1;   // the engine holds state: send every result
  static constexpr std::uint8_t kNoFollowUp = 2;  // confirmed down: normal cadence only

  ~SlotFlags() {
    for (auto& c : chunks_) delete[] c.load();
  }
  std::uint8_t flags(std::uint32_t slot) const {
    Entry* c = chunks_[slot >> kShift].load(std::memory_order_acquire);
    return c ? c[slot & kMask].flags.load(std::memory_order_relaxed) : 0;
  }
  std::int32_t sslDay(std::uint32_t slot) const {
    Entry* c = chunks_[slot >> kShift].load(std::memory_order_acquire);
    return c ? c[slot & kMask].ssl_day.load(std::memory_order_relaxed) : kUnknownDay;
  }
  void setFlags(std::uint32_t slot, std::uint8_t f) {
    if (f == 0 && !chunks_[slot >> kShift].load(std::memory_order_acquire)) return;
    entry(slot).flags.store(f, std::memory_order_relaxed);
  }
  void setSslDay(std::uint32_t slot, std::int32_t day) { entry(slot).ssl_day.store(day, std::memory_order_relaxed); }

 private:
  static constexpr unsigned kShift = 16;
  static constexpr std::uint32_t kMask = (1u << kShift) - 1;
  struct Entry {
    std::atomic<std::uint8_t> flags{0};
    std::atomic<std::int32_t> ssl_day{kUnknownDay};
  };
  Entry& entry(std::uint32_t slot) {
    auto& chunk = chunks_[slot >> kShift];
    Entry* c = chunk.load(std::memory_order_acquire);
    if (!c) {
      auto* fresh = new Entry[kMask + 1];
      if (chunk.compare_exchange_strong(c, fresh, std::memory_order_acq_rel)) {
        c = fresh;
      } else {
        delete[] fresh;
      }
    }
    return c[slot & kMask];
  }
  std::atomic<Entry*> chunks_[1u << (32 - kShift)] = {};
};

// kUnconfirmed: low-confidence DNS failures are being counted but nothing is open and the
// projection still says 1 (compat §3.8); verifier confirmation opens Down directly.
enum class Phase : std::uint8_t { kUp, kUnconfirmed, kSeemsDown, kDown };

// compat §3.8 "low-confidence DNS": a connect or timeout failure whose DNS lookup got no
// answer at all. NXDOMAIN is excluded on purpose: it is an authoritative answer that the name
// does not exist, as definite as a 503 (docs/incidents.md).
bool isLowConfidenceDns(const Check& c) {
  if (!c.verdict.failure || c.result.http_code != 0) return false;
  if (c.result.error != ErrorCode::kConnect && c.result.error != ErrorCode::kTimeout) return false;
  DnsErrorKind k = c.result.dns_error;
  return k == DnsErrorKind::kTimeout || k == DnsErrorKind::kServFail || k == DnsErrorKind::kResolverError;
}

// What the engine remembers about one site. Exists only for sites that needed attention
// (failures, open events, TLS advisories) and is dropped once the site is quiet again.
struct SiteState {
  TargetPtr target;                 // the latest seen (null for sites recovered from the DB)
  std::uint64_t blog_id = 0;
  std::uint32_t slot = kParkMarkerSlot;
  Phase phase = Phase::kUp;
  SiteStatus projected = SiteStatus::kRunning;  // what jetpack_monitor_sites says (or will)
  int fail_count = 0;               // consecutive local failures (the retry entry)
  int maint_streak = 0;             // consecutive failures swallowed by a maintenance window
  std::int64_t first_fail_ms = 0;
  std::int64_t opened_ms = 0;
  std::int64_t down_ms = 0;
  bool verifying = false;
  bool parallel_escalation = false; // the escalation in flight started before the last local check
  std::int64_t escalated_ms = 0;
  // A parallel escalation's verdict that arrived before the last local check: applied when
  // that check fails (within the max age), dropped when it succeeds.
  std::shared_ptr<Verification> early_verdict;
  std::uint32_t generation = 0;     // bumps on every phase change: stale verdicts are ignored
  std::int64_t deferred_until_ms = 0;
  bool down_notified = false;       // this incident produced a down alert (B5a)
  std::int64_t last_alert_ms = 0;
  std::int64_t recovered_ms = 0;
  std::int64_t false_alarm_ms = 0;
  bool held = false;
  std::uint8_t held_failures = 0;   // failures seen while held: all count once released
  std::uint32_t held_generation = 0;
  CheckPtr last_failure;
  std::uint8_t tls_expiry_sev = 0;  // 0 none open, 1 Warning, 2 Degraded
  bool tls_deprecated_open = false;
  std::int32_t ssl_day = kUnknownDay;
  // Restart recovery: the failure count the previous process audited for the open event, and
  // when (engine clock); applied on the first result if that is recent enough.
  int resumed_failures = 0;
  std::int64_t resumed_failures_at_ms = 0;
};

struct Work {
  enum class Kind : std::uint8_t { kResult, kVerified, kHeld, kDelivered };
  Kind kind = Kind::kResult;
  CheckPtr check;
  std::uint64_t site = 0;
  std::uint32_t generation = 0;
  std::shared_ptr<Verification> verification;
  bool delivered = false;         // kDelivered
  std::int64_t handoff_ms = 0;    // kDelivered: when the alert left the engine
  std::int64_t previous_ms = 0;   // kDelivered: the cooldown anchor before that
};

// StatusChange::on_delivered is being added to pipeline/stage.h by the notifier work; detect
// it so this stage builds with and without it.
template <class Change, class Fn>
bool setDeliveryCallback(Change& change, Fn&& fn) {
  if constexpr (requires { change.on_delivered = fn; }) {
    change.on_delivered = std::forward<Fn>(fn);
    return true;
  } else {
    return false;
  }
}

std::string severityState(std::uint8_t sev) { return sev >= 2 ? "Degraded" : "Warning"; }

class IncidentSinkImpl final : public IncidentSink {
 public:
  IncidentSinkImpl(IncidentOptions o, IncidentDeps d)
      : o_(std::move(o)), d_(std::move(d)), window_(o_.correlation) {
    if (!d_.store) throw std::invalid_argument("sink.incidents: no event store");
    if (!d_.metrics) throw std::invalid_argument("sink.incidents: no metrics");
    if (!d_.now_ms) d_.now_ms = systemNowMs;
    num_of_checks_ = std::max(1, o_.num_of_checks > 0 ? o_.num_of_checks : d_.num_of_checks);
    int cores = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
    int shards = o_.shards > 0 ? o_.shards : std::clamp(cores * 4, 8, 256);
    int workers = o_.workers > 0 ? o_.workers : std::clamp(cores, 1, 4);
    for (int i = 0; i < shards; ++i) shards_.push_back(std::make_unique<Shard>());
    if (d_.pool && o_.write_ssl_expiry) runtime_ = std::make_unique<SiteRuntimeWriter>(d_.pool, d_.metrics);
    Metrics& m = *d_.metrics;
    suspect_gauge_ = &m.gauge("detection.monitor_suspect");
    backlog_gauge_ = &m.gauge("incidents.backlog");
    recovery_thread_ = std::thread([this] { recoverOpenEvents(); });
    for (int i = 0; i < workers; ++i) workers_.emplace_back([this] { workLoop(); });
    if (o_.tick_ms > 0) ticker_ = std::thread([this] { tickLoop(); });
  }

  ~IncidentSinkImpl() override { shutdown(); }

  // ---- hot path ---------------------------------------------------------------------------

  bool wants(const Check& c) const override {
    if (c.request.slot == kParkMarkerSlot || !c.request.target) return false;
    window_.record(c);
    if (c.verdict.failure) return true;
    const Target& t = *c.request.target;
    if (t.site_status != SiteStatus::kRunning) return true;
    if (flags_.flags(c.request.slot) & SlotFlags::kAttention) return true;
    if (recoveredSite(t.id)) return true;
    const TlsFacts& tls = c.result.tls;
    if (tls.version != 0 && tls.version <= 0x0302) return true;
    if (tls.cert_not_after != 0) {
      std::int64_t day = floorDiv(tls.cert_not_after, 86400);
      std::int32_t known = flags_.sslDay(c.request.slot);
      if (known == kUnknownDay) known = t.ssl_expiry_date != 0 ? static_cast<std::int32_t>(floorDiv(t.ssl_expiry_date, 86400)) : kUnknownDay;
      if (day != known) return true;
      // Inside the warning horizon the severity follows the calendar, not the certificate.
      std::int64_t now_s = c.result.finished_at_ms / 1000;
      if (tls.cert_not_after - now_s <= static_cast<std::int64_t>(o_.tls_warning_days + 1) * 86400) return true;
    }
    return false;
  }

  void consume(const CheckPtr& check) override {
    Work w;
    w.kind = Work::Kind::kResult;
    w.site = check->request.target->id;
    w.check = check;
    push(std::move(w));
  }

  bool serial() const override { return false; }

  bool allowFollowUp(const Check& c) const override {
    if (c.request.slot != kParkMarkerSlot && (flags_.flags(c.request.slot) & SlotFlags::kNoFollowUp)) return false;
    if (window_.suspect() && isInfrastructureFailure(c)) return false;
    return true;
  }

  Backlog backlog() const override { return {static_cast<std::int64_t>(queued_.load(std::memory_order_relaxed))}; }

  void flush() override {
    waitIdle(std::chrono::seconds(30));
    d_.store->drain(std::chrono::seconds(30));
    if (runtime_) runtime_->drain(std::chrono::seconds(10));
  }

  // ---- test and ops surface -----------------------------------------------------------------

  void tick() override {
    std::int64_t now = d_.now_ms();
    auto change = window_.evaluate(now / 1000);
    if (change != CorrelationWindow::Change::kNone) onSuspectChange(change == CorrelationWindow::Change::kEntered, now);
    std::vector<std::pair<std::int64_t, Work>> due;
    {
      std::lock_guard lock(timers_mu_);
      while (!timers_.empty() && timers_.begin()->first <= now) {
        due.emplace_back(timers_.begin()->first, std::move(timers_.begin()->second));
        timers_.erase(timers_.begin());
      }
    }
    for (auto& [at, w] : due) {
      push(std::move(w));
      timers_pending_.fetch_sub(1, std::memory_order_relaxed);
    }
  }

  bool waitIdle(std::chrono::milliseconds timeout) override {
    auto deadline = std::chrono::steady_clock::now() + timeout;
    for (;;) {
      bool idle = recovered() && queued_.load() == 0 && outstanding_.load() == 0 && d_.store->backlog() == 0 &&
                  (!runtime_ || runtime_->backlog() == 0);
      if (idle) return true;
      if (std::chrono::steady_clock::now() >= deadline) return false;
      if (runtime_) runtime_->drain(std::chrono::milliseconds(1));
      std::this_thread::sleep_for(std::chrono::milliseconds(2));
    }
  }

  bool monitorSuspect() const override { return window_.suspect(); }
  bool recovered() const override { return recovered_.load(std::memory_order_acquire); }

 private:
  struct Shard {
    std::mutex mu;
    std::deque<Work> queue;
    bool scheduled = false;
    std::unordered_map<std::uint64_t, SiteState> sites;  // worker-owned (one worker at a time)
  };

  std::size_t shardOf(std::uint64_t site) const { return static_cast<std::size_t>(site % shards_.size()); }

  void push(Work w) {
    std::size_t idx = shardOf(w.site);
    Shard& s = *shards_[idx];
    bool schedule = false;
    queued_.fetch_add(1, std::memory_order_relaxed);
    backlog_gauge_->fetch_add(1, std::memory_order_relaxed);
    {
      std::lock_guard lock(s.mu);
      s.queue.push_back(std::move(w));
      if (!s.scheduled) schedule = s.scheduled = true;
    }
    if (schedule) {
      {
        std::lock_guard lock(ready_mu_);
        ready_.push_back(idx);
      }
      ready_cv_.notify_one();
    }
  }

  void workLoop() {
    for (;;) {
      std::size_t idx;
      {
        std::unique_lock lock(ready_mu_);
        ready_cv_.wait(lock, [&] { return stopping_ || (!ready_.empty() && recovered()); });
        if (stopping_) return;
        idx = ready_.front();
        ready_.pop_front();
      }
      Shard& s = *shards_[idx];
      // A bounded slice per turn so that one busy shard cannot starve the others.
      bool more = false;
      for (int n = 0; n < 256; ++n) {
        Work w;
        {
          std::lock_guard lock(s.mu);
          if (s.queue.empty()) {
            s.scheduled = false;
            break;
          }
          w = std::move(s.queue.front());
          s.queue.pop_front();
          more = n == 255;
        }
        try {
          process(s, w);
        } catch (const std::exception& e) {
          // A bug in one site's handling must not stop the shard.
          spdlog::error("sink.incidents: site {}: {}", w.site, e.what());
        }
        queued_.fetch_sub(1, std::memory_order_relaxed);
        backlog_gauge_->fetch_sub(1, std::memory_order_relaxed);
      }
      if (more) {
        {
          std::lock_guard lock(ready_mu_);
          ready_.push_back(idx);
        }
        ready_cv_.notify_one();
      }
    }
  }

  void tickLoop() {
    std::unique_lock lock(ready_mu_);
    while (!stopping_) {
      // Its own condition variable: a notify_one() meant for a worker must never be taken by
      // the ticker, or a shard's work would sit until the next push.
      tick_cv_.wait_for(lock, std::chrono::milliseconds(o_.tick_ms), [&] { return stopping_; });
      if (stopping_) break;
      lock.unlock();
      tick();
      lock.lock();
    }
  }

  void shutdown() {
    {
      // Late verdicts and delivery reports (on I/O threads) must not reach a dying sink.
      std::lock_guard lock(gate_->mu);
      gate_->open = false;
    }
    {
      std::lock_guard lock(ready_mu_);
      if (stopping_) return;
      stopping_ = true;
    }
    recovery_stop_.store(true);
    ready_cv_.notify_all();
    tick_cv_.notify_all();
    if (ticker_.joinable()) ticker_.join();
    for (auto& t : workers_) t.join();
    if (recovery_thread_.joinable()) recovery_thread_.join();
    runtime_.reset();
  }

  // ---- restart recovery ---------------------------------------------------------------------

  void recoverOpenEvents() {
    std::vector<mysql::OpenEvent> events;
    for (int attempt = 0;; ++attempt) {
      mysql::DbError err = d_.store->listOpenEvents(events);
      if (err.ok()) break;
      if (attempt == 0) spdlog::warn("sink.incidents: cannot read open events yet ({}); retrying", err.describe());
      for (int i = 0; i < 10 && !recovery_stop_.load(); ++i) std::this_thread::sleep_for(std::chrono::milliseconds(100));
      if (recovery_stop_.load()) return;
    }
    std::size_t n = 0;
    {
      for (const auto& e : events) {
        std::uint64_t site = e.identity.endpoint_id;
        if (site == 0) continue;  // pre-tidewatch events keyed by blog only: nothing to resume
        // Workers have not started on any shard yet (they wait for recovered_), so the shard
        // maps are still ours.
        SiteState& st = shards_[shardOf(site)]->sites[site];
        st.blog_id = e.identity.blog_id;
        if (e.identity.check_type == "http") {
          if (e.severity >= Severity::kDown) {
            st.phase = Phase::kDown;
            st.projected = SiteStatus::kConfirmedDown;
            st.down_notified = true;  // a confirmed Down was alerted unless suppressed; assume it was
            st.down_ms = e.started_at_ms;
          } else {
            st.phase = Phase::kSeemsDown;
            st.projected = SiteStatus::kDown;
            // The event proves one failure; the previous process's count (from its audit
            // rows) is taken over on the first result if it is recent (siteFor()).
            st.fail_count = 1;
            st.resumed_failures = e.local_failures;
            st.resumed_failures_at_ms = e.local_failures_at_ms;
          }
          st.opened_ms = st.first_fail_ms = e.started_at_ms;
        } else if (e.identity.check_type == "tls_expiry") {
          st.tls_expiry_sev = e.severity >= Severity::kDegraded ? 2 : 1;
        } else if (e.identity.check_type == "tls_deprecated") {
          st.tls_deprecated_open = true;
        } else {
          continue;
        }
        recovered_sites_.push_back(site);
        ++n;
      }
      std::sort(recovered_sites_.begin(), recovered_sites_.end());
    }
    d_.metrics->gauge("incidents.recovered_open_events").store(static_cast<std::int64_t>(n));
    if (n != 0) spdlog::info("sink.incidents: resumed {} open events from the database", n);
    recovered_.store(true, std::memory_order_release);
    std::lock_guard lock(ready_mu_);
    ready_cv_.notify_all();
  }

  // Sites resumed from the database are wanted until their first result has been seen (then
  // the slot flags take over). The list is written once before recovered_ is published and
  // only read afterwards, so lookups need no lock; it may hold other hosts' sites (every open
  // event is read), which simply never match.
  bool recoveredSite(std::uint64_t id) const {
    if (!recovered_.load(std::memory_order_acquire) || recovered_sites_.empty()) return false;
    return std::binary_search(recovered_sites_.begin(), recovered_sites_.end(), id);
  }

  // ---- the state machine ------------------------------------------------------------------

  void process(Shard& shard, Work& w) {
    std::int64_t now = d_.now_ms();
    switch (w.kind) {
      case Work::Kind::kResult: {
        SiteState& st = siteFor(shard, *w.check, now);
        handleTls(st, *w.check, now);
        if (w.check->verdict.failure) {
          onFailure(st, w.check, now, false);
        } else if (w.check->verdict.success) {
          onSuccess(st, *w.check, now);
        }
        // Neither (probe safety): not a verdict on the site (compat §2.11).
        settle(shard, w.site, now);
        break;
      }
      case Work::Kind::kHeld: {
        auto it = shard.sites.find(w.site);
        if (it == shard.sites.end()) break;
        SiteState& st = it->second;
        if (!st.held || st.held_generation != w.generation) break;
        st.held = false;
        if (window_.suspect()) {
          st.held_failures = 0;
          suppressAsUnknown(st, *w.check, now);
        } else {
          onFailure(st, w.check, now, true);
        }
        settle(shard, w.site, now);
        break;
      }
      case Work::Kind::kDelivered: {
        auto it = shard.sites.find(w.site);
        if (w.delivered) {
          // compat §5/§7.4: last_alert_sent_at is the delivery time.
          if (runtime_) runtime_->lastAlertSent(w.site, now);
          counter("detection.notify.delivered.count").fetch_add(1, std::memory_order_relaxed);
        } else {
          // Not delivered: the owner never heard, so it must not hold back the next alert.
          counter("detection.notify.undelivered.count").fetch_add(1, std::memory_order_relaxed);
          if (it != shard.sites.end() && it->second.last_alert_ms == w.handoff_ms) it->second.last_alert_ms = w.previous_ms;
        }
        if (it != shard.sites.end()) settle(shard, w.site, now);
        break;
      }
      case Work::Kind::kVerified: {
        outstanding_.fetch_sub(1, std::memory_order_relaxed);
        auto it = shard.sites.find(w.site);
        if (it == shard.sites.end()) break;
        onVerified(it->second, w.generation, *w.verification, now);
        settle(shard, w.site, now);
        break;
      }
    }
  }

  SiteState& siteFor(Shard& shard, const Check& c, std::int64_t now) {
    const TargetPtr& t = c.request.target;
    auto [it, fresh] = shard.sites.try_emplace(t->id);
    SiteState& st = it->second;
    if (fresh) {
      st.projected = t->site_status;
      // A site loaded as not running with no open event (e.g. an event closed by hand): the
      // next success projects 1 again. Loaded confirmed-down implies a down alert went out.
      st.down_notified = t->site_status == SiteStatus::kConfirmedDown;
      if (t->ssl_expiry_date != 0) st.ssl_day = static_cast<std::int32_t>(floorDiv(t->ssl_expiry_date, 86400));
    } else if (!st.target) {
      // Recovered from the database: the projection follows the event we resumed.
      if (t->ssl_expiry_date != 0) st.ssl_day = static_cast<std::int32_t>(floorDiv(t->ssl_expiry_date, 86400));
      // The consecutive-failure count continues across a restart, unless the last failure the
      // previous process counted is older than one interval plus restart slack: then those
      // failures are no longer "consecutive" with this result.
      if (st.resumed_failures > 0 && st.phase == Phase::kSeemsDown &&
          now - st.resumed_failures_at_ms <= static_cast<std::int64_t>(t->interval_s) * 1000 + kResumeSlackMs) {
        st.fail_count = std::max(st.fail_count, st.resumed_failures);
        counter("incidents.resumed_failure_counts").fetch_add(1, std::memory_order_relaxed);
      }
      st.resumed_failures = 0;
    }
    st.target = t;
    st.blog_id = t->blog_id;
    st.slot = c.request.slot;
    return st;
  }

  // Publishes the hot-path flags and drops the state of a site that is quiet again.
  void settle(Shard& shard, std::uint64_t site, std::int64_t now) {
    auto it = shard.sites.find(site);
    if (it == shard.sites.end()) return;
    SiteState& st = it->second;
    bool attention = st.phase != Phase::kUp || st.projected != SiteStatus::kRunning || st.fail_count > 0 ||
                     st.held || st.verifying || st.tls_deprecated_open || st.maint_streak > 0;
    std::uint8_t f = (attention ? SlotFlags::kAttention : 0) | (st.phase == Phase::kDown ? SlotFlags::kNoFollowUp : 0);
    if (st.slot != kParkMarkerSlot) flags_.setFlags(st.slot, f);
    if (attention || st.tls_expiry_sev != 0 || !st.target) return;
    std::int64_t interval_ms = static_cast<std::int64_t>(st.target->interval_s) * 1000;
    bool windows = (st.recovered_ms != 0 && now - st.recovered_ms < postRecoveryWindowMs(interval_ms)) ||
                   (st.false_alarm_ms != 0 && now - st.false_alarm_ms < postFalseAlarmWindowMs(interval_ms));
    bool alert_unpublished = st.last_alert_ms > st.target->last_alert_sent_at * 1000;
    // Until the source publishes a target with the status we projected, a fresh state would
    // start from the stale one (and, for a stale 2, alert a second recovery).
    bool stale_target = st.target->site_status != st.projected;
    if (windows || alert_unpublished || stale_target) return;
    shard.sites.erase(it);
  }

  static std::int64_t postRecoveryWindowMs(std::int64_t interval_ms) {
    return std::clamp<std::int64_t>(interval_ms, 60'000, 300'000);
  }
  static std::int64_t postFalseAlarmWindowMs(std::int64_t interval_ms) {
    return std::clamp<std::int64_t>(2 * interval_ms, 300'000, 600'000);
  }

  EventIdentity identity(const SiteState& st, const std::uint64_t site, const char* type = "http") const {
    EventIdentity id;
    id.blog_id = st.blog_id;
    id.endpoint_id = site;
    id.check_type = type;
    return id;
  }

  std::uint64_t siteId(const SiteState& st) const { return st.target ? st.target->id : 0; }

  void submit(EventMutation m) { d_.store->submit(std::move(m)); }

  void audit(const SiteState& st, std::string type, std::string detail, json meta, std::string source = "") {
    EventMutation m = EventMutation::audit(identity(st, siteId(st)), std::move(type), std::move(detail),
                                           meta.is_null() ? "" : evidence::dump(meta));
    m.source = std::move(source);
    submit(std::move(m));
  }

  std::atomic<std::uint64_t>& counter(const std::string& name) { return d_.metrics->counter(name); }
  void count(const std::string& base, const Check* c) {
    counter(base + ".count").fetch_add(1, std::memory_order_relaxed);
    if (c) counter(base + "." + std::string(toString(c->verdict.status_type)) + ".count").fetch_add(1, std::memory_order_relaxed);
  }
  void timer(const std::string& name, std::int64_t ms) {
    // Last value and a running total: enough for the summary and the latency benchmarks.
    d_.metrics->gauge(name + ".last_ms").store(std::max<std::int64_t>(0, ms), std::memory_order_relaxed);
    d_.metrics->counter(name + ".total_ms").fetch_add(static_cast<std::uint64_t>(std::max<std::int64_t>(0, ms)),
                                                      std::memory_order_relaxed);
    d_.metrics->counter(name + ".samples").fetch_add(1, std::memory_order_relaxed);
  }

  bool inMaintenance(const SiteState& st, std::int64_t now_ms) const {
    if (!st.target || !st.target->config) return false;
    const SiteConfig& c = *st.target->config;
    if (c.maintenance_start == 0 || c.maintenance_end == 0) return false;
    std::int64_t now_s = now_ms / 1000;
    // Strictly inside (compat §4), at the engine's clock in milliseconds.
    return c.maintenance_start * 1000 < now_ms && now_ms < c.maintenance_end * 1000 && now_s >= 0;
  }

  std::int64_t cooldownMs(const SiteState& st) const {
    int minutes = o_.alert_cooldown_minutes;
    if (st.target && st.target->config && st.target->config->alert_cooldown_minutes >= 0)
      minutes = st.target->config->alert_cooldown_minutes;
    return minutes <= 0 ? 0 : static_cast<std::int64_t>(minutes) * 60'000;
  }

  bool inCooldown(const SiteState& st, std::int64_t now) const {
    std::int64_t cd = cooldownMs(st);
    if (cd == 0) return false;
    std::int64_t last = std::max(st.last_alert_ms, st.target ? st.target->last_alert_sent_at * 1000 : 0);
    return last > 0 && now - last < cd;
  }

  // -- success ----------------------------------------------------------------------------

  void onSuccess(SiteState& st, const Check& c, std::int64_t now) {
    st.maint_streak = 0;
    st.held_failures = 0;
    if (st.held) {
      st.held = false;  // the held failure was a blip: nothing to open
      counter("detection.held.cleared.count").fetch_add(1, std::memory_order_relaxed);
    }
    st.fail_count = 0;
    st.deferred_until_ms = 0;
    if (st.early_verdict || (st.verifying && st.parallel_escalation)) {
      // The last local check succeeded: the parallel escalation's votes count for nothing,
      // whatever they say (no false alarm, no Down).
      st.early_verdict.reset();
      counter("detection.verifier.parallel_discarded.count").fetch_add(1, std::memory_order_relaxed);
    }
    if (st.phase == Phase::kUnconfirmed) {
      // Low-confidence DNS failures that never opened anything: nothing to close.
      st.phase = Phase::kUp;
      st.verifying = false;
      ++st.generation;
      st.last_failure.reset();
      st.first_fail_ms = 0;
      counter("detection.low_confidence_dns.cleared.count").fetch_add(1, std::memory_order_relaxed);
    }
    if (st.phase == Phase::kUp && st.projected == SiteStatus::kRunning) return;
    const Phase was = st.phase;
    const char* reason = was == Phase::kDown ? "verifier_cleared" : "probe_cleared";
    json meta = evidence::local(c);
    meta["rule"] = was == Phase::kDown ? "recovery_from_down" : was == Phase::kSeemsDown ? "recovery_from_seems_down"
                                                                                         : "projection_cleared";
    if (st.first_fail_ms != 0) meta["observation"] = {{"first_failed_at", evidence::rfc3339(st.first_fail_ms)},
                                                     {"first_recovered_at", evidence::rfc3339(now)}};
    std::uint64_t site = siteId(st);
    submit(EventMutation::close(identity(st, site), reason, evidence::dump(meta), SiteStatus::kRunning));
    if (was == Phase::kDown) {
      count("detection.verifier_cleared", &c);
      timer("detection.down_to_recovery", now - st.down_ms);
    } else if (was == Phase::kSeemsDown) {
      count("detection.probe_cleared", &c);
      timer("detection.seems_down_to_probe_cleared", now - st.opened_ms);
    }
    if (was != Phase::kUp) st.recovered_ms = now;
    st.phase = Phase::kUp;
    st.projected = SiteStatus::kRunning;
    st.verifying = false;
    ++st.generation;
    st.last_failure.reset();
    st.first_fail_ms = 0;

    // B5a: only an incident that produced a down alert gets a recovery alert.
    if (!st.down_notified) return;
    st.down_notified = false;
    if (inMaintenance(st, now)) {
      audit(st, "maintenance_active", "recovery suppressed during maintenance", {{"rule", "maintenance"}});
      return;
    }
    if (o_.recovery_cooldown && inCooldown(st, now)) {
      // B5b: the reference dropped these silently.
      audit(st, "alert_suppressed", "recovery cooldown active",
            {{"rule", "cooldown"}, {"cooldown_minutes", cooldownMs(st) / 60'000}, {"status_id", 1}});
      count("detection.recovery.cooldown_suppressed", nullptr);
      return;
    }
    StatusChange change = statusChange(st, c, 1, now);
    sendNotification(st, change, now);
  }

  // -- failure ----------------------------------------------------------------------------

  void onFailure(SiteState& st, const CheckPtr& cp, std::int64_t now, bool released_from_hold) {
    const Check& c = *cp;
    count("detection.failure", &c);
    const bool infra = isInfrastructureFailure(c);

    // F0: maintenance swallows the failure before any event work (compat §4).
    if (inMaintenance(st, now)) {
      ++st.maint_streak;
      st.held = false;
      st.held_failures = 0;
      json meta = evidence::local(c);
      meta["rule"] = "maintenance";
      meta["maintenance_start"] = evidence::rfc3339(st.target->config->maintenance_start * 1000);
      meta["maintenance_end"] = evidence::rfc3339(st.target->config->maintenance_end * 1000);
      if (st.phase == Phase::kSeemsDown || st.phase == Phase::kDown || st.projected != SiteStatus::kRunning) {
        submit(EventMutation::close(identity(st, siteId(st)), "maintenance_swallowed", evidence::dump(meta), SiteStatus::kRunning));
      }
      audit(st, "maintenance_active", "failure swallowed during maintenance", meta);
      count("detection.maintenance.swallowed", &c);
      st.phase = Phase::kUp;
      st.projected = SiteStatus::kRunning;
      st.fail_count = 0;
      st.verifying = false;
      st.early_verdict.reset();
      st.down_notified = false;
      ++st.generation;
      return;
    }

    // B4: a confirmed-down site that keeps failing is just still down.
    if (st.phase == Phase::kDown) {
      st.fail_count = 0;
      st.maint_streak = 0;
      count("detection.down.still_down", &c);
      return;
    }

    // Unknown, not Down: while the monitor is the suspect, its connect/timeout/DNS failures
    // say nothing about the site. Nothing opens, nothing escalates, nothing is counted.
    if (infra && window_.suspect()) {
      suppressAsUnknown(st, c, now);
      return;
    }

    // Post-recovery / post-false-alarm transient suppression (compat §3.8).
    if (o_.post_recovery_suppression && infra && st.fail_count == 0 && st.phase == Phase::kUp && st.target) {
      std::int64_t interval_ms = static_cast<std::int64_t>(st.target->interval_s) * 1000;
      const char* detail = nullptr;
      if (st.recovered_ms != 0 && now - st.recovered_ms < postRecoveryWindowMs(interval_ms)) {
        detail = "post-recovery transient failure suppressed";
      } else if (st.false_alarm_ms != 0 && now - st.false_alarm_ms < postFalseAlarmWindowMs(interval_ms)) {
        detail = "post-false-alarm transient failure suppressed";
        st.false_alarm_ms = now;  // refreshed on each suppression, as the reference does
      }
      if (detail) {
        json meta = evidence::local(c);
        meta["rule"] = "post_recovery_transient";
        audit(st, "alert_suppressed", detail, meta);
        counter("detection.post_recovery_transient_suppressed.count").fetch_add(1, std::memory_order_relaxed);
        return;
      }
    }

    // A healthy site's first connect/timeout/DNS failure waits hold_ms for the correlation
    // window's verdict: the first seconds of a monitor-side storm must open nothing.
    if (!released_from_hold && infra && o_.correlation.enabled && o_.correlation.hold_ms > 0 &&
        st.phase == Phase::kUp && st.fail_count == 0 && st.maint_streak == 0) {
      bool first = !st.held;
      st.held = true;
      if (st.held_failures < 255) ++st.held_failures;
      if (first) {
        ++st.held_generation;
        Work w;
        w.kind = Work::Kind::kHeld;
        w.site = siteId(st);
        w.check = cp;
        w.generation = st.held_generation;
        std::lock_guard lock(timers_mu_);
        timers_.emplace(now + o_.correlation.hold_ms, std::move(w));
        timers_pending_.fetch_add(1, std::memory_order_relaxed);
      }
      return;
    }
    st.held = false;
    // Follow-ups that failed while the first failure was held are local evidence too.
    int extra = released_from_hold && st.held_failures > 1 ? st.held_failures - 1 : 0;
    st.held_failures = 0;

    // F1/F2: the retry entry and Seems Down.
    st.fail_count += 1 + extra;
    st.last_failure = cp;
    if (st.fail_count == 1) st.first_fail_ms = c.result.finished_at_ms != 0 ? std::min(now, c.result.finished_at_ms) : now;
    if (st.maint_streak > 0) {
      // The site was failing when its maintenance window closed: those failures are local
      // evidence too, so it alerts as soon as the window is over (scenarios §2.3).
      st.fail_count = std::max(st.fail_count, std::min(st.maint_streak + 1, num_of_checks_));
      st.maint_streak = 0;
    }
    const bool low_confidence = o_.low_confidence_dns && isLowConfidenceDns(c);
    if (st.phase == Phase::kUp && low_confidence) {
      // compat §3.8: the resolver gave no answer, which may be our own resolver's fault. Count
      // the failure, open nothing; the verifiers decide.
      st.phase = Phase::kUnconfirmed;
      ++st.generation;
      st.down_notified = false;
      count("detection.low_confidence_dns", &c);
    } else if (st.phase == Phase::kUp || (st.phase == Phase::kUnconfirmed && !low_confidence)) {
      // A first failure, or the first definite one after low-confidence DNS failures (whose
      // count carries on; a verification in flight stays valid, so no generation bump).
      const bool after_dns = st.phase == Phase::kUnconfirmed;
      json meta = evidence::local(c);
      meta["rule"] = after_dns ? "failure_after_low_confidence_dns" : "first_failure";
      if (after_dns) meta["local_failures"] = st.fail_count;
      submit(EventMutation::open(identity(st, siteId(st)), Severity::kSeemsDown, "Seems Down", evidence::dump(meta),
                                 SiteStatus::kDown));
      st.phase = Phase::kSeemsDown;
      st.projected = SiteStatus::kDown;
      st.opened_ms = now;
      if (!after_dns) ++st.generation;
      st.down_notified = false;
      count("detection.seems_down.open", &c);
      timer("detection.first_failure_to_seems_down", now - st.first_fail_ms);
    }
    // F3: more local evidence first.
    if (st.fail_count < num_of_checks_) {
      json meta{{"attempt", st.fail_count}, {"of", num_of_checks_}, {"http_code", c.result.http_code},
                {"error_code", static_cast<int>(c.result.error)}, {"rule", "local_retry"},
                {"local_failures", st.fail_count}, {"at_ms", now}};
      if (st.phase == Phase::kUnconfirmed) meta["low_confidence_dns_failure"] = true;
      audit(st, "retry_dispatched", "retry " + std::to_string(st.fail_count) + " of " + std::to_string(num_of_checks_),
            meta);
      // The next local check is the last one: ask the verifiers now, in parallel with it.
      if (st.fail_count == num_of_checks_ - 1 && o_.parallel_escalation && !st.verifying && !st.early_verdict &&
          st.deferred_until_ms <= now && d_.verifier && d_.verifier->configured() > 0) {
        escalate(st, cp, now, true);
      }
      return;
    }
    // F4: the local evidence is complete. A parallel escalation's verdict that is already in
    // applies now; one still in flight applies when it arrives — unless it started so long
    // ago (the last local check came late, e.g. on the normal cadence) that its votes are
    // stale: then it is dropped and the verifiers are asked afresh.
    const std::int64_t max_age_ms = static_cast<std::int64_t>(o_.parallel_escalation_max_age_s) * 1000;
    if (st.early_verdict) {
      std::shared_ptr<Verification> v = std::move(st.early_verdict);
      if (now - st.escalated_ms <= max_age_ms) {
        applyVerdict(st, *v, now);
        return;
      }
      counter("detection.verifier.parallel_expired.count").fetch_add(1, std::memory_order_relaxed);
    } else if (st.verifying) {
      if (!st.parallel_escalation || now - st.escalated_ms <= max_age_ms) return;
      counter("detection.verifier.parallel_expired.count").fetch_add(1, std::memory_order_relaxed);
      st.verifying = false;  // escalate() bumps the generation: the old verdict will be stale
    }
    if (st.deferred_until_ms > now) {
      counter("detection.verifier.deferred_retry_skipped.count").fetch_add(1, std::memory_order_relaxed);
      return;
    }
    escalate(st, cp, now, false);
  }

  // "Unknown, not Down": the failure says nothing about the site. Besides the counter, one
  // audit row per site per suspect episode, at most suspect_site_audits rows per episode, so
  // a fleet-wide storm writes a sample of its sites plus the totals on the leaving row instead
  // of one row per failure (docs/incidents.md).
  void suppressAsUnknown(const SiteState& st, const Check& c, std::int64_t now) {
    counter("detection.unknown.suppressed.count").fetch_add(1, std::memory_order_relaxed);
    if (o_.suspect_site_audits <= 0) return;
    std::uint64_t site = siteId(st);
    {
      std::lock_guard lock(suspect_audit_mu_);
      ++suspect_suppressed_;
      if (suspect_audited_.count(site) != 0) return;
      if (suspect_audited_.size() >= static_cast<std::size_t>(o_.suspect_site_audits)) {
        ++suspect_audits_skipped_;
        counter("detection.unknown.site_audit_skipped.count").fetch_add(1, std::memory_order_relaxed);
        return;
      }
      suspect_audited_.insert(site);
    }
    json meta = evidence::local(c);
    meta["rule"] = "monitor_suspect";
    meta["at"] = evidence::rfc3339(now);
    meta["local_failures"] = st.fail_count;  // frozen while the monitor is the suspect
    audit(st, "alert_suppressed", "monitor suspect: failure treated as Unknown, not Down", meta);
    counter("detection.unknown.site_audit.count").fetch_add(1, std::memory_order_relaxed);
  }

  void escalate(SiteState& st, const CheckPtr& cp, std::int64_t now, bool parallel) {
    std::uint64_t site = siteId(st);
    count("detection.verifier.escalation", nullptr);
    if (parallel) counter("detection.verifier.parallel_escalation.count").fetch_add(1, std::memory_order_relaxed);
    timer("detection.first_failure_to_verification", now - st.first_fail_ms);
    st.verifying = true;
    st.parallel_escalation = parallel;
    st.escalated_ms = now;
    std::uint32_t gen = ++st.generation;
    std::size_t n = d_.verifier ? d_.verifier->configured() : 0;
    if (n == 0) {
      // No verifiers configured: confirm without verification (compat §6.2).
      counter("detection.verifier.no_clients.count").fetch_add(1, std::memory_order_relaxed);
      Verification v;
      v.decision = Verification::Decision::kNoVerifiers;
      onVerified(st, gen, v, now);
      return;
    }
    json meta{{"rule", parallel ? "parallel_escalation" : "escalation"},
              {"failures", st.fail_count},
              {"local", evidence::local(*cp)},
              {"local_failures", st.fail_count},
              {"at_ms", now}};
    if (parallel) meta["parallel_with_local_check"] = num_of_checks_;
    if (st.phase == Phase::kUnconfirmed) meta["low_confidence_dns_failure"] = true;
    audit(st, "veriflier_sent", "escalating to " + std::to_string(n) + " verifiers", meta);
    outstanding_.fetch_add(1, std::memory_order_relaxed);
    d_.verifier->verify(st.target, cp->result, [this, gate = gate_, site, gen](Verification v) {
      std::lock_guard lock(gate->mu);
      if (!gate->open) return;
      Work w;
      w.kind = Work::Kind::kVerified;
      w.site = site;
      w.generation = gen;
      w.verification = std::make_shared<Verification>(std::move(v));
      push(std::move(w));
    });
  }

  void onVerified(SiteState& st, std::uint32_t gen, const Verification& v, std::int64_t now) {
    if (!st.verifying || gen != st.generation || (st.phase != Phase::kSeemsDown && st.phase != Phase::kUnconfirmed)) {
      // The site recovered (or was swallowed) while the verifiers were looking.
      counter("detection.verifier.stale_verdict.count").fetch_add(1, std::memory_order_relaxed);
      return;
    }
    st.verifying = false;
    if (st.fail_count < num_of_checks_) {
      // A parallel escalation answered before the last local check: its votes wait for it.
      st.early_verdict = std::make_shared<Verification>(v);
      counter("detection.verifier.parallel_parked.count").fetch_add(1, std::memory_order_relaxed);
      return;
    }
    applyVerdict(st, v, now);
  }

  // The decision, once both the local evidence (num_of_checks failures) and the verdict are in.
  void applyVerdict(SiteState& st, const Verification& v, std::int64_t now) {
    for (const VerifierVote& vote : v.votes) {
      std::string what = vote.isVote() ? (vote.outcome == VerifierVote::Outcome::kDown ? "down" : "up")
                                       : std::string(toString(vote.outcome));
      audit(st, "veriflier_sent",
            "reply from " + vote.verifier + ": " + what + " http_code=" + std::to_string(vote.http_code),
            {{"vote", evidence::vote(vote)}},
            vote.host.empty() ? vote.verifier : vote.host);
    }
    d_.metrics->gauge("detection.verifier.healthy.count").store(v.healthy);
    d_.metrics->gauge("detection.verifier.confirmations.count").store(v.confirmations);
    d_.metrics->gauge("detection.verifier.quorum.count").store(v.quorum);
    const Check* local = st.last_failure.get();
    switch (v.decision) {
      case Verification::Decision::kConfirmed:
      case Verification::Decision::kNoVerifiers:
        confirm(st, v, now);
        return;
      case Verification::Decision::kDisagreed:
        falseAlarm(st, v, now);
        return;
      case Verification::Decision::kDeferred: {
        // B3: too few healthy verifiers is no verdict. Stay Seems Down and escalate again on
        // the first failure after the back-off (capped at the site's interval).
        std::int64_t back_off = v.retry_after_ms > 0 ? v.retry_after_ms : 15'000;
        if (st.target) back_off = std::min<std::int64_t>(back_off, static_cast<std::int64_t>(st.target->interval_s) * 1000);
        st.deferred_until_ms = now + back_off;
        json meta = evidence::decision(v);
        meta["votes"] = evidence::votes(v);
        meta["rule"] = "verifier_deferred";
        audit(st, "veriflier_sent", "verifier retry deferred: " + std::to_string(v.healthy) + " healthy", meta);
        count("detection.verifier.deferred", local);
        return;
      }
    }
  }

  void confirm(SiteState& st, const Verification& v, std::int64_t now) {
    const Check* local = st.last_failure.get();
    std::uint64_t site = siteId(st);
    json meta = local ? evidence::local(*local) : json::object();
    meta.update(evidence::decision(v));
    meta["votes"] = evidence::votes(v);
    meta["verifier_results"] = evidence::verifierResults(v);
    meta["verifier_confirmed"] = true;
    meta["rule"] = v.decision == Verification::Decision::kNoVerifiers ? "no_verifiers_configured" : "verifier_quorum";
    const bool unconfirmed = st.phase == Phase::kUnconfirmed;
    if (inMaintenance(st, now)) {
      if (!unconfirmed || st.projected != SiteStatus::kRunning)
        submit(EventMutation::close(identity(st, site), "maintenance_swallowed", evidence::dump(meta), SiteStatus::kRunning));
      audit(st, "maintenance_active", "downtime suppressed during maintenance", {{"rule", "maintenance"}});
      st.phase = Phase::kUp;
      st.projected = SiteStatus::kRunning;
      st.fail_count = 0;
      ++st.generation;
      return;
    }
    if (unconfirmed) {
      // compat §3.8: nothing was open for low-confidence DNS failures; the verifiers' word
      // opens Down directly (transition `opened`, severity 4) and projects 2.
      meta["opened_after_verifier_confirmation"] = true;
      meta["low_confidence_dns_failure"] = true;
      meta["local_failures"] = st.fail_count;
      submit(EventMutation::open(identity(st, site), Severity::kDown, "Down", evidence::dump(meta),
                                 SiteStatus::kConfirmedDown));
      st.opened_ms = now;
    } else {
      submit(EventMutation::promote(identity(st, site), Severity::kDown, "Down", "verifier_confirmed",
                                    evidence::dump(meta), SiteStatus::kConfirmedDown));
    }
    st.phase = Phase::kDown;
    st.projected = SiteStatus::kConfirmedDown;
    st.down_ms = now;
    st.fail_count = 0;
    ++st.generation;
    count("detection.down.confirmed", local);
    timer("detection.seems_down_to_down", now - st.opened_ms);
    timer("detection.first_failure_to_down", now - st.first_fail_ms);
    if (inCooldown(st, now)) {
      audit(st, "alert_suppressed", "cooldown active",
            {{"rule", "cooldown"}, {"cooldown_minutes", cooldownMs(st) / 60'000}, {"status_id", 2}});
      count("detection.down.cooldown_suppressed", nullptr);
      return;
    }
    if (!local) return;
    StatusChange change = statusChange(st, *local, 2, now);
    for (const VerifierVote& vote : v.votes) {
      if (!vote.isVote()) continue;
      StatusChange::CheckEntry e;
      e.type = 2;
      e.host = vote.host.empty() ? vote.verifier : vote.host;
      e.status = vote.outcome == VerifierVote::Outcome::kUp ? 1 : 0;
      e.rtt_ms = vote.rtt_ms;
      e.code = vote.http_code;
      change.checks.push_back(std::move(e));
    }
    sendNotification(st, change, now);
    st.down_notified = true;
  }

  void falseAlarm(SiteState& st, const Verification& v, std::int64_t now) {
    const Check* local = st.last_failure.get();
    std::uint64_t site = siteId(st);
    if (local) {
      submit(EventMutation::falsePositive(identity(st, site), local->result.http_code,
                                          static_cast<int>(local->result.error),
                                          static_cast<int>(local->result.timings.rtt_ms)));
    }
    json meta = evidence::decision(v);
    meta["votes"] = evidence::votes(v);
    meta["rule"] = "verifier_disagreed";
    if (local) meta["local"] = evidence::local(*local);
    // Low-confidence DNS failures opened nothing, so there is nothing to close (unless the
    // projection was off on its own).
    if (st.phase != Phase::kUnconfirmed || st.projected != SiteStatus::kRunning)
      submit(EventMutation::close(identity(st, site), "false_alarm", evidence::dump(meta), SiteStatus::kRunning));
    count("detection.verifier.false_alarm", local);
    if (st.phase == Phase::kSeemsDown) timer("detection.seems_down_to_false_alarm", now - st.opened_ms);
    st.phase = Phase::kUp;
    st.projected = SiteStatus::kRunning;
    st.fail_count = 0;
    st.false_alarm_ms = now;
    st.first_fail_ms = 0;
    ++st.generation;
    st.last_failure.reset();
  }

  StatusChange statusChange(const SiteState& st, const Check& local, int status_id, std::int64_t now) const {
    StatusChange s;
    s.blog_id = st.blog_id;
    s.target_id = siteId(st);
    s.monitor_url = st.target ? st.target->url : "";
    s.status_id = status_id;
    s.last_check = (local.result.finished_at_ms != 0 ? local.result.finished_at_ms : now) / 1000;
    s.last_status_change = now / 1000;
    s.status_type = local.verdict.status_type;
    StatusChange::CheckEntry e;
    e.type = 1;
    e.host = d_.source;
    e.status = local.verdict.success ? 1 : 0;
    e.rtt_ms = local.result.timings.rtt_ms;
    e.code = local.result.http_code;
    s.checks.push_back(std::move(e));
    return s;
  }

  void sendNotification(SiteState& st, StatusChange change, std::int64_t now) {
    // The in-memory cooldown anchor moves when the alert leaves the engine, so a burst of
    // decisions cannot alert twice while the first is still being delivered; a notifier that
    // reports delivery moves the stored anchor (and undoes ours if it gave up).
    std::uint64_t site = siteId(st);
    std::int64_t previous = st.last_alert_ms;
    bool reports = setDeliveryCallback(change, [this, gate = gate_, site, now, previous](bool delivered) {
      std::lock_guard lock(gate->mu);
      if (!gate->open) return;  // the sink is gone; the stored anchor stays as it was
      Work w;
      w.kind = Work::Kind::kDelivered;
      w.site = site;
      w.delivered = delivered;
      w.handoff_ms = now;
      w.previous_ms = previous;
      push(std::move(w));
    });
    for (Notifier* n : d_.notifiers) n->notify(change);
    st.last_alert_ms = now;
    if (!reports && runtime_ && st.target) runtime_->lastAlertSent(st.target->id, now);
    audit(st, "wpcom_sent", "status_id " + std::to_string(change.status_id) + " sent to " +
                                std::to_string(d_.notifiers.size()) + " notifier(s)",
          {{"status_id", change.status_id}, {"status_type", std::string(toString(change.status_type))},
           {"checks", change.checks.size()}});
    count(change.status_id == 2 ? "detection.notify.down" : "detection.notify.running", nullptr);
  }

  // -- TLS advisories (compat §3.6) ---------------------------------------------------------

  void handleTls(SiteState& st, const Check& c, std::int64_t now) {
    const TlsFacts& tls = c.result.tls;
    std::uint64_t site = siteId(st);
    if (tls.version != 0) {
      if (tls.version <= 0x0302 && !st.tls_deprecated_open) {
        json meta{{"tls_version", tlsVersionName(tls.version)},
                  {"tls_version_code", evidence::tlsVersionCode(tls.version)},
                  {"cipher_suite", tls.cipher},
                  {"cipher_suite_id", evidence::tlsVersionCode(tls.cipher_id)},
                  {"url", st.target ? st.target->url : ""},
                  {"rule", "tls_deprecated"}};
        submit(EventMutation::open(identity(st, site, "tls_deprecated"), Severity::kWarning, "Warning", evidence::dump(meta)));
        st.tls_deprecated_open = true;
        count("detection.tls_deprecated.open", nullptr);
      } else if (tls.version >= 0x0303 && st.tls_deprecated_open) {
        json meta{{"tls_version", tlsVersionName(tls.version)}, {"rule", "tls_modern"}};
        submit(EventMutation::close(identity(st, site, "tls_deprecated"), "probe_cleared", evidence::dump(meta)));
        st.tls_deprecated_open = false;
      }
    }
    if (tls.cert_not_after == 0) return;
    auto day = static_cast<std::int32_t>(floorDiv(tls.cert_not_after, 86400));
    if (day != st.ssl_day) {
      st.ssl_day = day;
      if (runtime_) runtime_->sslExpiryDate(site, day);
    }
    if (st.slot != kParkMarkerSlot) flags_.setSslDay(st.slot, day);
    // Whole days, truncated (compat §3.6); an expired certificate is the worst advisory.
    std::int64_t left_ms = tls.cert_not_after * 1000 - now;
    std::int64_t days = left_ms / kDayMs;
    std::uint8_t sev = left_ms < 0 || days <= o_.tls_degraded_days ? 2 : days <= o_.tls_warning_days ? 1 : 0;
    if (sev == st.tls_expiry_sev) return;
    json meta{{"days_until", days},
              {"expires_at", evidence::rfc3339(tls.cert_not_after * 1000)},
              {"url", st.target ? st.target->url : ""},
              {"rule", sev == 0 ? "tls_expiry_renewed" : sev == 2 ? "tls_expiry_degraded" : "tls_expiry_warning"}};
    EventIdentity id = identity(st, site, "tls_expiry");
    if (sev == 0) {
      submit(EventMutation::close(id, "probe_cleared", evidence::dump(meta)));
    } else if (st.tls_expiry_sev == 0) {
      submit(EventMutation::open(id, static_cast<Severity>(sev), severityState(sev), evidence::dump(meta)));
      count("detection.tls_expiry.open", nullptr);
    } else {
      // The store names the reason: severity_escalation or severity_deescalation.
      submit(EventMutation::promote(id, static_cast<Severity>(sev), severityState(sev), "", evidence::dump(meta)));
    }
    st.tls_expiry_sev = sev;
  }

  // -- the monitor as the suspect -------------------------------------------------------------

  void onSuspectChange(bool entered, std::int64_t now) {
    const auto& t = window_.lastTotals();
    suspect_gauge_->store(entered ? 1 : 0);
    counter(entered ? "detection.monitor_suspect.entered.count" : "detection.monitor_suspect.left.count")
        .fetch_add(1, std::memory_order_relaxed);
    json meta{{"rule", "correlated_failures"},
              {"window_s", o_.correlation.window_s},
              {"results", t.results},
              {"connect_timeout_dns_failures", t.infra},
              {"resolver_failures", t.resolver},
              {"enter_ratio", o_.correlation.enter_ratio},
              {"exit_ratio", o_.correlation.exit_ratio},
              {"at", evidence::rfc3339(now)}};
    if (entered) {
      meta["site_audit_limit"] = o_.suspect_site_audits;
    } else {
      // What the episode suppressed, including the sites past the per-site row limit.
      std::lock_guard lock(suspect_audit_mu_);
      meta["suppressed_failures"] = suspect_suppressed_;
      meta["site_audit_rows"] = suspect_audited_.size();
      meta["suppressed_failures_without_site_row"] = suspect_audits_skipped_;
      suspect_audited_.clear();
      suspect_suppressed_ = suspect_audits_skipped_ = 0;
    }
    std::string detail = entered ? "monitor suspect: correlated connect/timeout/DNS failures across sites; "
                                   "such failures are Unknown, not Down"
                                 : "monitor no longer suspect: failure share back under the exit threshold";
    if (entered) {
      spdlog::warn("sink.incidents: {} ({} of {} results in {} s, {} resolver)", detail, t.infra, t.results,
                   o_.correlation.window_s, t.resolver);
    } else {
      spdlog::info("sink.incidents: {}", detail);
    }
    // A fleet-wide row: no blog, no event.
    EventIdentity id;
    EventMutation m = EventMutation::audit(id, "alert_suppressed", detail, evidence::dump(meta), false);
    submit(std::move(m));
  }

  struct Gate {
    std::mutex mu;
    bool open = true;
  };
  std::shared_ptr<Gate> gate_ = std::make_shared<Gate>();
  IncidentOptions o_;
  IncidentDeps d_;
  int num_of_checks_ = 3;
  mutable CorrelationWindow window_;
  SlotFlags flags_;
  std::vector<std::unique_ptr<Shard>> shards_;
  std::unique_ptr<SiteRuntimeWriter> runtime_;

  std::mutex ready_mu_;
  std::condition_variable ready_cv_;
  std::condition_variable tick_cv_;
  std::deque<std::size_t> ready_;
  bool stopping_ = false;
  std::vector<std::thread> workers_;
  std::thread ticker_;
  std::thread recovery_thread_;
  std::atomic<bool> recovery_stop_{false};
  std::atomic<bool> recovered_{false};
  std::vector<std::uint64_t> recovered_sites_;

  // Per-site "Unknown, not Down" audit rows of the current suspect episode.
  std::mutex suspect_audit_mu_;
  std::unordered_set<std::uint64_t> suspect_audited_;
  std::int64_t suspect_suppressed_ = 0;
  std::int64_t suspect_audits_skipped_ = 0;

  std::mutex timers_mu_;
  std::multimap<std::int64_t, Work> timers_;
  std::atomic<std::int64_t> timers_pending_{0};

  std::atomic<std::int64_t> queued_{0};
  std::atomic<std::int64_t> outstanding_{0};
  std::atomic<std::int64_t>* suspect_gauge_ = nullptr;
  std::atomic<std::int64_t>* backlog_gauge_ = nullptr;
};

std::string hostName() {
  char buf[256] = {};
  if (::gethostname(buf, sizeof buf - 1) != 0) return "local";
  return buf;
}

struct RegisteredOptions {
  IncidentOptions incidents;
};

}  // namespace

std::unique_ptr<IncidentSink> makeIncidentSink(IncidentOptions options, IncidentDeps deps) {
  return std::make_unique<IncidentSinkImpl>(std::move(options), std::move(deps));
}

void registerIncidentSink(StageRegistry& registry) {
  registry.add(
      {StageKind::kSink, "sink.incidents",
       "incident engine: Seems Down / Down / recovery in jetmon_events, verifier escalation, "
       "WPCOM notifications, TLS advisories; correlated failures are Unknown, not Down",
       [](ConfigMap& m) {
         IncidentOptions o;
         o.shards = static_cast<int>(m.getSize("shards", 0));
         o.workers = static_cast<int>(m.getSize("workers", 0));
         o.store_workers = static_cast<int>(m.getSize("store_workers", 0));
         o.alert_cooldown_minutes = static_cast<int>(m.getInt("alert_cooldown_minutes", 30, -1, 100000));
         o.recovery_cooldown = m.getBool("recovery_cooldown", true);
         o.num_of_checks = static_cast<int>(m.getSize("num_of_checks", 0));
         o.tls_warning_days = static_cast<int>(m.getInt("tls_warning_days", 30, 1, 3650));
         o.tls_degraded_days = static_cast<int>(m.getInt("tls_degraded_days", 7, 0, 3650));
         if (o.tls_degraded_days > o.tls_warning_days)
           m.diagnostics().error(m.pathOf("tls_degraded_days"), "must be <= tls_warning_days");
         o.post_recovery_suppression = m.getBool("post_recovery_suppression", true);
         o.write_ssl_expiry = m.getBool("write_ssl_expiry", true);
         o.tick_ms = static_cast<int>(m.getInt("tick_ms", 250, 10, 10000));
         o.parallel_escalation = m.getBool("parallel_escalation", true);
         o.parallel_escalation_max_age_s = static_cast<int>(m.getInt("parallel_escalation_max_age_s", 30, 1, 3600));
         o.low_confidence_dns = m.getBool("low_confidence_dns", true);
         o.suspect_site_audits = static_cast<int>(m.getInt("suspect_site_audits", 1000, 0, 10'000'000));
         o.source = m.getString("source", "");
         ConfigMap c = m.child("correlation");
         CorrelationOptions& k = o.correlation;
         k.enabled = c.getBool("enabled", true);
         k.window_s = static_cast<int>(c.getInt("window_s", 60, 1, 3600));
         k.min_results = c.getInt("min_results", 1000, 1);
         k.enter_ratio = c.getDouble("enter_ratio", 0.25);
         k.exit_ratio = c.getDouble("exit_ratio", 0.10);
         k.exit_windows = static_cast<int>(c.getInt("exit_windows", 2, 1, 100));
         k.dns_min_failures = c.getInt("dns_min_failures", 50, 1);
         k.dns_enter_ratio = c.getDouble("dns_enter_ratio", 0.05);
         k.hold_ms = static_cast<int>(c.getInt("hold_ms", 3000, 0, 600000));
         if (k.enter_ratio <= 0 || k.enter_ratio > 1)
           c.diagnostics().error(c.pathOf("enter_ratio"), "must be in (0, 1]");
         if (k.exit_ratio < 0 || k.exit_ratio > k.enter_ratio)
           c.diagnostics().error(c.pathOf("exit_ratio"), "must be in [0, enter_ratio]");
         if (k.dns_enter_ratio <= 0 || k.dns_enter_ratio > 1)
           c.diagnostics().error(c.pathOf("dns_enter_ratio"), "must be in (0, 1]");
         c.finish();
         return std::any(o);
       },
       [](const std::any& opts, StageContext& ctx) -> std::unique_ptr<Stage> {
         if (!ctx.config.database.configured) {
           throw std::invalid_argument("pipeline.sinks: sink.incidents needs a `database:` section");
         }
         IncidentOptions o = std::any_cast<IncidentOptions>(opts);
         IncidentDeps d;
         d.metrics = &ctx.metrics;
         d.pool = mysql::Pool::shared(ctx.config.database, &ctx.metrics);
         d.source = !o.source.empty() ? o.source : !ctx.config.runtime.host_id.empty() ? ctx.config.runtime.host_id : hostName();
         mysql::EventStore::Options so;
         so.workers = o.store_workers;
         so.source = d.source;
         d.store = std::make_shared<mysql::EventStore>(d.pool, so, &ctx.metrics);
         if (!ctx.config.verifiers.empty()) d.verifier = makeIncidentVerifierClient(ctx.config, ctx.loop, ctx.metrics);
         d.notifiers = ctx.notifiers;
         d.num_of_checks = ctx.config.scheduler.num_of_checks;
         return makeIncidentSink(std::move(o), std::move(d));
       }});
}

}  // namespace tidewatch::stages
