// Schema migrations as a library: create or upgrade the schema (schema.h), or report drift
// without changing anything. `tidewatch migrate` (app/migrate_command.h) and the tests call
// these. Blocking; runs on the caller's thread.
#pragma once

#include <ostream>
#include <string>
#include <vector>

#include "io/mysql/connection_options.h"
#include "io/mysql/db_error.h"

namespace tidewatch::mysql {

class Session;

// Exit codes: 0 up to date (or migrated), 1 drift found (check_only), 2 could not connect or
// a statement failed.
int runMigrate(const ConnectionOptions& options, bool check_only, std::ostream& out);

// The parts, for tests and for the daemon's startup validation.
// Applies every migration idempotently; also repairs drift (a dropped index or column is
// added again). Creates the database itself if needed.
DbError applyMigrations(Session& session, std::ostream& out);
// Lists differences from the expected schema ("missing index jetmon_events.uk_open_dedup").
// Empty = no drift. Read-only.
std::vector<std::string> findDrift(Session& session, DbError* error);

}  // namespace tidewatch::mysql
