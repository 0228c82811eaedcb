#include <sstream>

#include <gtest/gtest.h>

#include "io/mysql/migrate.h"
#include "io/mysql/schema.h"
#include "tests/support/test_database.h"

namespace tidewatch::mysql::test {
namespace {

using testing::mariaDb;
using testing::TestDatabase;

TEST(StoreSchema, MigrateFromEmptyCreatesEveryTableAndRecordsTheLedger) {
  TestDatabase db(/*migrate=*/false);
  std::ostringstream out;
  EXPECT_EQ(runMigrate(db.connection(), /*check_only=*/true, out), 1) << out.str();
  EXPECT_NE(out.str().find("missing database"), std::string::npos);

  out.str("");
  ASSERT_EQ(runMigrate(db.connection(), false, out), 0) << out.str();
  for (const char* table : {"jetpack_monitor_sites", "jetmon_check_targets", "jetmon_events",
                            "jetmon_event_transitions", "jetmon_check_history", "jetmon_audit_log",
                            "jetmon_false_positives", "jetmon_hosts", "jetmon_schema_migrations"}) {
    EXPECT_EQ(db.qi(std::string("SELECT COUNT(*) FROM information_schema.TABLES WHERE "
                                  "TABLE_SCHEMA = DATABASE() AND TABLE_NAME = '") + table + "'"),
              1)
        << table;
  }
  EXPECT_EQ(db.qi("SELECT COUNT(*) FROM jetmon_schema_migrations"),
            static_cast<long long>(migrations().size()));

  out.str("");
  EXPECT_EQ(runMigrate(db.connection(), true, out), 0) << out.str();
}

TEST(StoreSchema, RerunningMigrateChangesNothing) {
  TestDatabase db;
  std::string before = db.q("SELECT version, applied_at FROM jetmon_schema_migrations ORDER BY version");
  std::ostringstream out;
  ASSERT_EQ(runMigrate(db.connection(), false, out), 0) << out.str();
  EXPECT_EQ(out.str().find("adding"), std::string::npos) << out.str();
  EXPECT_EQ(out.str().find("created"), std::string::npos) << out.str();
  EXPECT_EQ(db.q("SELECT version, applied_at FROM jetmon_schema_migrations ORDER BY version"), before);
}

TEST(StoreSchema, CheckReportsADroppedIndexAndMigrateRepairsIt) {
  TestDatabase db;
  db.q("ALTER TABLE jetmon_events DROP INDEX idx_blog_started");
  db.q("ALTER TABLE jetpack_monitor_sites DROP COLUMN check_keyword");
  std::string before = db.q("SHOW CREATE TABLE jetmon_events");
  std::ostringstream out;
  EXPECT_EQ(runMigrate(db.connection(), true, out), 1);
  EXPECT_NE(out.str().find("missing index jetmon_events.idx_blog_started"), std::string::npos) << out.str();
  EXPECT_NE(out.str().find("missing column jetpack_monitor_sites.check_keyword"), std::string::npos)
      << out.str();
  // --check changed nothing.
  EXPECT_EQ(db.q("SHOW CREATE TABLE jetmon_events"), before);

  out.str("");
  ASSERT_EQ(runMigrate(db.connection(), false, out), 0) << out.str();
  out.str("");
  EXPECT_EQ(runMigrate(db.connection(), true, out), 0) << out.str();
}

TEST(StoreSchema, AdoptsAnExistingLegacyTableWithRows) {
  TestDatabase db(/*migrate=*/false);
  mariaDb().query("CREATE DATABASE `" + db.name() + "`");
  // Production v1 shape (compat §1.2), with data.
  db.q("CREATE TABLE jetpack_monitor_sites (jetpack_monitor_site_id BIGINT UNSIGNED NOT NULL "
    "AUTO_INCREMENT PRIMARY KEY, blog_id BIGINT UNSIGNED NOT NULL, bucket_no SMALLINT UNSIGNED "
    "NOT NULL DEFAULT 0, monitor_url VARCHAR(300) NOT NULL, monitor_active TINYINT NOT NULL "
    "DEFAULT 1, site_status TINYINT NOT NULL DEFAULT 1, last_status_change TIMESTAMP NULL DEFAULT "
    "CURRENT_TIMESTAMP, check_interval TINYINT NOT NULL DEFAULT 5, KEY blog_id_monitor_url "
    "(blog_id, monitor_url), KEY bucket_no_monitor_active_check_interval (bucket_no, "
    "monitor_active, check_interval)); INSERT INTO jetpack_monitor_sites (blog_id, monitor_url) "
    "VALUES (7, 'http://a.example/'), (8, 'http://b.example/')");
  std::ostringstream out;
  ASSERT_EQ(runMigrate(db.connection(), false, out), 0) << out.str();
  EXPECT_EQ(db.qi("SELECT COUNT(*) FROM jetpack_monitor_sites WHERE redirect_policy = 'follow'"), 2);
  out.str("");
  EXPECT_EQ(runMigrate(db.connection(), true, out), 0) << out.str();
}

TEST(StoreSchema, DedupKeyAllowsOneOpenEventPerIdentity) {
  TestDatabase db;
  db.q("INSERT INTO jetmon_events (blog_id, endpoint_id, check_type, severity, state) "
         "VALUES (1, 10, 'http', 3, 'Seems Down')");
  std::string out;
  EXPECT_NE(mariaDb().sql("INSERT INTO jetmon_events (blog_id, endpoint_id, check_type, severity, state) "
                         "VALUES (1, 10, 'http', 3, 'Seems Down')",
                         &out, db.name()),
            0);
  EXPECT_EQ(db.q("SELECT dedup_key FROM jetmon_events"), "1:10:http:");
  db.q("UPDATE jetmon_events SET ended_at = NOW(3)");
  EXPECT_EQ(db.q("SELECT dedup_key FROM jetmon_events"), "NULL");
  db.q("INSERT INTO jetmon_events (blog_id, endpoint_id, check_type, severity, state) "
         "VALUES (1, 10, 'http', 3, 'Seems Down')");
  EXPECT_EQ(db.qi("SELECT COUNT(*) FROM jetmon_events"), 2);
}

}  // namespace
}  // namespace tidewatch::mysql::test
