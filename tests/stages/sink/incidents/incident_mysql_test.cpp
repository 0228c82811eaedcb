// The incident engine on the real MySQL store, end to end (a private MariaDB per test
// process): what the fake store stands in for in incident_sink_test.cpp — the event
// transactions with their projection, the audit rows, the site runtime columns and the
// restart-recovery read — as the daemon writes and reads them.
#include <gtest/gtest.h>

#include <memory>

#include "core/text.h"
#include "io/mysql/event_store.h"
#include "io/mysql/pool.h"
#include "tests/stages/sink/incidents/incident_test_support.h"
#include "tests/support/test_database.h"

namespace tidewatch::stages::test {
namespace {

// A fresh database, and the engine's store on it: a new mysql::EventStore at every (re)start,
// as a new process would open.
struct MysqlIncidents {
  testing::TestDatabase db;
  std::shared_ptr<mysql::Pool> pool = std::make_shared<mysql::Pool>(db.connection(), 4);

  StoreBackend backend() {
    StoreBackend b;
    b.open = [this] {
      mysql::EventStore::Options so;
      so.workers = 2;
      so.source = "test-host";
      return std::make_shared<mysql::EventStore>(pool, so);
    };
    b.add_site = [this](std::uint64_t site, std::uint64_t blog, SiteStatus status) {
      db.q("INSERT INTO jetpack_monitor_sites (jetpack_monitor_site_id, blog_id, monitor_url, site_status) VALUES (" +
           std::to_string(site) + ", " + std::to_string(blog) + ", 'http://site" + std::to_string(site) + ".test/', " +
           std::to_string(static_cast<int>(status)) + ")");
    };
    return b;
  }
};

TEST(IncidentOnMysql, AnOutageIsConfirmedAlertedAndClosedWithProjectionAuditAndRuntimeColumns) {
  MysqlIncidents m;
  Engine e(Engine::defaults(), m.backend());
  e.addSite(1);
  auto t = target({.id = 1, .cooldown_minutes = 0});
  for (int i = 0; i < 3; ++i) {
    e.feed(http503(t, e.now));
    e.advance(10 * kSec);
  }
  EXPECT_EQ(m.db.q("SELECT CONCAT(state, '/', severity, '/', ended_at IS NULL) FROM jetmon_events"), "Down/4/1");
  EXPECT_EQ(m.db.qi("SELECT site_status FROM jetpack_monitor_sites"), 2);
  EXPECT_EQ(m.db.qi("SELECT COUNT(*) FROM jetmon_audit_log WHERE event_type = 'retry_dispatched' AND event_id IS NOT NULL"),
            2);
  EXPECT_EQ(m.db.q("SELECT JSON_VALUE(metadata, '$.rule') FROM jetmon_event_transitions WHERE reason = "
                   "'verifier_confirmed'"),
            "verifier_quorum");
  EXPECT_EQ(m.db.qi("SELECT last_alert_sent_at IS NOT NULL FROM jetpack_monitor_sites"), 1);
  EXPECT_EQ(e.notifier.count(2), 1);
  // Recovery: closed, projected, alerted; the certificate's date lands in the runtime column.
  auto c = ok(t, e.now);
  c->result.tls.version = 0x0304;
  c->result.tls.cert_not_after = e.now / 1000 + 90 * 86400;
  e.feed(c);
  EXPECT_EQ(m.db.q("SELECT GROUP_CONCAT(reason ORDER BY id) FROM jetmon_event_transitions"),
            "opened,verifier_confirmed,verifier_cleared");
  EXPECT_EQ(m.db.qi("SELECT site_status FROM jetpack_monitor_sites"), 1);
  EXPECT_EQ(m.db.q("SELECT ssl_expiry_date FROM jetpack_monitor_sites"),
            formatUtc((e.now / 1000 / 86400 + 90) * 86'400'000, UtcFormat::kSqlDatetime).substr(0, 10));
  EXPECT_EQ(e.notifier.count(1), 1);
}

TEST(IncidentOnMysql, ARestartResumesTheOpenEventAndItsAuditedFailureCount) {
  MysqlIncidents m;
  Engine e(Engine::defaults(), m.backend());
  e.addSite(1);
  auto t = target({.id = 1});
  e.feed(http503(t, e.now));
  e.advance(10 * kSec);
  e.feed(http503(t, e.now));  // two of three, audited with local_failures = 2
  const int calls_before = e.verifier->calls.load();
  e.restart();
  ASSERT_TRUE(e.sink->waitIdle(std::chrono::seconds(20)));
  EXPECT_EQ(e.metrics.gauge("incidents.recovered_open_events").load(), 1);
  auto r = target({.id = 1, .status = SiteStatus::kDown});
  e.advance(30 * kSec);
  e.feed(http503(r, e.now));  // the third consecutive failure, read back from the audit rows
  EXPECT_EQ(e.verifier->calls.load(), calls_before + 1);
  EXPECT_EQ(e.metrics.counter("incidents.resumed_failure_counts").load(), 1u);
  EXPECT_EQ(m.db.q("SELECT GROUP_CONCAT(reason ORDER BY id) FROM jetmon_event_transitions"), "opened,verifier_confirmed");
  EXPECT_EQ(m.db.qi("SELECT COUNT(*) FROM jetmon_events"), 1);
}

}  // namespace
}  // namespace tidewatch::stages::test
