// What one decision of the incident engine asks the world to do. The state machine
// (state_machine.h) and its parts (alerts, TLS advisories) only fill an Effects; the sink
// carries them out: mutations to the IncidentStore in order, alerts to the notifiers,
// escalations to the verifiers, held failures to the executor's timers. Apart from these, the
// engine's only side effect is counting (EngineMetrics).
#pragma once

#include <atomic>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/incident_store.h"
#include "core/metrics.h"
#include "pipeline/stage.h"
#include "stages/sink/incidents/evidence.h"
#include "stages/sink/incidents/site_state.h"

namespace tidewatch::stages {

// An alert for every notifier. The cooldown anchor moved to `handoff_ms` when it left the
// engine; a delivery report comes back as Work::kDelivered with both times.
struct Alert {
  StatusChange change;
  std::uint64_t site = 0;
  std::int64_t handoff_ms = 0;
  std::int64_t previous_ms = 0;  // the anchor before: restored if the alert was not delivered
};

// Ask the verifiers about `target` (their verdict comes back as Work::kVerified with
// `generation`; a verdict of an older generation is stale).
struct Escalation {
  TargetPtr target;
  CheckPtr check;
  std::uint32_t generation = 0;
};

// Come back to this held first failure at `at_ms` (Work::kHeld).
struct HeldRelease {
  std::int64_t at_ms = 0;
  std::uint32_t generation = 0;
  CheckPtr check;
};

// A failure suppressed as Unknown while the monitor is the suspect: the suspect episode
// decides whether its site gets an audit row (suspect_episode.h).
struct UnknownFailure {
  EventIdentity identity;
  CheckPtr check;
  int local_failures = 0;
};

struct Effects {
  std::vector<EventMutation> mutations;     // to the store, in this order
  std::vector<Alert> alerts;
  std::optional<Escalation> escalation;
  std::optional<HeldRelease> hold;
  std::optional<UnknownFailure> unknown;
  std::optional<std::int32_t> ssl_day_changed;    // write jetpack_monitor_sites.ssl_expiry_date
  std::optional<std::int32_t> ssl_day_seen;       // the certificate's day, for the slot table
  std::optional<std::int64_t> last_alert_sent_ms; // write jetpack_monitor_sites.last_alert_sent_at

  void submit(EventMutation m) { mutations.push_back(std::move(m)); }
  // An audit row of the site, linked to its open http event if there is one.
  void audit(const SiteState& st, std::string type, std::string detail, const nlohmann::json& meta,
             std::string source = "") {
    EventMutation m = EventMutation::audit(identityOf(st), std::move(type), std::move(detail),
                                           meta.is_null() ? "" : evidence::dump(meta));
    m.source = std::move(source);
    submit(std::move(m));
  }
};

// The engine's counters and timers (docs/incidents.md lists them).
class EngineMetrics {
 public:
  explicit EngineMetrics(Metrics& metrics) : m_(metrics) {}

  Metrics& raw() { return m_; }
  std::atomic<std::uint64_t>& counter(const std::string& name) { return m_.counter(name); }
  void add(const std::string& name) { m_.counter(name).fetch_add(1, std::memory_order_relaxed); }
  // "<base>.count", and "<base>.<status_type>.count" when there is a check.
  void count(const std::string& base, const Check* c) {
    add(base + ".count");
    if (c) add(base + "." + std::string(toString(c->verdict.status_type)) + ".count");
  }
  // Last value and a running total: enough for the summary and the latency benchmarks.
  void timer(const std::string& name, std::int64_t ms) {
    const std::int64_t v = ms < 0 ? 0 : ms;
    m_.gauge(name + ".last_ms").store(v, std::memory_order_relaxed);
    m_.counter(name + ".total_ms").fetch_add(static_cast<std::uint64_t>(v), std::memory_order_relaxed);
    m_.counter(name + ".samples").fetch_add(1, std::memory_order_relaxed);
  }

 private:
  Metrics& m_;
};

}  // namespace tidewatch::stages
