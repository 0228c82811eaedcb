// Shared by the store tests: one private MariaDB per test process (ctest runs each test case
// in its own process, so each gets a fresh server in about a second) and a fresh, migrated
// database per test.
#pragma once

#include <sstream>
#include <string>

#include <gtest/gtest.h>

#include "io/mysql/migrate.h"
#include "io/mysql/session.h"
#include "tests/support/private_mariadb.h"

namespace tidewatch::mysql::test {

inline testing::PrivateMariaDb& server() {
  static testing::PrivateMariaDb db;
  return db;
}

// A database named after the running test, created and migrated.
inline DatabaseConfig freshDatabase(bool migrate = true) {
  const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
  std::string name = "t_" + std::string(info->name());
  for (char& c : name) {
    if (!std::isalnum(static_cast<unsigned char>(c))) c = '_';
  }
  if (name.size() > 60) name.resize(60);
  server().query("DROP DATABASE IF EXISTS `" + name + "`");
  DatabaseConfig cfg = server().config(name);
  if (migrate) {
    Session s(cfg);
    std::ostringstream out;
    DbError err = s.connect();
    EXPECT_TRUE(err.ok()) << err.describe();
    err = applyMigrations(s, out);
    EXPECT_TRUE(err.ok()) << err.describe() << "\n" << out.str();
  }
  return cfg;
}

inline std::string q(const DatabaseConfig& cfg, const std::string& sql) {
  return server().query(sql, cfg.name);
}

inline long long qi(const DatabaseConfig& cfg, const std::string& sql) {
  std::string s = q(cfg, sql);
  return s.empty() || s == "NULL" ? 0 : std::stoll(s);
}

}  // namespace tidewatch::mysql::test
