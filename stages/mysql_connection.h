// The daemon's `database:` section (pipeline/config.h) as io/mysql's connection options: the
// one conversion, shared by the MySQL stages (source.mysql, sink.mysql_projection,
// sink.mysql_history, sink.incidents) and `tidewatch migrate`. io/mysql itself knows nothing
// of the daemon's configuration.
#pragma once

#include <memory>
#include <stdexcept>
#include <string>

#include "io/mysql/connection_options.h"
#include "io/mysql/pool.h"
#include "pipeline/config.h"
#include "pipeline/registry.h"

namespace tidewatch::stages {

inline mysql::ConnectionOptions connectionOptions(const DatabaseConfig& db) {
  mysql::ConnectionOptions o;
  o.host = db.host;
  o.port = db.port;
  o.socket = db.socket;
  o.user = db.user;
  o.password = db.password;
  o.database = db.name;
  return o;
}

// The process's pool for this database (database.pool_size sessions, 0 = automatic).
inline std::shared_ptr<mysql::Pool> sharedPool(const DatabaseConfig& db, Metrics* metrics) {
  return mysql::Pool::shared(connectionOptions(db), db.pool_size, metrics);
}

// The `database:` section a MySQL stage's factory needs; a startup error naming `who` without.
inline const DatabaseConfig& requiredDatabase(const StageContext& ctx, const std::string& who) {
  if (!ctx.config.database.configured) throw std::invalid_argument(who + " needs a `database:` section");
  return ctx.config.database;
}

}  // namespace tidewatch::stages
