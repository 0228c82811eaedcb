#include "io/mysql/migrate.h"

#include <cppconn/connection.h>
#include <cppconn/prepared_statement.h>
#include <cppconn/resultset.h>
#include <cppconn/statement.h>

#include <map>
#include <memory>
#include <set>

#include "io/mysql/schema.h"
#include "io/mysql/session.h"

namespace tidewatch::mysql {
namespace {

struct Catalog {
  bool schema_exists = false;
  std::map<std::string, std::set<std::string>> columns;  // table -> columns
  // table -> index -> (unique, ordered columns)
  std::map<std::string, std::map<std::string, std::pair<bool, std::vector<std::string>>>> indexes;
};

DbError readCatalog(Session& s, const std::string& schema, Catalog& cat) {
  return s.run([&](sql::Connection& c) {
    std::unique_ptr<sql::PreparedStatement> ps(c.prepareStatement(
        "SELECT COUNT(*) FROM information_schema.SCHEMATA WHERE SCHEMA_NAME = ?"));
    ps->setString(1, schema);
    std::unique_ptr<sql::ResultSet> rs(ps->executeQuery());
    cat.schema_exists = rs->next() && rs->getInt(1) > 0;
    if (!cat.schema_exists) return;

    ps.reset(c.prepareStatement(
        "SELECT TABLE_NAME, COLUMN_NAME FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = ?"));
    ps->setString(1, schema);
    rs.reset(ps->executeQuery());
    while (rs->next()) cat.columns[rs->getString(1)].insert(rs->getString(2));

    ps.reset(c.prepareStatement(
        "SELECT TABLE_NAME, INDEX_NAME, NON_UNIQUE, COLUMN_NAME FROM information_schema.STATISTICS "
        "WHERE TABLE_SCHEMA = ? ORDER BY TABLE_NAME, INDEX_NAME, SEQ_IN_INDEX"));
    ps->setString(1, schema);
    rs.reset(ps->executeQuery());
    while (rs->next()) {
      auto& idx = cat.indexes[rs->getString(1)][rs->getString(2)];
      idx.first = rs->getInt(3) == 0;
      idx.second.push_back(rs->getString(4));
    }
  });
}

std::string quoteIdent(const std::string& name) { return "`" + name + "`"; }

DbError ensureLedger(Session& s) {
  return s.execute(
      "CREATE TABLE IF NOT EXISTS `jetmon_schema_migrations` (\n"
      "  `version` INT UNSIGNED NOT NULL,\n"
      "  `name` VARCHAR(128) NOT NULL,\n"
      "  `applied_at` TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP,\n"
      "  PRIMARY KEY (`version`)\n"
      ") ENGINE=InnoDB DEFAULT CHARSET=utf8mb4");
}

DbError appliedVersions(Session& s, std::set<int>& versions) {
  return s.run([&](sql::Connection& c) {
    std::unique_ptr<sql::Statement> st(c.createStatement());
    std::unique_ptr<sql::ResultSet> rs(st->executeQuery("SELECT version FROM jetmon_schema_migrations"));
    while (rs->next()) versions.insert(rs->getInt(1));
  });
}

}  // namespace

DbError applyMigrations(Session& s, std::ostream& out) {
  const std::string schema = s.options().database;
  DbError err = s.execute("CREATE DATABASE IF NOT EXISTS " + quoteIdent(schema) +
                          " DEFAULT CHARACTER SET utf8mb4");
  if (!err.ok()) return err;
  err = s.execute("USE " + quoteIdent(schema));
  if (!err.ok()) return err;
  err = ensureLedger(s);
  if (!err.ok()) return err;
  std::set<int> applied;
  err = appliedVersions(s, applied);
  if (!err.ok()) return err;

  for (const Migration& m : migrations()) {
    Catalog cat;
    err = readCatalog(s, schema, cat);
    if (!err.ok()) return err;
    int changes = 0;
    for (const TableSpec& t : m.tables) {
      auto cols = cat.columns.find(t.name);
      if (cols == cat.columns.end()) {
        if (t.primary_key.empty()) {
          return DbError{0, "HY000", "migration " + std::to_string(m.version) + ": table " +
                                         t.name + " is missing and this migration cannot create it"};
        }
        err = s.execute(createTableSql(t));
        if (!err.ok()) return err;
        out << "  created table " << t.name << "\n";
        ++changes;
        continue;
      }
      // One ALTER per table: a large table is rebuilt once, not once per column.
      std::string alter;
      for (const ColumnSpec& c : t.columns) {
        if (cols->second.count(c.name)) continue;
        alter += alter.empty() ? "" : ", ";
        alter += "ADD COLUMN " + quoteIdent(c.name) + " " + c.definition;
        out << "  adding column " << t.name << "." << c.name << "\n";
      }
      const auto& have = cat.indexes[t.name];
      for (const IndexSpec& i : t.indexes) {
        auto found = have.find(i.name);
        if (found != have.end()) {
          if (found->second.second != i.columns || found->second.first != i.unique) {
            alter += alter.empty() ? "" : ", ";
            alter += "DROP INDEX " + quoteIdent(i.name);
            out << "  replacing index " << t.name << "." << i.name << " (different columns)\n";
          } else {
            continue;
          }
        } else {
          out << "  adding index " << t.name << "." << i.name << "\n";
        }
        alter += alter.empty() ? "" : ", ";
        alter += "ADD " + indexSql(i);
      }
      if (!alter.empty()) {
        err = s.execute("ALTER TABLE " + quoteIdent(t.name) + " " + alter);
        if (!err.ok()) return err;
        ++changes;
      }
    }
    if (!applied.count(m.version)) {
      err = s.run([&](sql::Connection& c) {
        std::unique_ptr<sql::PreparedStatement> ps(c.prepareStatement(
            "INSERT IGNORE INTO jetmon_schema_migrations (version, name) VALUES (?, ?)"));
        ps->setInt(1, m.version);
        ps->setString(2, m.name);
        ps->executeUpdate();
      });
      if (!err.ok()) return err;
      out << "applied migration " << m.version << " " << m.name << "\n";
    } else if (changes > 0) {
      out << "repaired migration " << m.version << " " << m.name << "\n";
    }
  }
  return {};
}

std::vector<std::string> findDrift(Session& s, DbError* error) {
  std::vector<std::string> drift;
  const std::string schema = s.options().database;
  Catalog cat;
  DbError err = readCatalog(s, schema, cat);
  if (!err.ok()) {
    if (error) *error = err;
    return drift;
  }
  if (!cat.schema_exists) {
    drift.push_back("missing database " + schema);
    return drift;
  }
  for (const TableSpec& t : expectedSchema()) {
    auto cols = cat.columns.find(t.name);
    if (cols == cat.columns.end()) {
      drift.push_back("missing table " + t.name);
      continue;
    }
    for (const ColumnSpec& c : t.columns) {
      if (!cols->second.count(c.name)) drift.push_back("missing column " + t.name + "." + c.name);
    }
    const auto& have = cat.indexes[t.name];
    for (const IndexSpec& i : t.indexes) {
      auto found = have.find(i.name);
      if (found == have.end()) {
        drift.push_back("missing index " + t.name + "." + i.name);
      } else if (found->second.second != i.columns || found->second.first != i.unique) {
        drift.push_back("index " + t.name + "." + i.name + " differs from " + indexSql(i));
      }
    }
  }
  if (!cat.columns.count(kLedgerTable)) {
    drift.push_back(std::string("missing table ") + kLedgerTable);
  } else {
    std::set<int> applied;
    err = appliedVersions(s, applied);
    if (!err.ok()) {
      if (error) *error = err;
      return drift;
    }
    for (const Migration& m : migrations()) {
      if (!applied.count(m.version)) {
        drift.push_back("migration " + std::to_string(m.version) + " (" + m.name + ") not recorded in " +
                        kLedgerTable);
      }
    }
  }
  return drift;
}

int runMigrate(const ConnectionOptions& options, bool check_only, std::ostream& out) {
  Session session(options);
  DbError err = session.connect();
  if (!err.ok()) {
    out << "migrate: cannot connect: " << err.describe() << "\n";
    return 2;
  }
  if (check_only) {
    std::vector<std::string> drift = findDrift(session, &err);
    if (!err.ok()) {
      out << "migrate --check: " << err.describe() << "\n";
      return 2;
    }
    for (const std::string& d : drift) out << "drift: " << d << "\n";
    if (drift.empty()) {
      out << "schema of " << options.database << " is up to date\n";
      return 0;
    }
    out << drift.size() << " difference(s) from the expected schema; run `tidewatch migrate`\n";
    return 1;
  }
  err = applyMigrations(session, out);
  if (!err.ok()) {
    out << "migrate: " << err.describe() << "\n";
    return 2;
  }
  out << "schema of " << options.database << " is up to date\n";
  return 0;
}

}  // namespace tidewatch::mysql
