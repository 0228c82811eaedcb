#include "io/mysql/session.h"

#include <cppconn/connection.h>
#include <cppconn/driver.h>
#include <cppconn/exception.h>
#include <cppconn/prepared_statement.h>
#include <cppconn/statement.h>

#include <mutex>

namespace tidewatch::mysql {

bool DbError::connectionLost() const {
  switch (code) {
    case 2002:  // can't connect through socket
    case 2003:  // can't connect to server
    case 2005:  // unknown host
    case 2006:  // server has gone away
    case 2013:  // lost connection during query
    case 2026:  // SSL connection error
    case 2055:  // lost connection at '%s'
    case 1053:  // server shutdown in progress
    case 1927:  // connection was killed
    case 1040:  // too many connections
    case 1152:  // aborted connection
    case 4031:  // MySQL 8: disconnected by the server because of inactivity
      return true;
    default:
      // The connector reports some client-side failures (a closed or missing connection)
      // without a code, and the pool's "no free session" has none either: both mean "try
      // again". Other code-0 errors (bad arguments: our bugs) must not be retried forever.
      if (code != 0 || message.empty()) return false;
      return message.find("onnection") != std::string::npos || message.find("closed") != std::string::npos ||
             message.find("gone away") != std::string::npos || message.find("no free MySQL session") != std::string::npos;
  }
}

std::string DbError::describe() const {
  if (ok()) return "ok";
  return "MySQL error " + std::to_string(code) + " (" + sql_state + "): " + message;
}

DbError toDbError(const sql::SQLException& e) {
  return DbError{e.getErrorCode(), e.getSQLState(), e.what()};
}

namespace {

sql::Driver* driver() {
  // The driver singleton's first call initialises the client library, which is not
  // thread-safe; do it once.
  static sql::Driver* d = get_driver_instance();
  return d;
}

}  // namespace

Session::Session(ConnectionOptions options) : options_(std::move(options)) {}

Session::~Session() { disconnect(); }

void Session::disconnect() {
  prepared_.clear();  // statements die with their connection
  if (!conn_) return;
  try {
    conn_->close();
  } catch (const sql::SQLException&) {
    // closing a dead connection may complain; nothing to do
  }
  conn_.reset();
}

DbError Session::connect() {
  if (conn_) return {};
  try {
    sql::Driver* d = driver();
    d->threadInit();
    sql::ConnectOptionsMap opts;
    if (!options_.socket.empty()) {
      opts["hostName"] = sql::SQLString("localhost");
      opts["socket"] = sql::SQLString(options_.socket);
    } else {
      opts["hostName"] = sql::SQLString(options_.host);
      opts["port"] = static_cast<int>(options_.port);
    }
    opts["userName"] = sql::SQLString(options_.user);
    opts["password"] = sql::SQLString(options_.password);
    // Reconnects are ours (with backoff and idempotent replays); the client library's silent
    // reconnect would drop a transaction half-way without telling us.
    opts["OPT_RECONNECT"] = false;
    // Rows-affected must count changed rows only: an INSERT … ON DUPLICATE KEY UPDATE that
    // found the open event reports 0, an insert 1 (compat §1.4).
    opts["CLIENT_FOUND_ROWS"] = false;
    opts["OPT_CONNECT_TIMEOUT"] = 3;
    opts["OPT_READ_TIMEOUT"] = 60;
    opts["OPT_WRITE_TIMEOUT"] = 30;
    opts["OPT_CHARSET_NAME"] = sql::SQLString("utf8mb4");
    std::unique_ptr<sql::Connection> c(d->connect(opts));
    if (!options_.database.empty()) {
      // The schema may not exist yet (migrate creates it); a missing schema is reported by the
      // first statement that needs it.
      try {
        c->setSchema(options_.database);
      } catch (const sql::SQLException& e) {
        if (e.getErrorCode() != 1049) throw;  // 1049 unknown database
      }
    }
    std::unique_ptr<sql::Statement> st(c->createStatement());
    // UTC everywhere: TIMESTAMP columns convert through the session zone, DATETIME columns do
    // not; with the session in UTC both hold UTC and NOW() agrees with our own clock.
    st->execute("SET time_zone = '+00:00'");
    // Event transactions touch one row each; a writer stuck 50 s (the default) behind
    // another holds up its whole shard. Fail fast and retry instead.
    st->execute("SET SESSION innodb_lock_wait_timeout = 10");
    conn_ = std::move(c);
    return {};
  } catch (const sql::SQLException& e) {
    conn_.reset();
    DbError err = toDbError(e);
    if (err.code == 0) err.code = 2002;
    return err;
  }
}

DbError Session::run(const std::function<void(sql::Connection&)>& fn) {
  if (!conn_) {
    DbError err = connect();
    if (!err.ok()) return err;
  }
  try {
    fn(*conn_);
    return {};
  } catch (const sql::SQLException& e) {
    DbError err = toDbError(e);
    if (err.connectionLost()) disconnect();
    return err;
  } catch (const std::exception& e) {
    return DbError{0, "HY000", e.what()};
  }
}

sql::PreparedStatement& Session::prepare(const std::string& statement) {
  auto it = prepared_.find(statement);
  if (it != prepared_.end()) return *it->second;
  std::unique_ptr<sql::PreparedStatement> ps(conn_->prepareStatement(statement));
  return *prepared_.emplace(statement, std::move(ps)).first->second;
}

DbError Session::execute(const std::string& statement) {
  return run([&](sql::Connection& c) {
    std::unique_ptr<sql::Statement> st(c.createStatement());
    st->execute(statement);
  });
}

void Session::rollbackQuietly() {
  if (!conn_) return;
  try {
    conn_->rollback();
    conn_->setAutoCommit(true);
  } catch (const sql::SQLException&) {
    disconnect();
  }
}

void appendQuoted(std::string& out, std::string_view value) {
  out.push_back('\'');
  for (char c : value) {
    switch (c) {
      case '\'': out += "\\'"; break;
      case '\\': out += "\\\\"; break;
      case '\0': out += "\\0"; break;
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      case '\x1a': out += "\\Z"; break;
      default: out.push_back(c);
    }
  }
  out.push_back('\'');
}

}  // namespace tidewatch::mysql
