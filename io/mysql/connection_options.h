// Where a MySQL/MariaDB server is and who we are on it: io/mysql's own connection options, so
// that the database layer knows nothing of the daemon's configuration. The callers convert
// from their config (stages/mysql_connection.h converts pipeline's DatabaseConfig).
#pragma once

#include <cstdint>
#include <string>

namespace tidewatch::mysql {

struct ConnectionOptions {
  std::string host = "127.0.0.1";
  std::uint16_t port = 3306;
  std::string socket;        // unix socket path; wins over host/port when set
  std::string user = "root";
  std::string password;
  std::string database = "jetmon_db";  // "" = none selected (it may not exist yet)

  // The server as a log line names it.
  const std::string& where() const { return socket.empty() ? host : socket; }
};

}  // namespace tidewatch::mysql
