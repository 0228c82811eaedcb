// An in-memory IncidentStore (core/incident_store.h) with the MySQL store's observable
// semantics, for the incident engine's tests and benchmarks: at most one open event per
// identity, closed events immutable, kAlreadyOpen / kNoop / kNoOpenEvent / kEventClosed as the
// SQL reports them, the site_status projection in the same step as its mutation, idempotency
// keys (a mutation whose key was written before writes nothing and reports kApplied +
// replayed where it would have written), one site's mutations in submission order, and the open events with their last audited failure count for restart
// recovery. tests/core/incident_store_contract.h runs the same scenarios against this fake and
// against mysql::EventStore.
//
// Threads: as the interface says. One applier thread of its own applies everything in
// submission order and runs the completion callbacks (never on the caller's thread).
// setAvailable(false) is a database outage: nothing is applied (mutations and runtime writes
// wait in order, listOpenEvents() fails) until it is set back; setDelay() makes each write
// slow. The snapshots (events(), audits(), …) copy under the store's mutex.
#pragma once

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <variant>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/incident_store.h"

namespace tidewatch::fakes {

class FakeIncidentStore final : public IncidentStore {
 public:
  // The rows, as the MySQL tables hold them (what tests look at).
  struct Event {
    std::uint64_t id = 0;
    EventIdentity identity;
    Severity severity = Severity::kUp;
    std::string state;
    std::string metadata;       // "" = NULL
    std::int64_t started_at_ms = 0;
    bool open = true;
    std::string resolution_reason;
  };
  struct Transition {
    std::uint64_t id = 0;
    std::uint64_t event_id = 0;
    EventIdentity identity;
    std::optional<Severity> severity_before, severity_after;
    std::optional<std::string> state_before;
    std::string state_after;
    std::string reason;
    std::string source;
    std::string metadata;
  };
  struct Audit {
    std::uint64_t id = 0;
    std::uint64_t blog_id = 0;   // 0 = NULL (a fleet-wide row)
    std::uint64_t event_id = 0;  // 0 = NULL
    std::string event_type;
    std::string source;
    std::string detail;
    std::string metadata;
  };
  struct FalsePositive {
    std::uint64_t blog_id = 0;
    int http_code = 0, error_code = 0, rtt_ms = 0;
  };
  struct Site {
    std::uint64_t blog_id = 0;
    SiteStatus status = SiteStatus::kRunning;
    int status_changes = 0;                    // writes that changed site_status
    std::optional<std::int64_t> ssl_expiry_day;  // days since the epoch
    std::optional<std::int64_t> last_alert_ms;
  };

  struct Options {
    std::string source = "local";         // transition/audit source unless a mutation names one
    std::function<std::int64_t()> now_ms;  // started_at of new events; null = the system clock
  };

  FakeIncidentStore() : FakeIncidentStore(Options{}) {}
  explicit FakeIncidentStore(Options options) : o_(std::move(options)) {
    if (!o_.now_ms) {
      o_.now_ms = [] {
        return std::chrono::duration_cast<std::chrono::milliseconds>(
                   std::chrono::system_clock::now().time_since_epoch())
            .count();
      };
    }
    thread_ = std::thread([this] { run(); });
  }
  ~FakeIncidentStore() override {
    {
      std::lock_guard lock(mu_);
      stopping_ = true;
    }
    cv_.notify_all();
    thread_.join();
    // Never applied: reported as failed, as the MySQL store does on shutdown.
    for (auto& item : queue_) {
      if (auto* m = std::get_if<Pending>(&item); m && m->done) m->done(failed("store stopped"));
    }
  }

  // ---- IncidentStore ------------------------------------------------------------------------

