// The event SQL: one incident mutation as one MySQL transaction — the jetmon_events row, its
// jetmon_event_transitions row and the legacy site_status projection commit together (compat
// §1.4, §1.5, §3.5, §15.6/15.15) — and the restart-recovery read of the open events.
// mysql::EventStore runs these on its writer threads; tests and benchmarks call them directly.
//
// Threads: every function blocks on `session` (a connection owned by the calling thread).
#pragma once

#include <string>
#include <vector>

#include "core/incident_store.h"
#include "io/mysql/db_error.h"

namespace tidewatch::mysql {

class Session;

// One mutation as one transaction on `session` (no retries). `check_replay` looks the
// idempotency key up first. A failure (kFailed) is also returned in `error`, as the database
// reported it, so that callers can tell a lost connection or a lock conflict from the rest.
MutationResult applyMutation(Session& session, const EventMutation& m, const std::string& source,
                             bool check_replay, DbError* error = nullptr);

// All open events, each with the failure count its latest audit row recorded.
DbError listOpenEvents(Session& session, std::vector<OpenEvent>& out);

}  // namespace tidewatch::mysql
