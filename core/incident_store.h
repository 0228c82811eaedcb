// IncidentStore: where the incident engine (sink.incidents) writes what it decided. Events
// (jetmon_events), one transition per event mutation (jetmon_event_transitions), audit rows
// (jetmon_audit_log), false positives (jetmon_false_positives) and the per-site runtime columns
// of jetpack_monitor_sites: site_status (projected in the same transaction as the event
// mutation), ssl_expiry_date and last_alert_sent_at (compat §1.4, §1.5, §1.12, §3.5, §5).
//
// Implementations: mysql::EventStore (io/mysql/event_store.h) in the daemon, FakeIncidentStore
// (tests/fakes/fake_incident_store.h) in the state-machine tests. Both keep these rules:
//   - at most one open event per identity (EventIdentity::dedupKey()); an open of an identity
//     that is already open writes nothing and reports kAlreadyOpen with the event as found;
//   - closed events are immutable: promote/close addressed by id to a closed event report
//     kEventClosed; by identity they find no open event (kNoOpenEvent; a close still projects);
//   - a promote to the same severity and state writes nothing (kNoop);
//   - every mutation carries a unique idempotency key (the store fills it in), and a key is
//     never written twice: a mutation applied before (a replay after a lost acknowledgement)
//     that would write again reports kApplied with `replayed` and writes nothing; one that
//     would write nothing anyway (an open of an identity still open) reports as usual;
//   - one site's mutations (endpoint_id, else blog_id) are applied in the order submitted.
//
// Threads and blocking:
//   - submit(), writeSslExpiryDate(), writeLastAlertSent() and backlog() may be called from any
//     thread, a TBB node body included: they only queue (a short mutex), never wait on the
//     database. While the database is unreachable mutations keep queueing and are applied, in
//     order, once it answers; nothing is dropped.
//   - completion callbacks run on one of the store's own threads, never on the caller's; they
//     must not block and must not call drain().
//   - drain() and listOpenEvents() block: call them from threads that may wait (startup,
//     shutdown, tests), never from a TBB node body or an I/O thread.
// Ownership: the store owns its queues and threads; whoever holds the last reference stops it
// (mutations never applied are then reported as failed through their callbacks).
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/target.h"

namespace tidewatch {

// jetmon_events.severity (compat §1.4).
enum class Severity : std::uint8_t { kUp = 0, kWarning = 1, kDegraded = 2, kSeemsDown = 3, kDown = 4 };

// The dedup identity: at most one open event per (blog, endpoint, check type, discriminator).
struct EventIdentity {
  std::uint64_t blog_id = 0;
  std::uint64_t endpoint_id = 0;   // the target id (jetpack_monitor_site_id); 0 = NULL
  std::string check_type = "http"; // http, tls_expiry, tls_deprecated
  std::string discriminator;       // "" = NULL
  // The generated jetmon_events.dedup_key of the open event with this identity.
  std::string dedupKey() const;
  // The site whose mutations stay in order: endpoint_id, else blog_id.
  std::uint64_t orderKey() const { return endpoint_id != 0 ? endpoint_id : blog_id; }
};

struct EventMutation {
  enum class Kind : std::uint8_t { kOpen, kPromote, kClose, kAudit, kFalsePositive };
  Kind kind = Kind::kOpen;
  EventIdentity identity;
  // Promote/close: the event to mutate; 0 = the currently open event of `identity` (so that a
  // mutation can be queued before the open it follows has been written).
  std::uint64_t event_id = 0;
  Severity severity = Severity::kSeemsDown;   // open/promote
  std::string state;                          // open/promote: "Seems Down", "Down", …
  std::string reason;                         // promote/close (promote: "" = derived)
  std::string metadata_json;                  // "" = NULL
  // Legacy jetpack_monitor_sites.site_status to write in the same transaction (keyed by
  // endpoint_id, or by blog_id when there is no endpoint). Open projects only if it really
  // opened; close projects even when no event was open (compat §3.4).
  std::optional<SiteStatus> project_status;
  // Audit (jetmon_audit_log).
  std::string event_type;
  std::string detail;
  bool link_open_event = false;  // audit: event_id = the open event of `identity`, if any
  // False positive (jetmon_false_positives).
  int http_code = 0;
  int error_code = 0;
  int rtt_ms = 0;
  // Transition/audit `source` ("" = the store's default, normally the host name).
  std::string source;
  // Filled by the store unless set (tests set it to simulate a replay).
  std::string idempotency_key;