  void submit(EventMutation m, Callback done = {}) override {
    {
      std::lock_guard lock(mu_);
      if (m.idempotency_key.empty()) m.idempotency_key = "fake-" + std::to_string(++key_seq_);
      queue_.push_back(Pending{std::move(m), std::move(done)});
    }
    cv_.notify_all();
  }
  void writeSslExpiryDate(std::uint64_t site_id, std::int64_t day) override {
    enqueue(Runtime{site_id, day, std::nullopt});
  }
  void writeLastAlertSent(std::uint64_t site_id, std::int64_t unix_ms) override {
    enqueue(Runtime{site_id, std::nullopt, unix_ms});
  }
  std::size_t backlog() const override {
    std::lock_guard lock(mu_);
    return queue_.size() + (busy_ ? 1 : 0);
  }
  bool drain(std::chrono::milliseconds timeout) override {
    std::unique_lock lock(mu_);
    return cv_.wait_for(lock, timeout, [&] { return queue_.empty() && !busy_; });
  }
  bool listOpenEvents(std::vector<OpenEvent>& out, std::string* error) override {
    std::lock_guard lock(mu_);
    out.clear();
    if (!available_) {
      if (error) *error = "database unavailable (fake outage)";
      return false;
    }
    for (const Event& e : events_) {
      if (!e.open) continue;
      OpenEvent o;
      o.id = e.id;
      o.identity = e.identity;
      o.severity = e.severity;
      o.state = e.state;
      o.started_at_ms = e.started_at_ms;
      // The latest audit row of the event that recorded the engine's failure count.
      for (auto a = audits_.rbegin(); a != audits_.rend(); ++a) {
        if (a->event_id != e.id || a->metadata.empty()) continue;
        auto j = nlohmann::json::parse(a->metadata, nullptr, false);
        if (!j.is_object() || !j.contains("local_failures")) continue;
        o.local_failures = static_cast<int>(std::clamp<long long>(j["local_failures"].get<long long>(), 0, 255));
        o.local_failures_at_ms = j.value("at_ms", 0LL);
        break;
      }
      out.push_back(std::move(o));
    }
    return true;
  }

  // ---- test controls --------------------------------------------------------------------------

  // A jetpack_monitor_sites row (projections and runtime writes only change existing rows).
  void addSite(std::uint64_t id, std::uint64_t blog_id, SiteStatus status = SiteStatus::kRunning) {
    std::lock_guard lock(mu_);
    sites_[id] = Site{blog_id, status, 0, std::nullopt, std::nullopt};
  }
  // false: a database outage until set back to true.
  void setAvailable(bool available) {
    {
      std::lock_guard lock(mu_);
      available_ = available;
    }
    cv_.notify_all();
  }
  // Each write takes this long (a slow database).
  void setDelay(std::chrono::milliseconds delay) {
    std::lock_guard lock(mu_);
    delay_ = delay;
  }
  // Records the thread every callback runs on (the contract: never the caller's).
  std::vector<std::thread::id> callbackThreads() const {
    std::lock_guard lock(mu_);
    return callback_threads_;
  }

  // ---- snapshots ------------------------------------------------------------------------------

  std::vector<Event> events() const { return copy(events_); }
  std::vector<Transition> transitions() const { return copy(transitions_); }
  std::vector<Audit> audits() const { return copy(audits_); }
  std::vector<FalsePositive> falsePositives() const { return copy(false_positives_); }
  std::optional<Site> site(std::uint64_t id) const {
    std::lock_guard lock(mu_);
    auto it = sites_.find(id);
    return it == sites_.end() ? std::nullopt : std::optional<Site>(it->second);
  }

 private:
  struct Pending {
    EventMutation mutation;
    Callback done;
  };
  struct Runtime {
    std::uint64_t site_id = 0;
    std::optional<std::int64_t> ssl_day;
    std::optional<std::int64_t> last_alert_ms;
  };
  using Item = std::variant<Pending, Runtime>;
  using Status = MutationResult::Status;

  template <class T>
  std::vector<T> copy(const std::vector<T>& v) const {
    std::lock_guard lock(mu_);
    return v;
  }
  static MutationResult failed(std::string why) {
    MutationResult r;
    r.error = std::move(why);
    return r;
  }
  void enqueue(Item item) {
    {
      std::lock_guard lock(mu_);
      queue_.push_back(std::move(item));
    }
    cv_.notify_all();
  }

