// sink.incidents: the incident engine. Turns check results into Jetmon v2 incidents
// (reference/jetmon-compat.md §3–§7): Seems Down on the first failure, local follow-ups,
// escalation to the verifiers after NUM_OF_CHECKS failures, Down on confirmation, a false
// alarm on disagreement, recovery, maintenance swallowing, alert cooldown, TLS advisories —
// with the reference's bugs fixed on purpose (B3 deferral instead of false alarm, B4 no
// re-escalation of a confirmed-down site, B5 recovery alerts only after a down alert and
// suppressed recoveries audited) and one rule of our own: when failures are correlated
// across unrelated sites, the monitor is the suspect and nobody is paged (docs/incidents.md).
//
// Threads: wants() and consume() run on TBB threads and only touch atomics and a shard queue.
// Each site belongs to one shard (target id mod shards); a small pool of the sink's own
// worker threads runs the state machine shard by shard, so a site's transitions stay in
// order and a slow verifier or database only delays its own shard. Database writes go through
// the EventStore (its own writer threads); verifier RPCs and notifications are asynchronous.
// allowFollowUp() is called on the dispatcher's thread and reads atomics only.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "core/incident_store.h"
#include "pipeline/registry.h"
#include "pipeline/stage.h"
#include "pipeline/verification.h"

namespace tidewatch {
class Metrics;
}  // namespace tidewatch

namespace tidewatch::stages {

// "Unknown, not Down": the rule that makes the monitor itself the suspect.
struct CorrelationOptions {
  bool enabled = true;
  int window_s = 60;                // sliding window of results (one-second buckets)
  std::int64_t min_results = 1000;  // fewer results in the window decide nothing
  double enter_ratio = 0.25;        // share of connect/timeout/DNS failures that enters
  double exit_ratio = 0.10;         // below this for `exit_windows` whole windows leaves
  int exit_windows = 2;
  // Resolver rule: DNS timeouts/servfail/resolver errors across many sites.
  std::int64_t dns_min_failures = 50;
  double dns_enter_ratio = 0.05;
  // A first connect/timeout/DNS failure of a healthy site waits this long for the window's
  // verdict before it opens Seems Down, so the first seconds of a storm open nothing.
  int hold_ms = 3000;
};

struct IncidentOptions {
  int shards = 0;                   // 0 = clamp(cores × 4, 8, 256)
  int workers = 0;                  // state-machine threads; 0 = clamp(cores, 1, 4)
  int store_workers = 0;            // event-store writer threads; 0 = the store's default
  int alert_cooldown_minutes = 30;  // ALERT_COOLDOWN_MINUTES; ≤ 0 disables
  bool recovery_cooldown = true;    // cooldown applies to recovery alerts too (compat §5)
  int num_of_checks = 0;            // 0 = scheduler.num_of_checks
  int tls_warning_days = 30;
  int tls_degraded_days = 7;
  bool post_recovery_suppression = true;  // compat §3.8
  bool write_ssl_expiry = true;     // jetpack_monitor_sites.ssl_expiry_date on date change
  int tick_ms = 250;                // correlation + held-failure timer; 0 = caller ticks (tests)
  // Escalate to the verifiers in parallel with the last local confirmation check (when
  // num_of_checks − 1 failures are in): their verdict counts only once that check has failed
  // too, and only if it failed within `parallel_escalation_max_age_s` of the escalation; a
  // success in between discards it (no false alarm). docs/incidents.md "Detection latency".
  bool parallel_escalation = true;
  int parallel_escalation_max_age_s = 30;
  // compat §3.8 low-confidence DNS: connect/timeout failures whose DNS lookup got no answer
  // (DNS timeout, SERVFAIL, resolver error; not NXDOMAIN) count retries without opening Seems
  // Down; verifier confirmation opens Down directly.
  bool low_confidence_dns = true;
  // Per-site audit rows for failures suppressed while the monitor is the suspect: one per
  // site per suspect episode, at most this many per episode (0 = fleet-wide rows only).
  int suspect_site_audits = 1000;
  std::string source;               // transition/audit source; "" = runtime.host_id / hostname
  CorrelationOptions correlation;
};

// What the engine writes to and talks to. Tests build these by hand (fake verifier,
// recording notifier, fake clock); the registered factory builds the real ones.
struct IncidentDeps {
  std::shared_ptr<IncidentStore> store;       // events, audit rows, site runtime columns
  std::shared_ptr<VerifierClient> verifier;   // null or 0 configured = confirm at once (§6.2)
  std::vector<Notifier*> notifiers;
  Metrics* metrics = nullptr;                 // required
  std::function<std::int64_t()> now_ms;       // null = the system clock
  int num_of_checks = 3;
  std::string source = "local";
};

class IncidentSink : public Sink {
 public:
  // Evaluates the correlation window and releases due held failures. The sink's own ticker
  // calls it every tick_ms; with tick_ms = 0 the caller does (tests, with a fake clock).
  virtual void tick() = 0;
  // Waits until every queued result, verification and database write is done (tests).
  virtual bool waitIdle(std::chrono::milliseconds timeout) = 0;
  virtual bool monitorSuspect() const = 0;
  // True once the open events of a previous run have been loaded (restart recovery).
  virtual bool recovered() const = 0;
};

std::unique_ptr<IncidentSink> makeIncidentSink(IncidentOptions options, IncidentDeps deps);

void registerIncidentSink(StageRegistry& registry);

}  // namespace tidewatch::stages
