// A private MariaDB server for one test binary: its own data directory under /tmp, a unix
// socket, no TCP port, root without a password (scripts/mariadb-private does the work, so the
// shell and the tests start servers the same way).
//
// RAII: the constructor starts the server (throws std::runtime_error if it cannot), the
// destructor stops it and removes the directory. stop()/start() take the same server down and
// up again on the same socket and data directory, for outage tests.
#pragma once

#include <string>

#include "io/mysql/connection_options.h"
#include "pipeline/config.h"

namespace tidewatch::testing {

class PrivateMariaDb {
 public:
  PrivateMariaDb();
  ~PrivateMariaDb();
  PrivateMariaDb(const PrivateMariaDb&) = delete;
  PrivateMariaDb& operator=(const PrivateMariaDb&) = delete;

  const std::string& socket() const { return socket_; }
  const std::string& dir() const { return dir_; }

  // Stops the server, keeping its data (blocks until mariadbd has exited).
  void stop();
  // Starts it again on the same socket and data directory (blocks until it answers).
  void start();
  bool running() const { return running_; }

  // A database config pointing at this server, for database `name` (for stages).
  DatabaseConfig config(const std::string& name = "jetmon_db") const;
  // The same as io/mysql's connection options (for sessions and pools).
  mysql::ConnectionOptions connection(const std::string& name = "jetmon_db") const;

  // Runs SQL through the `mariadb` command-line client (batch mode, tab-separated output
  // without column names). Returns the client's exit status; output goes to `out` if given.
  int sql(const std::string& statements, std::string* out = nullptr,
          const std::string& database = "") const;
  // Like sql() but throws on failure and returns the trimmed output.
  std::string query(const std::string& statements, const std::string& database = "") const;

 private:
  int script(const std::string& command, std::string* out) const;

  std::string dir_;
  std::string socket_;
  bool running_ = false;
};

}  // namespace tidewatch::testing