  void run() {
    std::unique_lock lock(mu_);
    for (;;) {
      cv_.wait(lock, [&] { return stopping_ || (available_ && !queue_.empty()); });
      if (stopping_) return;
      Item item = std::move(queue_.front());
      queue_.pop_front();
      busy_ = true;
      if (delay_.count() > 0) {
        lock.unlock();
        std::this_thread::sleep_for(delay_);
        lock.lock();
      }
      MutationResult r;
      Callback done;
      if (auto* p = std::get_if<Pending>(&item)) {
        r = apply(p->mutation);
        done = std::move(p->done);
      } else {
        applyRuntime(std::get<Runtime>(item));
      }
      if (done) {
        callback_threads_.push_back(std::this_thread::get_id());
        lock.unlock();
        done(r);
        lock.lock();
      }
      busy_ = false;
      cv_.notify_all();
    }
  }

  // ---- the SQL's semantics, in memory (under mu_) ---------------------------------------------

  // The open event of an identity (the unique dedup_key index).
  Event* findOpen(const EventIdentity& id) {
    const std::string key = id.dedupKey();
    for (Event& e : events_) {
      if (e.open && e.identity.dedupKey() == key) return &e;
    }
    return nullptr;
  }
  // The event a promote/close addresses: by id, else the open one of its identity.
  Event* find(const EventMutation& m) {
    if (m.event_id == 0) return findOpen(m.identity);
    for (Event& e : events_) {
      if (e.id == m.event_id) return &e;
    }
    return nullptr;
  }
  void project(const EventMutation& m) {
    if (!m.project_status) return;
    for (auto& [id, s] : sites_) {
      bool match = m.identity.endpoint_id != 0 ? id == m.identity.endpoint_id : s.blog_id == m.identity.blog_id;
      if (match && s.status != *m.project_status) {
        s.status = *m.project_status;
        ++s.status_changes;
      }
    }
  }
  void transition(const EventMutation& m, const Event& e, const Event* before, std::optional<Severity> after,
                  std::string state_after, std::string reason) {
    Transition t;
    t.id = transitions_.size() + 1;
    t.event_id = e.id;
    t.identity = m.identity;
    if (before) {
      t.severity_before = before->severity;
      t.state_before = before->state;
    }
    t.severity_after = after;
    t.state_after = std::move(state_after);
    t.reason = std::move(reason);
    t.source = m.source.empty() ? o_.source : m.source;
    t.metadata = m.metadata_json;
    transitions_.push_back(std::move(t));
  }

  // A mutation evaluates like the SQL does; when it would write a row whose idempotency key is
  // already stored (the UNIQUE index), nothing is written and the original outcome is
  // reported as replayed — so a replay after the event moved on never writes twice.
  MutationResult apply(const EventMutation& m) {
    MutationResult r;
    switch (m.kind) {
      case EventMutation::Kind::kOpen: r = applyOpen(m); break;
      case EventMutation::Kind::kPromote: r = applyPromote(m); break;
      case EventMutation::Kind::kClose: r = applyClose(m); break;
      case EventMutation::Kind::kAudit: r = applyAudit(m); break;
      case EventMutation::Kind::kFalsePositive:
        if (replayed(m, r)) break;
        false_positives_.push_back({m.identity.blog_id, m.http_code, m.error_code, m.rtt_ms});
        r.status = Status::kApplied;
        remember(m);
        break;
    }
    return r;
  }
  bool replayed(const EventMutation& m, MutationResult& r) const {
    auto seen = keys_.find(m.idempotency_key);
    if (seen == keys_.end()) return false;
    r = seen->second;
    r.status = Status::kApplied;
    r.replayed = true;
    return true;
  }
  // Stores the key with the row just written, and what a replay reports (what that row says).
  void remember(const EventMutation& m) {
    MutationResult replay;
    if (m.kind == EventMutation::Kind::kAudit) {
      replay.event_id = audits_.back().event_id;
    } else if (m.kind != EventMutation::Kind::kFalsePositive) {
      const Transition& t = transitions_.back();
      replay.event_id = t.event_id;
      replay.severity = t.severity_after.value_or(Severity::kUp);
      replay.state = t.state_after;
    }
    keys_[m.idempotency_key] = replay;
  }

