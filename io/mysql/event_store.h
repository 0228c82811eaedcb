// The event store: authoritative incident state in jetmon_events, one row in
// jetmon_event_transitions per mutation, and the legacy site_status projection — all three in
// one transaction (compat §1.4, §1.5, §3.5, §15.6/15.15). Also the audit-log and
// false-positive inserts, so that everything the incident engine writes for a site is applied
// in the order it was decided.
//
// Threads: submit() may be called from any thread (a TBB node body included): it only queues.
// Mutations are sharded by site (endpoint_id, else blog_id) onto writer threads, which apply
// each shard's queue strictly in order. While the database is unreachable a shard waits on its
// head mutation (pool backoff) and keeps queueing: nothing is dropped, everything is applied
// in order once the database answers. Completion callbacks run on the writer thread and must
// not block.
//
// Idempotency: every mutation carries a unique idempotency_key, stored with the transition,
// audit or false-positive row it writes (UNIQUE index). When a connection is lost mid-write the
// commit may or may not have happened; the replay first looks the key up and reports the
// original outcome instead of writing twice.
//
// Retries: MySQL 1213 (deadlock) and 1205 (lock wait timeout) are retried locally, 3 attempts,
// 25 ms × attempt (compat §3.8); counter eventstore.mutation.retry.count.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "io/mysql/db_error.h"
#include "core/target.h"

namespace tidewatch {
class Metrics;
}

namespace tidewatch::mysql {

class Pool;
class Session;

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
    kFailed,       // `error` says why (after retries)
  };
  Status status = Status::kFailed;
  std::uint64_t event_id = 0;
  Severity severity = Severity::kUp;  // the event's severity after the mutation (or as found)
  std::string state;
  bool replayed = false;              // found already applied after a lost acknowledgement
  DbError error;

  bool ok() const { return status != Status::kFailed && status != Status::kEventClosed; }
};

std::string_view toString(MutationResult::Status status);

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

// One mutation as one transaction on `session` (blocking; no retries). `check_replay` looks
// the idempotency key up first. Exposed for tests and benchmarks.
MutationResult applyMutation(Session& session, const EventMutation& m, const std::string& source,
                             bool check_replay);

// All open events (restart recovery: the incident engine rebuilds its per-site state from
// these). Blocking.
DbError listOpenEvents(Session& session, std::vector<OpenEvent>& out);

class EventStore {
 public:
  struct Options {
    int workers = 0;                 // 0 = automatic (one per core, 2..8)
    std::string source = "local";    // transition/audit source: the host name
    int lock_attempts = 3;
  };
  using Callback = std::function<void(const MutationResult&)>;

  EventStore(std::shared_ptr<Pool> pool, Options options, Metrics* metrics = nullptr);
  ~EventStore();  // stop(): unapplied mutations are reported as failed ("shutdown")
  EventStore(const EventStore&) = delete;
  EventStore& operator=(const EventStore&) = delete;

  // Queues; never blocks on the database.
  void submit(EventMutation m, Callback done = {});
  // Mutations queued or being applied.
  std::size_t backlog() const;
  // Blocks until the backlog is empty or `timeout` passes; true if empty.
  bool drain(std::chrono::milliseconds timeout);
  void stop();

  // Blocking read on a pooled session (call from a non-TBB thread, e.g. at startup).
  DbError listOpenEvents(std::vector<OpenEvent>& out);

 private:
  struct Shard;
  void run(Shard& shard);
  MutationResult applyWithRetries(Shard& shard, const EventMutation& m);

  std::shared_ptr<Pool> pool_;
  Options options_;
  Metrics* metrics_;
  std::vector<std::unique_ptr<Shard>> shards_;
  std::string key_prefix_;
};

}  // namespace tidewatch::mysql
