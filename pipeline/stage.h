// The five kinds of swappable stages. Each implementation registers a factory under a stable
// name (registry.h, stages/register_all.cpp); the YAML config picks implementations by name.
//
// Threads (DESIGN.md §2): probes start I/O from any thread and complete on I/O threads;
// classifiers and sinks' consume() run in the TBB arena and must only use CPU (no sleeping,
// no socket or database waits) — a sink that writes somewhere queues to its own thread.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "pipeline/check.h"
#include "core/target.h"

namespace tidewatch {

class Stage {
 public:
  virtual ~Stage() = default;
};

// ---- source ---------------------------------------------------------------------------

// Receives fleet snapshots from a source. Called from the source's own thread (or the
// runner's during start()); the receiver merges on its own strand.
class TargetListener {
 public:
  virtual ~TargetListener() = default;
  // A complete snapshot of the owned fleet: targets not in it are removed, new ones added,
  // changed ones replaced. Ids are unique within a snapshot.
  virtual void replaceFleet(std::vector<Target> fleet) = 0;
};

class TargetSource : public Stage {
 public:
  // Deliver at least one snapshot (synchronously or soon), then keep it fresh until stop().
  virtual void start(TargetListener& listener) = 0;
  virtual void stop() {}
  // SIGHUP: re-read the fleet now (a file source re-reads its file).
  virtual void refresh() {}
  // Load-in-progress or deferred-by-pressure hints; the runner calls this every few seconds.
  virtual void setUnderPressure(bool) {}
};

// ---- probe ----------------------------------------------------------------------------

class ProbeCallback {
 public:
  virtual ~ProbeCallback() = default;
  // Exactly once per start(), on any thread, with check->result filled in.
  virtual void onProbeDone(CheckPtr check) = 0;
};

// What a probe knows of its own health, cumulative since it started: losses that are the
// monitor's doing, never the sites'. The runner's controller reads it every control period
// and sheds concurrency when they grow (docs/architecture.md "Token target").
struct ProbeHealth {
  std::uint64_t lookups = 0;            // DNS queries sent by our resolver
  std::uint64_t lookup_timeouts = 0;    // of those, answered by nobody in time
  std::uint64_t resolver_drops = 0;     // datagrams the kernel dropped on our resolver sockets
  std::uint64_t local_errors = 0;       // checks lost to local resource limits (monitor_fault)
};

class Probe : public Stage {
 public:
  // Begins the check described by check->request and returns without blocking. The probe
  // must complete every started check exactly once — timeouts and cancellations included —
  // bounded by the check's deadline.
  virtual void start(CheckPtr check, ProbeCallback& done) = 0;
  // Shutdown: stop accepting new work is the runner's job; in-flight checks still complete.
  virtual void stop() {}
  // Any thread, cheap (reads counters).
  virtual ProbeHealth health() const { return {}; }
  // The target will be due at `due_s`, about scheduler.prefetch_s from now: the probe may
  // prepare (resolve its name ahead, so that DNS leaves the check's critical path). Called on
  // the dispatcher's thread once per scheduled check; must not block and must be cheap.
  virtual void prefetch(const Target& target, std::int64_t due_s) {}
};

// ---- classify -------------------------------------------------------------------------

class Classifier : public Stage {
 public:
  // Fills check.verdict from check.result (and the target's rules). Pure CPU, any thread.
  virtual void classify(Check& check) const = 0;
};

// ---- sink -----------------------------------------------------------------------------

// Work a sink or notifier accepted and has not finished (inside the stage, its writers and
// their queues), against the stage's own bound. Reaching the bound is pressure that pauses
// dispatch (DispatchGate), never a loss: a stage never drops work to stay under it.
struct Backlog {
  std::int64_t rows = 0;
  std::int64_t bytes = 0;
  std::int64_t max_rows = 0;   // 0 = no bound in rows (naturally bounded, e.g. by the fleet)
  std::int64_t max_bytes = 0;  // 0 = no bound in bytes
  // The fuller of rows/max_rows and bytes/max_bytes (0 when unbounded).
  double fill() const {
    double f = 0;
    if (max_rows > 0) f = static_cast<double>(rows) / static_cast<double>(max_rows);
    if (max_bytes > 0) f = std::max(f, static_cast<double>(bytes) / static_cast<double>(max_bytes));
    return f;
  }
  Backlog& operator+=(const Backlog& o) {
    rows += o.rows;
    bytes += o.bytes;
    max_rows += o.max_rows;
    max_bytes += o.max_bytes;
    return *this;
  }
};

class Sink : public Stage {
 public:
  // Route filter: only checks for which this returns true are sent to consume().
  virtual bool wants(const Check&) const { return true; }
  // TBB thread, CPU only. `serial()` sinks are never called concurrently.
  virtual void consume(const CheckPtr& check) = 0;
  virtual bool serial() const { return true; }
  // Whether a failing check may be followed up on the retry cadence (scheduler.
  // retry_interval_s) rather than the site's normal cadence. Called on the dispatcher's
  // thread while rescheduling: must be thread-safe and cheap. The incident engine says no
  // for confirmed-down sites and while the monitor itself is the suspect.
  virtual bool allowFollowUp(const Check&) const { return true; }
  // Queued-but-unfinished work (the dispatcher's pause rule). Any thread, cheap.
  virtual Backlog backlog() const { return {}; }
  // Shutdown: write everything queued; may block (called on the runner thread).
  virtual void flush() {}
};

// ---- notify ---------------------------------------------------------------------------

// A WPCOM status change (compat §7.2).
struct StatusChange {
  std::uint64_t blog_id = 0;
  std::uint64_t target_id = 0;
  std::string monitor_url;
  int status_id = 1;                 // 2 down, 1 running
  std::int64_t last_check = 0;       // unix seconds
  std::int64_t last_status_change = 0;
  StatusType status_type = StatusType::kSuccess;
  struct CheckEntry {
    int type = 1;                    // 1 local, 2 verifier
    std::string host;
    int status = 0;                  // 1 if that check succeeded
    std::uint32_t rtt_ms = 0;
    int code = 0;                    // HTTP code
  };
  std::vector<CheckEntry> checks;
  // Optional: told whether the notification was delivered (WPCOM: HTTP < 400, legacy also
  // `{"success": true}`), so the incident engine can set last_alert_sent_at (compat §7.4).
  // A notifier that delivers (notify.wpcom) calls it exactly once, on its own I/O thread,
  // possibly long after notify() returned (retry, open circuit breaker); false also for a
  // permanent failure, a dropped notification or `enable: false`. Others never call it.
  std::function<void(bool delivered)> on_delivered;
};

class Notifier : public Stage {
 public:
  // Off the hot path: queue and deliver on the notifier's own thread or the event loop.
  virtual void notify(const StatusChange& change) = 0;
  virtual void flush() {}
  // Queued-but-undelivered notifications (the dispatcher's pause rule). Any thread, cheap.
  virtual Backlog backlog() const { return {}; }
};

}  // namespace tidewatch
