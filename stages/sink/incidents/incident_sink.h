// sink.incidents: the incident engine. Turns check results into Jetmon v2 incidents
// (reference/jetmon-compat.md §3–§7): Seems Down on the first failure, local follow-ups,
// escalation to the verifiers after NUM_OF_CHECKS failures, Down on confirmation, a false
// alarm on disagreement, recovery, maintenance swallowing, alert cooldown, TLS advisories —
// with the reference's bugs fixed on purpose (B3 deferral instead of false alarm, B4 no
// re-escalation of a confirmed-down site, B5 recovery alerts only after a down alert and
// suppressed recoveries audited) and one rule of our own: when failures are correlated
// across unrelated sites, the monitor is the suspect and nobody is paged (docs/incidents.md).
//
// The decisions are a pure state machine (state_machine.h, with alerts.h and
// tls_advisories.h); around it: the shard executor (shard_executor.h), the hot-path slot
// table (slot_flags.h), restart recovery (recovery.h), the correlation window
// (correlation.h) and suspect episodes (suspect_episode.h), option parsing
// (incident_options.h). The sink carries out what the engine decides.
//
// Threads: wants() and consume() run on TBB threads and only touch atomics and a shard queue.
// Each site belongs to one shard (target id mod shards); a small pool of the sink's own
// worker threads runs the state machine shard by shard, so a site's transitions stay in
// order and a slow verifier or database only delays its own shard. Database writes go through
// the IncidentStore (its own writer threads, never waited for); verifier RPCs and
// notifications are asynchronous. allowFollowUp() is called on the dispatcher's thread and
// reads atomics only.
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
#include "stages/sink/incidents/incident_options.h"

namespace tidewatch {
class Metrics;
}  // namespace tidewatch

namespace tidewatch::stages {

// What the engine writes to and talks to. Tests build these by hand (tests/fakes: an
// in-memory store, a fake verifier, a recording notifier, a fake clock); the registered
// factory builds the real ones (mysql::EventStore on the shared pool).
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