  MutationResult applyOpen(const EventMutation& m) {
    MutationResult r;
    if (Event* e = findOpen(m.identity)) {
      // Already open: report its current values; metadata stays as opened.
      r.status = Status::kAlreadyOpen;
      r.event_id = e->id;
      r.severity = e->severity;
      r.state = e->state;
      return r;
    }
    if (replayed(m, r)) return r;
    Event e;
    e.id = events_.size() + 1;
    e.identity = m.identity;
    e.severity = m.severity;
    e.state = m.state;
    e.metadata = m.metadata_json;
    e.started_at_ms = o_.now_ms();
    events_.push_back(e);
    transition(m, e, nullptr, m.severity, m.state, "opened");
    remember(m);
    project(m);
    r.status = Status::kApplied;
    r.event_id = e.id;
    r.severity = m.severity;
    r.state = m.state;
    return r;
  }

  // Reports the event in `r`; false (and kEventClosed) when it is closed.
  static bool reportOpen(const Event& e, MutationResult& r) {
    r.event_id = e.id;
    r.severity = e.severity;
    r.state = e.state;
    if (e.open) return true;
    r.status = Status::kEventClosed;
    r.error = "event " + std::to_string(e.id) + " is closed; closed events are immutable";
    return false;
  }

  MutationResult applyPromote(const EventMutation& m) {
    MutationResult r;
    Event* e = find(m);
    if (!e) {
      r.status = Status::kNoOpenEvent;
      return r;
    }
    if (!reportOpen(*e, r)) return r;
    if (e->severity == m.severity && e->state == m.state) {
      r.status = Status::kNoop;
      return r;
    }
    std::string reason = m.reason;
    if (reason.empty()) {
      reason = m.severity > e->severity   ? "severity_escalation"
               : m.severity < e->severity ? "severity_deescalation"
                                          : "state_change";
    }
    if (replayed(m, r)) return r;
    const Event before = *e;
    e->severity = m.severity;
    e->state = m.state;
    transition(m, *e, &before, m.severity, m.state, reason);
    remember(m);
    project(m);
    r.status = Status::kApplied;
    r.severity = m.severity;
    r.state = m.state;
    return r;
  }

  MutationResult applyClose(const EventMutation& m) {
    MutationResult r;
    Event* e = find(m);
    if (!e) {
      project(m);  // no open event: just project (compat §3.4)
      r.status = Status::kNoOpenEvent;
      return r;
    }
    if (!reportOpen(*e, r)) return r;
    if (replayed(m, r)) return r;
    const Event before = *e;
    e->open = false;
    e->resolution_reason = m.reason;
    transition(m, *e, &before, std::nullopt, "Resolved", m.reason);
    remember(m);
    project(m);
    r.status = Status::kApplied;
    r.state = "Resolved";
    return r;
  }

  MutationResult applyAudit(const EventMutation& m) {
    MutationResult r;
    if (replayed(m, r)) return r;
    Audit a;
    a.id = audits_.size() + 1;
    a.blog_id = m.identity.blog_id;
    a.event_id = m.event_id;
    if (m.event_id == 0 && m.link_open_event) {
      if (Event* e = findOpen(m.identity)) a.event_id = e->id;
    }
    a.event_type = m.event_type;
    a.source = m.source.empty() ? o_.source : m.source;
    a.detail = m.detail.substr(0, 1024);
    a.metadata = m.metadata_json;
    audits_.push_back(std::move(a));
    remember(m);
    r.status = Status::kApplied;
    r.event_id = m.event_id;
    return r;
  }

  void applyRuntime(const Runtime& u) {
    auto it = sites_.find(u.site_id);
    if (it == sites_.end()) return;  // UPDATE … WHERE: no row, nothing written
    if (u.ssl_day) it->second.ssl_expiry_day = u.ssl_day;
    if (u.last_alert_ms) it->second.last_alert_ms = std::max(it->second.last_alert_ms.value_or(0), *u.last_alert_ms);
  }

  Options o_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::deque<Item> queue_;
  bool busy_ = false;
  bool stopping_ = false;
  bool available_ = true;
  std::chrono::milliseconds delay_{0};
  std::uint64_t key_seq_ = 0;
  std::vector<Event> events_;
  std::vector<Transition> transitions_;
  std::vector<Audit> audits_;
  std::vector<FalsePositive> false_positives_;
  std::map<std::uint64_t, Site> sites_;
  std::map<std::string, MutationResult> keys_;
  std::vector<std::thread::id> callback_threads_;
  std::thread thread_;
};

}  // namespace tidewatch::fakes
