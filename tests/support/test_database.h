// A fresh database per test on the test process's own private MariaDB (private_mariadb.h):
// named after the running test, dropped and created again, migrated unless asked not to. ctest
// runs each test case in its own process, so each gets a server of its own in about a second.
// Header-only: the tests that use it link tw_mysql (for the migrations) themselves.
#pragma once

#include <cctype>
#include <sstream>
#include <string>

#include <gtest/gtest.h>

#include "io/mysql/migrate.h"
#include "io/mysql/session.h"
#include "tests/support/private_mariadb.h"

namespace tidewatch::testing {

// One server per test process, started on first use.
inline PrivateMariaDb& mariaDb() {
  static PrivateMariaDb db;
  return db;
}

class TestDatabase {
 public:
  explicit TestDatabase(bool migrate = true) {
    const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
    name_ = "t_" + std::string(info->name());
    for (char& c : name_) {
      if (!std::isalnum(static_cast<unsigned char>(c))) c = '_';
    }
    if (name_.size() > 60) name_.resize(60);
    mariaDb().query("DROP DATABASE IF EXISTS `" + name_ + "`");
    if (!migrate) return;
    mysql::Session s(connection());
    std::ostringstream out;
    mysql::DbError err = s.connect();
    EXPECT_TRUE(err.ok()) << err.describe();
    err = mysql::applyMigrations(s, out);
    EXPECT_TRUE(err.ok()) << err.describe() << "\n" << out.str();
  }

  const std::string& name() const { return name_; }
  // For io/mysql (sessions, pools, migrations).
  mysql::ConnectionOptions connection() const { return mariaDb().connection(name_); }
  // For stages built from a config.
  DatabaseConfig config() const { return mariaDb().config(name_); }

  // Runs SQL in this database; the trimmed, tab-separated output.
  std::string q(const std::string& sql) const { return mariaDb().query(sql, name_); }
  // A number ("" and NULL read as 0).
  long long qi(const std::string& sql) const {
    std::string s = q(sql);
    return s.empty() || s == "NULL" ? 0 : std::stoll(s);
  }

 private:
  std::string name_;
};

}  // namespace tidewatch::testing
