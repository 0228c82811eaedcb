// `tidewatch migrate`: create or upgrade the schema (schema.h), or with --check report drift
// without changing anything. Blocking; runs on the CLI's main thread.
#pragma once

#include <ostream>
#include <string>
#include <vector>

#include "io/mysql/db_error.h"
#include "pipeline/config.h"

namespace tidewatch::mysql {

class Session;

// Exit codes: 0 up to date (or migrated), 1 drift found (check_only), 2 could not connect or
// a statement failed.
int runMigrate(const DatabaseConfig& cfg, bool check_only, std::ostream& out);

// The parts, for tests and for the daemon's startup validation.
// Applies every migration idempotently; also repairs drift (a dropped index or column is
// added again). Creates the database itself if needed.
DbError applyMigrations(Session& session, std::ostream& out);
// Lists differences from the expected schema ("missing index jetmon_events.uk_open_dedup").
// Empty = no drift. Read-only.
std::vector<std::string> findDrift(Session& session, DbError* error);

}  // namespace tidewatch::mysql

namespace tidewatch::mysql {

// The `tidewatch migrate --config FILE [--check]` command: reads only the `database:` section
// (pipeline/config.h parseDatabaseOnly), then runMigrate. Exit code as runMigrate; 2 for a
// config that cannot be read.
int runMigrateCommand(const std::string& config_file, bool check_only, std::ostream& out);

}  // namespace tidewatch::mysql
