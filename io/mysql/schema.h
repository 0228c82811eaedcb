// The database schema tidewatch needs (reference/jetmon-compat.md §1), as data: the
// migrations that create or upgrade it, and the expected tables/columns/indexes that
// `migrate --check` compares with information_schema.
//
// Every migration step is idempotent ("add column X if information_schema says it is
// missing"), because DDL is not transactional in MySQL or MariaDB: a migration interrupted
// half-way is completed by running migrate again. The ledger (jetmon_schema_migrations)
// records which numbered migrations have been applied and when.
//
// Portability: only syntax that both MariaDB 10.11 and MySQL 8.0 accept — no
// `ADD COLUMN IF NOT EXISTS` / `CREATE INDEX IF NOT EXISTS` (MariaDB only), no functional
// indexes or CHECK-constraint tricks; the dedup key is a STORED generated column, which both
// support. Every TIMESTAMP column states NULL/NOT NULL and its default explicitly, so that
// MariaDB's explicit_defaults_for_timestamp=OFF cannot add an implicit ON UPDATE clause.
#pragma once

#include <string>
#include <vector>

namespace tidewatch::mysql {

struct ColumnSpec {
  std::string name;
  std::string definition;  // type and attributes, as in CREATE TABLE
};

struct IndexSpec {
  std::string name;
  bool unique = false;
  std::vector<std::string> columns;
};

// Part of a table: what one migration adds. The expected table is the union of its parts.
struct TableSpec {
  std::string name;
  std::vector<ColumnSpec> columns;
  std::string primary_key;           // column list; only in the migration that creates it
  std::vector<IndexSpec> indexes;
  std::string options = "ENGINE=InnoDB DEFAULT CHARSET=utf8mb4";
};

struct Migration {
  int version = 0;
  std::string name;
  std::vector<TableSpec> tables;
};

inline constexpr const char* kLedgerTable = "jetmon_schema_migrations";

const std::vector<Migration>& migrations();
// The union of all migrations: what `migrate --check` expects to find.
std::vector<TableSpec> expectedSchema();

std::string createTableSql(const TableSpec& table);
std::string indexSql(const IndexSpec& index);  // "[UNIQUE] KEY `name` (`a`,`b`)"

}  // namespace tidewatch::mysql
