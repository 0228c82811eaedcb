// Failures from the database as values (STYLE.md: failures are values). Connector/C++ throws
// sql::SQLException; every call into it is wrapped so that no exception leaves io/mysql.
#pragma once

#include <string>

namespace tidewatch::mysql {

struct DbError {
  int code = 0;            // MySQL/MariaDB error number (0 = not from the server or client lib)
  std::string sql_state;
  std::string message;

  bool ok() const { return code == 0 && message.empty(); }
  // The connection is gone or was never made: reconnect (with backoff) and retry. When it
  // happens during a write, the write may or may not have committed.
  bool connectionLost() const;
  // 1213 deadlock, 1205 lock wait timeout: retry the transaction locally.
  bool lockConflict() const { return code == 1213 || code == 1205; }
  // 1062 duplicate key.
  bool duplicateKey() const { return code == 1062; }
  std::string describe() const;
};

}  // namespace tidewatch::mysql
