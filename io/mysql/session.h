// One MySQL connection owned by one thread at a time (a writer thread, the source's loader
// thread, or `migrate`). Connect, statements and transactions block: call them only on
// threads that are allowed to wait on MySQL (DESIGN.md §2), never in a TBB node body.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <unordered_map>

#include "io/mysql/connection_options.h"
#include "io/mysql/db_error.h"

namespace sql {
class Connection;
class PreparedStatement;
class SQLException;
}  // namespace sql

namespace tidewatch::mysql {

class Session {
 public:
  explicit Session(ConnectionOptions options);
  ~Session();
  Session(const Session&) = delete;
  Session& operator=(const Session&) = delete;

  // Connects (or reconnects if the last statement lost the connection). Sets the session up
  // for UTC timestamps, utf8mb4 and short lock waits.
  DbError connect();
  bool connected() const { return conn_ != nullptr; }
  void disconnect();

  // The raw connection; valid while connected(). Callers catch sql::SQLException through
  // run(), which also marks the session broken when the connection was lost.
  sql::Connection& raw() { return *conn_; }

  // Runs `fn` (which uses raw()), converting exceptions into a DbError. A lost connection
  // disconnects, so the next connect() starts afresh.
  DbError run(const std::function<void(sql::Connection&)>& fn);

  // A prepared statement cached for the life of this connection (a frequent statement costs
  // one round trip instead of prepare + execute + close). Call inside run(); the reference is
  // valid until the next disconnect.
  sql::PreparedStatement& prepare(const std::string& statement);

  // Convenience for statements without results.
  DbError execute(const std::string& statement);

  // Returns the connection to autocommit after a failed transaction (best effort).
  void rollbackQuietly();

  const ConnectionOptions& options() const { return options_; }

 private:
  ConnectionOptions options_;
  std::unique_ptr<sql::Connection> conn_;
  std::unordered_map<std::string, std::unique_ptr<sql::PreparedStatement>> prepared_;
};

DbError toDbError(const sql::SQLException& e);

// Escapes a string for a single-quoted SQL literal (backslash and quote; the session runs
// with the default sql_mode, where backslash escapes are on). Used where a multi-row
// statement is built as text; single-row statements use prepared statements instead.
void appendQuoted(std::string& out, std::string_view value);

}  // namespace tidewatch::mysql