  static EventMutation open(EventIdentity id, Severity severity, std::string state,
                            std::string metadata_json = "",
                            std::optional<SiteStatus> project = std::nullopt);
  static EventMutation promote(EventIdentity id, Severity severity, std::string state,
                               std::string reason = "", std::string metadata_json = "",
                               std::optional<SiteStatus> project = std::nullopt);
  static EventMutation close(EventIdentity id, std::string reason, std::string metadata_json = "",
                             std::optional<SiteStatus> project = std::nullopt);
  static EventMutation audit(EventIdentity id, std::string event_type, std::string detail,
                             std::string metadata_json = "", bool link_open_event = true);
  static EventMutation falsePositive(EventIdentity id, int http_code, int error_code, int rtt_ms);
};

struct MutationResult {
  enum class Status : std::uint8_t {
    kApplied,      // written (open: a new event was opened)
    kAlreadyOpen,  // open found the identity's open event; nothing written
    kNoop,         // promote to the same severity and state; nothing written
    kNoOpenEvent,  // promote/close found no open event (close still wrote the projection)
    kEventClosed,  // promote/close addressed a closed event by id: closed events are immutable
    kFailed,       // `error` says why (after retries, or the store stopped first)
  };
  Status status = Status::kFailed;
  std::uint64_t event_id = 0;
  Severity severity = Severity::kUp;  // the event's severity after the mutation (or as found)
  std::string state;
  bool replayed = false;              // found already applied after a lost acknowledgement
  std::string error;                  // kFailed / kEventClosed: why

  bool ok() const { return status != Status::kFailed && status != Status::kEventClosed; }
};

std::string_view toString(MutationResult::Status status);

// An event still open, as restart recovery reads it back.
struct OpenEvent {
  std::uint64_t id = 0;
  EventIdentity identity;
  Severity severity = Severity::kUp;
  std::string state;
  std::int64_t started_at_ms = 0;
  // The retry entry as the incident engine last audited it for this event (its
  // retry_dispatched / escalation audit rows carry `local_failures` and `at_ms`): lets a
  // restart continue the consecutive-failure count. 0 when no such row exists.
  int local_failures = 0;
  std::int64_t local_failures_at_ms = 0;
};

class IncidentStore {
 public:
  using Callback = std::function<void(const MutationResult&)>;
  virtual ~IncidentStore() = default;

  // Queues one mutation; `done` (optional) runs once it was applied or has failed.
  virtual void submit(EventMutation m, Callback done = {}) = 0;

  // Per-site runtime columns that are not event state: the last value per site wins and is
  // written soon (coalesced), retried while the database is away.
  // jetpack_monitor_sites.ssl_expiry_date, as days since the epoch.
  virtual void writeSslExpiryDate(std::uint64_t site_id, std::int64_t day) = 0;
  // jetpack_monitor_sites.last_alert_sent_at (the cooldown anchor); a later time never moves
  // back to an earlier one.
  virtual void writeLastAlertSent(std::uint64_t site_id, std::int64_t unix_ms) = 0;

  // Mutations and runtime updates queued or being written.
  virtual std::size_t backlog() const = 0;
  // Blocks until the backlog is empty or `timeout` passes; true if empty.
  virtual bool drain(std::chrono::milliseconds timeout) = 0;

  // Every open event (restart recovery). Blocks; false (with `error`) if the store cannot be
  // read right now.
  virtual bool listOpenEvents(std::vector<OpenEvent>& out, std::string* error) = 0;
};

}  // namespace tidewatch
