// The database goes away for 60 s in the middle of a run with failing sites (DESIGN.md §5,
// issue 5): checking goes on without blocking, the projection stays coalesced in memory,
// incident mutations queue per site and are all applied in order once the server is back,
// history beyond its buffer is dropped and counted, and nothing is written twice.
//
// The run is driven here at the sinks' and event store's interfaces with a scripted fleet
// (a simplified Jetmon state machine decides the mutations), so the test needs nothing but
// the store and a private MariaDB; stopping and restarting that server on the same socket
// and data directory is the outage.
#include <atomic>
#include <chrono>
#include <map>
#include <mutex>
#include <thread>

#include <gtest/gtest.h>

#include "io/mysql/event_store.h"
#include "io/mysql/history_writer.h"
#include "io/mysql/pool.h"
#include "io/mysql/projection_writer.h"
#include "core/metrics.h"
#include "tests/support/test_database.h"

namespace tidewatch::mysql::test {
namespace {

using testing::mariaDb;
using testing::TestDatabase;

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

constexpr int kSites = 200;
constexpr auto kRound = 250ms;
constexpr int kRounds = 340;            // 85 s
constexpr int kOutageStartRound = 40;   // t = 10 s
constexpr int kOutageEndRound = 280;    // t = 70 s: 60 s without a database

// Which sites fail in which rounds: before, across and after the outage.
bool failing(int site, int round) {
  if (site <= 40) return round >= 20 && round < 200;   // fail before, recover during
  if (site <= 80) return round >= 100 && round < 300;  // fail during, recover after
  if (site <= 100) return round >= 60;                 // fail during, still down at the end
  if (site <= 110) return (round / 30) % 2 == 1;       // flapping throughout
  return false;
}

std::int64_t nowMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// The simplified Jetmon machine (compat §3.3–3.5): Seems Down on the first failure, Down after
// three, closed on the first success.
struct SiteModel {
  int fails = 0;
  bool open = false;
  bool down = false;
  std::vector<std::string> reasons;  // expected transition reasons, in order
  int audits = 0;
  int incidents = 0;
};

TEST(StoreOutage, SixtySecondsWithoutTheDatabaseLosesNothingAndDuplicatesNothing) {
  TestDatabase db;
  {
    std::string sql = "INSERT INTO jetpack_monitor_sites (jetpack_monitor_site_id, blog_id, monitor_url, check_interval) VALUES ";
    for (int i = 1; i <= kSites; ++i) {
      if (i > 1) sql += ",";
      sql += "(" + std::to_string(i) + "," + std::to_string(5000 + i) + ",'http://s" + std::to_string(i) + ".test/', 15)";
    }
    db.q(sql);
  }

  Metrics metrics;
  auto pool = std::make_shared<Pool>(db.connection(), 0, &metrics);
  EventStore store(pool, {.workers = 3, .source = "outage-test"}, &metrics);
  ProjectionWriter::Options po;
  po.flush_interval = 500ms;
  ProjectionWriter projection(pool, po, &metrics);
  HistoryWriter::Options ho;
  ho.max_buffer_rows = 3000;  // small, so that the outage overflows it
  HistoryWriter history(pool, ho, &metrics);

  std::map<int, SiteModel> model;
  std::vector<std::int64_t> last_result_ms(kSites + 1, 0);
  std::atomic<int> callbacks{0}, failed{0}, replayed{0};
  auto done = [&](const MutationResult& r) {
    ++callbacks;
    if (!r.ok() || (r.status != MutationResult::Status::kApplied)) ++failed;
    if (r.replayed) ++replayed;
  };
  int submitted = 0;
  int history_rows = 0;
  std::chrono::nanoseconds worst_round{0};

  std::thread outage;
  const auto start = Clock::now();
  for (int round = 0; round < kRounds; ++round) {
    if (round == kOutageStartRound) {
      outage = std::thread([] {
        mariaDb().stop();
        std::this_thread::sleep_for(60s);
        mariaDb().start();
      });
    }
    const auto t0 = Clock::now();
    const std::int64_t at = nowMs();
    for (int site = 1; site <= kSites; ++site) {
      EventIdentity id;
      id.blog_id = 5000 + site;
      id.endpoint_id = site;
      SiteModel& m = model[site];
      const bool fail = failing(site, round);
      projection.record(site, site - 1, 900, at);
      last_result_ms[site] = at;
      if (fail) {
        HistoryRow h;
        h.blog_id = id.blog_id;
        h.source_site_id = site;
        h.error_code = 2;
        h.rtt_ms = static_cast<std::uint32_t>(round);
        h.checked_at_ms = at;
        history.add(h);
        ++history_rows;
        ++m.fails;
        if (!m.open) {
          store.submit(EventMutation::open(id, Severity::kSeemsDown, "Seems Down", "{\"round\":" + std::to_string(round) + "}",
                                           SiteStatus::kDown),
                       done);
          m.open = true;
          m.reasons.push_back("opened");
          ++m.incidents;
          ++submitted;
        }
        if (m.fails < 3) {
          store.submit(EventMutation::audit(id, "retry_dispatched", "retry " + std::to_string(m.fails) + " of 3"), done);
          ++m.audits;
          ++submitted;
        } else if (!m.down) {
          store.submit(EventMutation::promote(id, Severity::kDown, "Down", "verifier_confirmed", "",
                                              SiteStatus::kConfirmedDown),
                       done);
          m.down = true;
          m.reasons.push_back("verifier_confirmed");
          ++submitted;
        }
      } else if (m.open) {
        const char* reason = m.down ? "verifier_cleared" : "probe_cleared";
        store.submit(EventMutation::close(id, reason, "", SiteStatus::kRunning), done);
        m.reasons.push_back(reason);
        m.open = m.down = false;
        m.fails = 0;
        ++submitted;
      } else {
        m.fails = 0;
      }
    }
    const auto spent = Clock::now() - t0;
    worst_round = std::max(worst_round, std::chrono::duration_cast<std::chrono::nanoseconds>(spent));
    std::this_thread::sleep_until(start + kRound * (round + 1));
  }
  outage.join();

  // Checking never waited for the database: a round of 200 results stayed far below its 250 ms.
  EXPECT_LT(worst_round, 50ms) << "a round took " << std::chrono::duration<double, std::milli>(worst_round).count() << " ms";

  ASSERT_TRUE(store.drain(120s)) << "backlog " << store.backlog();
  ASSERT_TRUE(projection.flush(60s));
  ASSERT_TRUE(history.flush(60s));
  EXPECT_EQ(callbacks.load(), submitted);
  EXPECT_EQ(failed.load(), 0);

  // Events and transitions: exactly what was decided, in order, once.
  int expected_events = 0, expected_transitions = 0, expected_audits = 0, expected_open = 0;
  for (auto& [site, m] : model) {
    expected_events += m.incidents;
    expected_transitions += static_cast<int>(m.reasons.size());
    expected_audits += m.audits;
    expected_open += m.open ? 1 : 0;
    std::string reasons;
    for (const auto& r : m.reasons) reasons += (reasons.empty() ? "" : ",") + r;
    EXPECT_EQ(db.q("SELECT COALESCE(GROUP_CONCAT(t.reason ORDER BY t.id), '') FROM jetmon_event_transitions t "
                     "WHERE t.endpoint_id = " + std::to_string(site)),
              reasons)
        << "site " << site;
    EXPECT_EQ(db.qi("SELECT site_status FROM jetpack_monitor_sites WHERE jetpack_monitor_site_id = " +
                          std::to_string(site)),
              m.open ? (m.down ? 2 : 0) : 1)
        << "site " << site;
  }
  EXPECT_GT(expected_transitions, 300);
  EXPECT_EQ(db.qi("SELECT COUNT(*) FROM jetmon_events"), expected_events);
  EXPECT_EQ(db.qi("SELECT COUNT(*) FROM jetmon_event_transitions"), expected_transitions);
  EXPECT_EQ(db.qi("SELECT COUNT(*) FROM jetmon_events WHERE ended_at IS NULL"), expected_open);
  EXPECT_EQ(db.qi("SELECT COUNT(*) FROM (SELECT endpoint_id FROM jetmon_events WHERE ended_at IS NULL "
                    "GROUP BY endpoint_id, check_type HAVING COUNT(*) > 1) x"),
            0);
  EXPECT_EQ(db.qi("SELECT COUNT(*) FROM jetmon_audit_log"), expected_audits);
  EXPECT_EQ(db.qi("SELECT COUNT(*) FROM jetmon_audit_log WHERE event_id IS NULL"), 0);

  // Projection: every site, never earlier than its last result.
  EXPECT_EQ(db.qi("SELECT COUNT(*) FROM jetpack_monitor_sites WHERE last_checked_at IS NULL"), 0);
  for (int site = 1; site <= kSites; site += 17) {
    EXPECT_GE(db.qi("SELECT UNIX_TIMESTAMP(last_checked_at) FROM jetpack_monitor_sites WHERE "
                      "jetpack_monitor_site_id = " + std::to_string(site)),
              last_result_ms[site] / 1000)
        << "site " << site;
  }

  // History: what the buffer held was written once; the overflow was dropped and counted.
  const auto dropped = metrics.counter("mysql.history.dropped").load();
  EXPECT_GT(dropped, 0u);
  EXPECT_EQ(static_cast<std::uint64_t>(db.qi("SELECT COUNT(*) FROM jetmon_check_history")) + dropped,
            static_cast<std::uint64_t>(history_rows));
  EXPECT_EQ(db.qi("SELECT COUNT(*) FROM (SELECT source_site_id, rtt_ms FROM jetmon_check_history "
                    "GROUP BY source_site_id, rtt_ms HAVING COUNT(*) > 1) x"),
            0);
  std::printf("outage run: %d mutations (%d recognised as replays), %d history rows (%llu dropped), "
              "worst round %.2f ms\n",
              submitted, replayed.load(), history_rows, static_cast<unsigned long long>(dropped),
              std::chrono::duration<double, std::milli>(worst_round).count());
}

}  // namespace
}  // namespace tidewatch::mysql::test
