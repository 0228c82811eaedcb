#include <chrono>
#include <thread>

#include <gtest/gtest.h>

#include "io/mysql/history_writer.h"
#include "io/mysql/pool.h"
#include "io/mysql/projection_writer.h"
#include "core/metrics.h"
#include "core/text.h"
#include "tests/support/test_database.h"

namespace tidewatch::mysql::test {
namespace {

using testing::mariaDb;
using testing::TestDatabase;

using namespace std::chrono_literals;

std::int64_t nowMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

void addSites(const TestDatabase& db, int n) {
  std::string sql = "INSERT INTO jetpack_monitor_sites (jetpack_monitor_site_id, blog_id, monitor_url) VALUES ";
  for (int i = 1; i <= n; ++i) {
    if (i > 1) sql += ",";
    sql += "(" + std::to_string(i) + "," + std::to_string(i + 100000) + ",'http://s" + std::to_string(i) + ".test/')";
  }
  db.q(sql);
}

ProjectionWriter::Options fast() {
  ProjectionWriter::Options o;
  o.flush_interval = 50ms;
  return o;
}

TEST(Projection, AtMostOncePerIntervalPerTargetAndWrittenAtCommitTime) {
  TestDatabase db;
  addSites(db, 3);
  auto pool = std::make_shared<Pool>(db.connection(), 2);
  ProjectionWriter w(pool, fast());
  const std::int64_t t0 = nowMs() - 3'600'000;  // results from an hour ago
  w.record(1, 0, 300, t0);
  ASSERT_TRUE(w.flush(10s));
  // Commit time, not the (older) result time.
  EXPECT_LE(db.qi("SELECT ABS(TIMESTAMPDIFF(SECOND, last_checked_at, NOW())) FROM jetpack_monitor_sites "
                    "WHERE jetpack_monitor_site_id = 1"),
            2);
  EXPECT_EQ(db.qi("SELECT COUNT(*) FROM jetpack_monitor_sites WHERE last_checked_at IS NULL"), 2);

  // Five-minute site: the next results inside 15 min are not projected.
  w.record(1, 0, 300, t0 + 285'000);
  w.record(1, 0, 300, t0 + 570'000);
  EXPECT_EQ(w.pending(), 0u);
  w.record(1, 0, 300, t0 + 900'000 - 2'000);  // 15 min minus the 2 s slack: due again
  EXPECT_EQ(w.pending(), 1u);
  // Coalesced: a later result for the same target replaces the queued one.
  w.record(2, 1, 900, t0);
  w.record(2, 1, 900, t0 + 900'000);  // 15-min site: every result
  EXPECT_EQ(w.pending(), 2u);
  ASSERT_TRUE(w.flush(10s));
  EXPECT_EQ(db.qi("SELECT COUNT(*) FROM jetpack_monitor_sites WHERE last_checked_at IS NOT NULL"), 2);
}

// A cold start must not write every row at once: with the spread, the first results of 1 000
// five-minute sites are projected over the 15-minute interval, each within it.
TEST(Projection, StartUpSpreadWritesEachTargetOnceWithinTheFirstInterval) {
  TestDatabase db;
  constexpr int kSites = 1000;
  addSites(db, kSites);
  auto pool = std::make_shared<Pool>(db.connection(), 2);
  ProjectionWriter::Options o;
  o.flush_interval = 1h;  // nothing leaves before flush(): pending() counts what is due
  o.spread_first_write = true;
  ProjectionWriter w(pool, o);
  const std::int64_t t0 = nowMs() - 3'600'000;
  for (int i = 1; i <= kSites; ++i) w.record(i, i - 1, 300, t0);
  // Only the targets whose hashed point falls in the last 2 s (the slack) of the interval.
  EXPECT_LT(w.pending(), static_cast<std::size_t>(kSites / 50));
  std::size_t written = w.pending();
  // Results every 5 minutes: each third of the interval brings about a third of the fleet.
  for (std::int64_t at : {t0 + 300'000, t0 + 600'000, t0 + 900'000}) {
    for (int i = 1; i <= kSites; ++i) w.record(i, i - 1, 300, at);
    std::size_t now_pending = w.pending();
    EXPECT_GT(now_pending - written, static_cast<std::size_t>(kSites / 5)) << at - t0;
    EXPECT_LT(now_pending - written, static_cast<std::size_t>(kSites / 2)) << at - t0;
    written = now_pending;  // coalesced per target: pending counts targets, not results
  }
  EXPECT_EQ(written, static_cast<std::size_t>(kSites));
  ASSERT_TRUE(w.flush(10s));
  EXPECT_EQ(db.qi("SELECT COUNT(*) FROM jetpack_monitor_sites WHERE last_checked_at IS NULL"), 0);
}

TEST(Projection, WrittenTimeIsNeverEarlierThanTheResultTime) {
  TestDatabase db;
  addSites(db, 1);
  auto pool = std::make_shared<Pool>(db.connection(), 2);
  ProjectionWriter w(pool, fast());
  // A database clock behind ours (or a result stamped ahead of the database's NOW()).
  const std::int64_t ahead = (nowMs() / 1000 + 3600) * 1000 + 400;
  w.record(1, 0, 300, ahead);
  ASSERT_TRUE(w.flush(10s));
  EXPECT_EQ(db.q("SELECT last_checked_at FROM jetpack_monitor_sites"), formatUtc(ahead + 600, UtcFormat::kSqlDatetime));
}

TEST(Projection, CoalescesInMemoryAndFlushesEverythingOnShutdownInChunkedStatements) {
  TestDatabase db;
  constexpr int kSites = 2500;
  addSites(db, kSites);
  auto pool = std::make_shared<Pool>(db.connection(), 2);
  ProjectionWriter::Options o;
  o.flush_interval = 1h;  // nothing leaves before flush()
  Metrics metrics;
  ProjectionWriter w(pool, o, &metrics);
  const std::int64_t t = nowMs();
  for (int round = 0; round < 3; ++round) {
    for (int i = 1; i <= kSites; ++i) w.record(i, i - 1, 3600, t + round * 1000);
  }
  EXPECT_EQ(w.pending(), static_cast<std::size_t>(kSites));
  EXPECT_EQ(db.qi("SELECT COUNT(*) FROM jetpack_monitor_sites WHERE last_checked_at IS NOT NULL"), 0);
  ASSERT_TRUE(w.flush(30s));
  EXPECT_EQ(db.qi("SELECT COUNT(*) FROM jetpack_monitor_sites WHERE last_checked_at IS NOT NULL"), kSites);
  EXPECT_EQ(metrics.counter("mysql.projection.rows").load(), static_cast<std::uint64_t>(kSites));
}

TEST(Projection, PeriodicFlushWritesAChunkPerInterval) {
  TestDatabase db;
  addSites(db, 100);
  auto pool = std::make_shared<Pool>(db.connection(), 2);
  ProjectionWriter::Options o;
  o.flush_interval = 200ms;
  o.min_chunk = 30;  // tiny chunks so that several intervals are needed
  o.max_chunk = 30;
  ProjectionWriter w(pool, o);
  for (int i = 1; i <= 100; ++i) w.record(i, i - 1, 300, nowMs());
  std::this_thread::sleep_for(300ms);
  long long after_one = db.qi("SELECT COUNT(*) FROM jetpack_monitor_sites WHERE last_checked_at IS NOT NULL");
  EXPECT_GE(after_one, 30);
  EXPECT_LT(after_one, 100);
  for (int i = 0; i < 50 && w.pending() > 0; ++i) std::this_thread::sleep_for(100ms);
  EXPECT_EQ(db.qi("SELECT COUNT(*) FROM jetpack_monitor_sites WHERE last_checked_at IS NOT NULL"), 100);
}

HistoryRow row(std::uint64_t site, std::int64_t at_ms, int error = 1) {
  HistoryRow r;
  r.blog_id = site + 100000;
  r.source_site_id = site;
  r.http_code = error ? 0 : 200;
  r.error_code = static_cast<std::uint8_t>(error);
  r.rtt_ms = 10 + site;
  r.ttfb_ms = 7;
  r.checked_at_ms = at_ms;
  return r;
}

TEST(History, BatchesRowsIntoMultiRowInsertsWithTheResultTime) {
  TestDatabase db;
  auto pool = std::make_shared<Pool>(db.connection(), 2);
  Metrics metrics;
  HistoryWriter w(pool, {}, &metrics);
  const std::int64_t at = 1'800'000'000'000;  // 2027-01-15 08:00:00 UTC
  for (int i = 0; i < 2500; ++i) {
    HistoryRow r = row(i % 50 + 1, at);
    r.head = i == 0;
    ASSERT_TRUE(w.add(r));
  }
  ASSERT_TRUE(w.flush(20s));
  EXPECT_EQ(db.qi("SELECT COUNT(*) FROM jetmon_check_history"), 2500);
  EXPECT_EQ(db.qi("SELECT COUNT(*) FROM jetmon_check_history WHERE request_method = 'HEAD'"), 1);
  EXPECT_EQ(db.q("SELECT DISTINCT checked_at FROM jetmon_check_history"), formatUtc(at, UtcFormat::kSqlDatetime));
  EXPECT_EQ(metrics.counter("mysql.history.rows").load(), 2500u);
}

TEST(History, SmallBatchesLeaveWithin250ms) {
  TestDatabase db;
  auto pool = std::make_shared<Pool>(db.connection(), 2);
  HistoryWriter w(pool, {});
  w.add(row(1, nowMs()));
  std::this_thread::sleep_for(900ms);
  EXPECT_EQ(db.qi("SELECT COUNT(*) FROM jetmon_check_history"), 1);
}

TEST(History, BeyondTheBufferRowsAreDroppedAndCountedWhileTheDatabaseIsDown) {
  TestDatabase db;
  auto pool = std::make_shared<Pool>(db.connection(), 2);
  Metrics metrics;
  HistoryWriter::Options o;
  o.max_buffer_rows = 100;
  o.batch_rows = 40;
  HistoryWriter w(pool, o, &metrics);
  mariaDb().stop();
  int accepted = 0;
  for (int i = 0; i < 250; ++i) accepted += w.add(row(1, nowMs() + i * 1000)) ? 1 : 0;
  std::this_thread::sleep_for(300ms);
  mariaDb().start();
  ASSERT_TRUE(w.flush(30s));
  EXPECT_EQ(db.qi("SELECT COUNT(*) FROM jetmon_check_history"), accepted);
  EXPECT_EQ(metrics.counter("mysql.history.dropped").load(), static_cast<std::uint64_t>(250 - accepted));
  EXPECT_GE(250 - accepted, 100);
  EXPECT_EQ(w.dropped(), static_cast<std::uint64_t>(250 - accepted));
}

TEST(History, ABatchCommittedBeforeALostAcknowledgementIsRecognised) {
  TestDatabase db;
  Session s(db.connection());
  std::vector<HistoryRow> batch{row(5, 1'800'000'000'000), row(6, 1'800'000'000'000)};
  bool exists = true;
  ASSERT_TRUE(HistoryWriter::batchExists(s, batch.front(), &exists).ok());
  EXPECT_FALSE(exists);
  ASSERT_TRUE(HistoryWriter::insertRows(s, batch).ok());
  ASSERT_TRUE(HistoryWriter::batchExists(s, batch.front(), &exists).ok());
  EXPECT_TRUE(exists);
}

}  // namespace
}  // namespace tidewatch::mysql::test
