// `tidewatch migrate --config FILE [--check]`: reads only the `database:` section
// (pipeline/config.h parseDatabaseOnly) and runs io/mysql's migrations (io/mysql/migrate.h).
// Exit codes: 0 up to date (or migrated), 1 drift found (--check), 2 a config that cannot be
// read, no connection, or a statement that failed. Blocking; runs on the CLI's main thread.
#pragma once

#include <ostream>
#include <string>

namespace tidewatch::app {

int runMigrateCommand(const std::string& config_file, bool check_only, std::ostream& out);

}  // namespace tidewatch::app
