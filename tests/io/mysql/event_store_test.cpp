#include <atomic>
#include <mutex>
#include <thread>

#include <gtest/gtest.h>

#include "io/mysql/event_sql.h"
#include "io/mysql/event_store.h"
#include "core/metrics.h"
#include "io/mysql/pool.h"
#include "tests/support/test_database.h"

namespace tidewatch::mysql::test {
namespace {

using testing::mariaDb;
using testing::TestDatabase;

using Status = MutationResult::Status;

EventIdentity site(std::uint64_t id) {
  EventIdentity e;
  e.blog_id = 1000 + id;
  e.endpoint_id = id;
  return e;
}

void addSite(const TestDatabase& db, std::uint64_t id) {
  db.q("INSERT INTO jetpack_monitor_sites (jetpack_monitor_site_id, blog_id, monitor_url) VALUES (" +
             std::to_string(id) + ", " + std::to_string(1000 + id) + ", 'http://s" + std::to_string(id) +
             ".test/')");
}

MutationResult apply(Session& s, EventMutation m, const std::string& key, bool replay = false,
                     DbError* error = nullptr) {
  m.idempotency_key = key;
  return applyMutation(s, m, "test-host", replay, error);
}

TEST(EventStore, OpenWritesEventTransitionAndProjectionTogether) {
  TestDatabase db;
  addSite(db, 1);
  Session s(db.connection());
  auto r = apply(s, EventMutation::open(site(1), Severity::kSeemsDown, "Seems Down", R"({"http_code":500})",
                                        SiteStatus::kDown),
                 "k1");
  ASSERT_EQ(r.status, Status::kApplied) << r.error;
  EXPECT_GT(r.event_id, 0u);
  EXPECT_EQ(db.q("SELECT CONCAT(blog_id, '/', endpoint_id, '/', check_type, '/', severity, '/', state, '/', "
                   "ended_at IS NULL) FROM jetmon_events"),
            "1001/1/http/3/Seems Down/1");
  EXPECT_EQ(db.q("SELECT CONCAT(COALESCE(severity_before,'-'), '>', severity_after, '/', "
                   "COALESCE(state_before,'-'), '>', state_after, '/', reason, '/', source) "
                   "FROM jetmon_event_transitions"),
            "->3/->Seems Down/opened/test-host");
  EXPECT_EQ(db.qi("SELECT site_status FROM jetpack_monitor_sites WHERE jetpack_monitor_site_id = 1"), 0);
}

TEST(EventStore, SecondOpenOfTheSameIdentityReportsTheOpenEventAndWritesNothing) {
  TestDatabase db;
  addSite(db, 1);
  Session s(db.connection());
  auto first = apply(s, EventMutation::open(site(1), Severity::kSeemsDown, "Seems Down", "", SiteStatus::kDown), "k1");
  ASSERT_EQ(first.status, Status::kApplied);
  apply(s, EventMutation::promote(site(1), Severity::kDown, "Down", "verifier_confirmed", "",
                                  SiteStatus::kConfirmedDown),
        "k2");
  auto again = apply(s, EventMutation::open(site(1), Severity::kSeemsDown, "Seems Down", "", SiteStatus::kDown), "k3");
  EXPECT_EQ(again.status, Status::kAlreadyOpen);
  EXPECT_EQ(again.event_id, first.event_id);
  EXPECT_EQ(again.severity, Severity::kDown);
  EXPECT_EQ(again.state, "Down");
  EXPECT_EQ(db.qi("SELECT COUNT(*) FROM jetmon_events"), 1);
  EXPECT_EQ(db.qi("SELECT COUNT(*) FROM jetmon_event_transitions"), 2);
  // The projection of the ignored open was not written.
  EXPECT_EQ(db.qi("SELECT site_status FROM jetpack_monitor_sites"), 2);
}

TEST(EventStore, ConcurrentOpensFromManyThreadsOpenExactlyOneEvent) {
  TestDatabase db;
  addSite(db, 7);
  constexpr int kThreads = 8;
  constexpr int kRounds = 20;
  std::atomic<int> opened{0}, already{0}, failed{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      Session s(db.connection());
      for (int i = 0; i < kRounds; ++i) {
        MutationResult r;
        for (int attempt = 0; attempt < 3; ++attempt) {  // what EventStore does on 1213/1205
          DbError err;
          r = apply(s, EventMutation::open(site(7), Severity::kSeemsDown, "Seems Down"),
                    "t" + std::to_string(t) + "-" + std::to_string(i), false, &err);
          if (!err.lockConflict()) break;
        }
        if (r.status == Status::kApplied) ++opened;
        else if (r.status == Status::kAlreadyOpen) ++already;
        else ++failed;
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(opened.load(), 1);
  EXPECT_EQ(already.load(), kThreads * kRounds - 1);
  EXPECT_EQ(failed.load(), 0);
  EXPECT_EQ(db.qi("SELECT COUNT(*) FROM jetmon_events"), 1);
  EXPECT_EQ(db.qi("SELECT COUNT(*) FROM jetmon_event_transitions"), 1);
}

TEST(EventStore, EveryMutationWritesOneTransitionAndANoopWritesNothing) {
  TestDatabase db;
  addSite(db, 1);
  Session s(db.connection());
  ASSERT_EQ(apply(s, EventMutation::open(site(1), Severity::kSeemsDown, "Seems Down"), "a").status, Status::kApplied);
  auto noop = apply(s, EventMutation::promote(site(1), Severity::kSeemsDown, "Seems Down"), "b");
  EXPECT_EQ(noop.status, Status::kNoop);
  EXPECT_EQ(db.qi("SELECT COUNT(*) FROM jetmon_event_transitions"), 1);
  std::string updated = db.q("SELECT updated_at FROM jetmon_events");

  auto up = apply(s, EventMutation::promote(site(1), Severity::kDown, "Down", "verifier_confirmed"), "c");
  EXPECT_EQ(up.status, Status::kApplied);
  auto tls = site(1);
  tls.check_type = "tls_expiry";
  ASSERT_EQ(apply(s, EventMutation::open(tls, Severity::kWarning, "Warning"), "d").status, Status::kApplied);
  EXPECT_EQ(apply(s, EventMutation::promote(tls, Severity::kDegraded, "Degraded"), "e").status, Status::kApplied);
  EXPECT_EQ(apply(s, EventMutation::promote(tls, Severity::kWarning, "Warning"), "f").status, Status::kApplied);
  EXPECT_EQ(db.q("SELECT GROUP_CONCAT(reason ORDER BY id) FROM jetmon_event_transitions"),
            "opened,verifier_confirmed,opened,severity_escalation,severity_deescalation");
  EXPECT_EQ(db.q("SELECT CONCAT(severity_before, '>', severity_after, ' ', state_before, '>', state_after) "
                   "FROM jetmon_event_transitions WHERE reason = 'verifier_confirmed'"),
            "3>4 Seems Down>Down");
}

TEST(EventStore, CloseEndsTheEventAndAClosedEventIsImmutable) {
  TestDatabase db;
  addSite(db, 1);
  Session s(db.connection());
  auto opened = apply(s, EventMutation::open(site(1), Severity::kSeemsDown, "Seems Down", "", SiteStatus::kDown), "a");
  auto closed = apply(s, EventMutation::close(site(1), "probe_cleared", "", SiteStatus::kRunning), "b");
  ASSERT_EQ(closed.status, Status::kApplied) << closed.error;
  EXPECT_EQ(closed.event_id, opened.event_id);
  EXPECT_EQ(db.q("SELECT CONCAT(ended_at IS NOT NULL, '/', resolution_reason, '/', dedup_key IS NULL) "
                   "FROM jetmon_events"),
            "1/probe_cleared/1");
  EXPECT_EQ(db.q("SELECT CONCAT(severity_before, '>', COALESCE(severity_after, 'NULL'), ' ', state_after) "
                   "FROM jetmon_event_transitions WHERE reason = 'probe_cleared'"),
            "3>NULL Resolved");
  EXPECT_EQ(db.qi("SELECT site_status FROM jetpack_monitor_sites"), 1);
  std::string before = db.q("SELECT CONCAT(severity, state, ended_at, updated_at) FROM jetmon_events");

  EventMutation by_id = EventMutation::promote(site(1), Severity::kDown, "Down", "verifier_confirmed");
  by_id.event_id = opened.event_id;
  EXPECT_EQ(apply(s, by_id, "c").status, Status::kEventClosed);
  EventMutation close_again = EventMutation::close(site(1), "manual_override");
  close_again.event_id = opened.event_id;
  EXPECT_EQ(apply(s, close_again, "d").status, Status::kEventClosed);
  EXPECT_EQ(db.q("SELECT CONCAT(severity, state, ended_at, updated_at) FROM jetmon_events"), before);
  EXPECT_EQ(db.qi("SELECT COUNT(*) FROM jetmon_event_transitions"), 2);

  // By identity there is simply no open event; a close still projects (compat §3.4).
  db.q("UPDATE jetpack_monitor_sites SET site_status = 2");
  EXPECT_EQ(apply(s, EventMutation::close(site(1), "verifier_cleared", "", SiteStatus::kRunning), "e").status,
            Status::kNoOpenEvent);
  EXPECT_EQ(db.qi("SELECT site_status FROM jetpack_monitor_sites"), 1);
  EXPECT_EQ(apply(s, EventMutation::promote(site(1), Severity::kDown, "Down"), "f").status, Status::kNoOpenEvent);
}

TEST(EventStore, AReplayedMutationIsRecognisedAndNotWrittenTwice) {
  TestDatabase db;
  addSite(db, 1);
  Session s(db.connection());
  auto open = EventMutation::open(site(1), Severity::kSeemsDown, "Seems Down");
  auto first = apply(s, open, "same-key");
  ASSERT_EQ(first.status, Status::kApplied);
  // As after a lost acknowledgement: the same mutation again, with the replay check.
  auto replay = apply(s, open, "same-key", /*replay=*/true);
  EXPECT_EQ(replay.status, Status::kApplied);
  EXPECT_TRUE(replay.replayed);
  EXPECT_EQ(replay.event_id, first.event_id);

  auto close = EventMutation::close(site(1), "probe_cleared");
  ASSERT_EQ(apply(s, close, "close-key").status, Status::kApplied);
  auto close_replay = apply(s, close, "close-key", true);
  EXPECT_EQ(close_replay.status, Status::kApplied);
  EXPECT_TRUE(close_replay.replayed);
  // Without the check the unique index still refuses the second copy.
  auto audit = EventMutation::audit(site(1), "retry_dispatched", "retry 1 of 3");
  ASSERT_EQ(apply(s, audit, "audit-key").status, Status::kApplied);
  auto audit_again = apply(s, audit, "audit-key", false);
  EXPECT_EQ(audit_again.status, Status::kApplied);
  EXPECT_TRUE(audit_again.replayed);
  EXPECT_EQ(db.qi("SELECT COUNT(*) FROM jetmon_events"), 1);
  EXPECT_EQ(db.qi("SELECT COUNT(*) FROM jetmon_event_transitions"), 2);
  EXPECT_EQ(db.qi("SELECT COUNT(*) FROM jetmon_audit_log"), 1);
}

TEST(EventStore, AsyncMutationsAreAppliedInOrderPerSiteWithCallbacks) {
  TestDatabase db;
  constexpr int kSites = 40;
  for (int i = 1; i <= kSites; ++i) addSite(db, i);
  auto pool = std::make_shared<Pool>(db.connection(), 6);
  EventStore store(pool, {.workers = 4, .source = "async-host"});
  std::mutex mu;
  std::vector<MutationResult> results;
  auto record = [&](const MutationResult& r) {
    std::lock_guard lock(mu);
    results.push_back(r);
  };
  for (int i = 1; i <= kSites; ++i) {
    store.submit(EventMutation::open(site(i), Severity::kSeemsDown, "Seems Down", "", SiteStatus::kDown), record);
    store.submit(EventMutation::audit(site(i), "retry_dispatched", "retry 1 of 3"), record);
    store.submit(EventMutation::promote(site(i), Severity::kDown, "Down", "verifier_confirmed", "",
                                        SiteStatus::kConfirmedDown),
                 record);
    if (i % 2 == 0) {
      store.submit(EventMutation::close(site(i), "verifier_cleared", "", SiteStatus::kRunning), record);
    }
  }
  ASSERT_TRUE(store.drain(std::chrono::seconds(30)));
  EXPECT_EQ(store.backlog(), 0u);
  EXPECT_EQ(results.size(), static_cast<std::size_t>(kSites * 3 + kSites / 2));
  for (const auto& r : results) EXPECT_TRUE(r.status == Status::kApplied) << toString(r.status);
  EXPECT_EQ(db.qi("SELECT COUNT(*) FROM jetmon_event_transitions"), kSites * 2 + kSites / 2);
  // Per site, transitions are in decision order.
  EXPECT_EQ(db.qi("SELECT COUNT(*) FROM (SELECT event_id, GROUP_CONCAT(reason ORDER BY id) r FROM "
                    "jetmon_event_transitions GROUP BY event_id) x WHERE r NOT IN "
                    "('opened,verifier_confirmed', 'opened,verifier_confirmed,verifier_cleared')"),
            0);
  EXPECT_EQ(db.qi("SELECT COUNT(*) FROM jetmon_audit_log WHERE event_id IS NOT NULL AND source = 'async-host'"),
            kSites);
  EXPECT_EQ(db.qi("SELECT SUM(site_status) FROM jetpack_monitor_sites"), kSites / 2 * 2 + kSites / 2);

  std::vector<OpenEvent> open;
  ASSERT_TRUE(store.listOpenEvents(open, nullptr));
  EXPECT_EQ(open.size(), static_cast<std::size_t>(kSites / 2));
  for (const auto& e : open) {
    EXPECT_EQ(e.identity.endpoint_id % 2, 1u);
    EXPECT_EQ(e.severity, Severity::kDown);
    EXPECT_EQ(e.identity.check_type, "http");
  }
}

TEST(EventStore, FalsePositiveRowsAreWritten) {
  TestDatabase db;
  Session s(db.connection());
  ASSERT_EQ(apply(s, EventMutation::falsePositive(site(3), 503, 0, 1234), "fp").status, Status::kApplied);
  EXPECT_EQ(db.q("SELECT CONCAT(blog_id, ' ', http_code, ' ', error_code, ' ', rtt_ms) FROM jetmon_false_positives"),
            "1003 503 0 1234");
}

// ---- site runtime columns (the IncidentStore's writeSslExpiryDate / writeLastAlertSent) ----

TEST(SiteRuntime, ExpiryDateAndLastAlertAreWrittenCoalescedPerSite) {
  TestDatabase db;
  addSite(db, 1);
  addSite(db, 2);
  auto pool = std::make_shared<Pool>(db.connection(), 3);
  Metrics metrics;
  EventStore store(pool, {.workers = 1, .source = "test-host"}, &metrics);
  const std::int64_t alert_ms = 1'800'000'000'000;  // 2027-01-15 08:00:00 UTC
  store.writeSslExpiryDate(1, 20'000);               // 2024-10-04
  store.writeLastAlertSent(1, alert_ms);
  store.writeLastAlertSent(1, alert_ms - 60'000);   // an older anchor never moves it back
  store.writeSslExpiryDate(2, 20'000);
  store.writeSslExpiryDate(2, 20'001);               // the last date wins
  ASSERT_TRUE(store.drain(std::chrono::seconds(20)));
  EXPECT_EQ(store.backlog(), 0u);
  EXPECT_EQ(db.q("SELECT CONCAT(ssl_expiry_date, '/', last_alert_sent_at) FROM jetpack_monitor_sites "
                 "WHERE jetpack_monitor_site_id = 1"),
            "2024-10-04/2027-01-15 08:00:00");
  EXPECT_EQ(db.q("SELECT CONCAT(ssl_expiry_date, '/', COALESCE(last_alert_sent_at, 'NULL')) FROM "
                 "jetpack_monitor_sites WHERE jetpack_monitor_site_id = 2"),
            "2024-10-05/NULL");
  EXPECT_GE(metrics.counter("incidents.runtime_write.count").load(), 2u);
}

TEST(SiteRuntime, UpdatesWaitWhileTheDatabaseIsAwayAndAreWrittenOnceItIsBack) {
  TestDatabase db;
  addSite(db, 1);
  auto pool = std::make_shared<Pool>(db.connection(), 3);
  EventStore store(pool, {.workers = 1, .source = "test-host"});
  mariaDb().stop();
  store.writeSslExpiryDate(1, 20'000);
  store.writeLastAlertSent(1, 1'800'000'000'000);
  EXPECT_FALSE(store.drain(std::chrono::milliseconds(300)));
  EXPECT_GT(store.backlog(), 0u);
  mariaDb().start();
  ASSERT_TRUE(store.drain(std::chrono::seconds(30)));
  EXPECT_EQ(db.q("SELECT CONCAT(ssl_expiry_date, '/', last_alert_sent_at) FROM jetpack_monitor_sites"),
            "2024-10-04/2027-01-15 08:00:00");
}

}  // namespace
}  // namespace tidewatch::mysql::test
