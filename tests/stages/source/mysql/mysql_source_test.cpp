#include <chrono>
#include <condition_variable>
#include <mutex>
#include <thread>

#include <gtest/gtest.h>

#include "core/metrics.h"
#include "stages/source/mysql/mysql_source.h"
#include "tests/support/test_database.h"

namespace tidewatch::mysql::test {
namespace {

using testing::mariaDb;
using testing::TestDatabase;

using namespace std::chrono_literals;

class Recorder : public TargetListener {
 public:
  void replaceFleet(std::vector<Target> fleet) override {
    std::lock_guard lock(mu_);
    snapshots_.push_back(std::move(fleet));
    cv_.notify_all();
  }
  // Waits for a snapshot satisfying `pred` (newer than the `after`-th).
  template <class Pred>
  std::vector<Target> waitFor(Pred pred, std::chrono::milliseconds timeout = 10s) {
    std::unique_lock lock(mu_);
    std::vector<Target> found;
    cv_.wait_for(lock, timeout, [&] {
      if (!snapshots_.empty() && pred(snapshots_.back())) {
        found = snapshots_.back();
        return true;
      }
      return false;
    });
    return found;
  }
  std::size_t count() {
    std::lock_guard lock(mu_);
    return snapshots_.size();
  }
  std::vector<Target> last() {
    std::lock_guard lock(mu_);
    return snapshots_.empty() ? std::vector<Target>{} : snapshots_.back();
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<std::vector<Target>> snapshots_;
};

const Target* find(const std::vector<Target>& fleet, std::uint64_t id) {
  for (const auto& t : fleet) {
    if (t.id == id) return &t;
  }
  return nullptr;
}

TEST(MysqlSource, LoadsActiveRowsOfItsBucketsWithPagingAndSharedRules) {
  TestDatabase db;
  db.q("INSERT INTO jetpack_monitor_sites (jetpack_monitor_site_id, blog_id, bucket_no, monitor_url, "
    "monitor_active, site_status, check_interval) VALUES "
    "(1, 11, 5, 'http://a.test/', 1, 1, 5), (2, 12, 6, 'http://b.test/', 1, 0, 0), "
    "(3, 13, 7, 'http://c.test/', 0, 1, 5), (4, 14, 99, 'http://d.test/', 1, 1, 5), "
    "(5, 15, 5, 'http://e.test/', 1, 2, 1), (6, 16, 5, 'http://f.test/', 1, 1, 3), "
    "(7, 17, 5, 'http://g.test/', 1, 1, 3), (8, 18, 10, 'http://h.test/', 1, 1, 15)");
  db.q("UPDATE jetpack_monitor_sites SET check_keyword = 'ok', forbidden_keyword = 'error', "
    "forbidden_keywords = '[\"fatal\", \"error\"]', custom_headers = '{\"X-A\": \"1\"}', "
    "timeout_seconds = 5, redirect_policy = 'fail', request_method = 'head', alert_cooldown_minutes = 60, "
    "check_history_mode = 'all', maintenance_start = '2030-01-01 00:00:00', "
    "maintenance_end = '2030-01-02 00:00:00' WHERE jetpack_monitor_site_id IN (6, 7)");
  db.q("UPDATE jetpack_monitor_sites SET redirect_policy = 'follow', ssl_expiry_date = '2031-05-06', "
         "last_alert_sent_at = '2026-01-01 10:00:00' WHERE jetpack_monitor_site_id = 1");

  Metrics metrics;
  stages::MysqlSourceOptions o;
  o.bucket_min = 5;
  o.bucket_max = 10;
  o.page_size = 2;  // several pages for six rows
  auto source = stages::makeMysqlTargetSource(o, db.config(), metrics);
  Recorder rec;
  source->start(rec);
  auto fleet = rec.waitFor([](const auto& f) { return !f.empty(); });
  source->stop();

  ASSERT_EQ(fleet.size(), 6u);  // 3 inactive, 4 outside the buckets
  for (std::size_t i = 1; i < fleet.size(); ++i) EXPECT_LT(fleet[i - 1].id, fleet[i].id);
  const Target* a = find(fleet, 1);
  ASSERT_NE(a, nullptr);
  EXPECT_EQ(a->blog_id, 11u);
  EXPECT_EQ(a->url, "http://a.test/");
  EXPECT_EQ(a->interval_s, 300u);
  EXPECT_EQ(a->bucket, 5);
  EXPECT_EQ(a->config, defaultSiteConfig());  // 'follow' is the default, not an override
  EXPECT_EQ(a->ssl_expiry_date, 1935792000);  // 2031-05-06 00:00:00 UTC
  EXPECT_EQ(a->last_alert_sent_at, 1767261600);
  EXPECT_EQ(find(fleet, 2)->interval_s, 60u);  // check_interval 0 ⇒ 1 minute
  EXPECT_EQ(find(fleet, 2)->site_status, SiteStatus::kDown);
  EXPECT_EQ(find(fleet, 5)->site_status, SiteStatus::kConfirmedDown);
  EXPECT_EQ(find(fleet, 8)->interval_s, 900u);

  const Target* f = find(fleet, 6);
  const Target* g = find(fleet, 7);
  ASSERT_TRUE(f && g);
  EXPECT_EQ(f->config, g->config);  // identical rules are interned
  const SiteConfig& c = *f->config;
  EXPECT_EQ(c.check_keyword, "ok");
  EXPECT_EQ(c.forbidden_keywords, (std::vector<std::string>{"error", "fatal"}));
  ASSERT_EQ(c.custom_headers.size(), 1u);
  EXPECT_EQ(c.custom_headers[0].first, "X-A");
  EXPECT_EQ(c.timeout_seconds, 5);
  EXPECT_EQ(c.redirect_policy, RedirectPolicy::kFail);
  EXPECT_EQ(c.method, HttpMethod::kHead);
  EXPECT_EQ(c.alert_cooldown_minutes, 60);
  EXPECT_EQ(c.history_mode, HistoryMode::kAll);
  EXPECT_EQ(c.maintenance_start, 1893456000);
  EXPECT_EQ(c.maintenance_end, 1893542400);
  EXPECT_EQ(metrics.gauge("source.mysql.targets").load(), 6);
}

TEST(MysqlSource, FollowsAddsChangesDeactivationsAndReactivationsWhileRunning) {
  TestDatabase db;
  Metrics metrics;
  stages::MysqlSourceOptions o;
  o.count_poll_s = 1;
  o.empty_poll_s = 1;
  o.reload_interval_s = 2;
  auto source = stages::makeMysqlTargetSource(o, db.config(), metrics);
  Recorder rec;
  source->start(rec);
  // An empty table is a valid (empty) fleet, then polled every empty_poll_s.
  ASSERT_EQ(rec.waitFor([](const auto& f) { return f.empty(); }, 5s).size(), 0u);
  ASSERT_GE(rec.count(), 1u);

  db.q("INSERT INTO jetpack_monitor_sites (jetpack_monitor_site_id, blog_id, monitor_url) VALUES "
         "(1, 1, 'http://one.test/'), (2, 2, 'http://two.test/')");
  auto fleet = rec.waitFor([](const auto& f) { return f.size() == 2; });
  ASSERT_EQ(fleet.size(), 2u);

  db.q("UPDATE jetpack_monitor_sites SET monitor_active = 0 WHERE jetpack_monitor_site_id = 2");
  fleet = rec.waitFor([](const auto& f) { return f.size() == 1; });
  ASSERT_EQ(fleet.size(), 1u);
  EXPECT_EQ(fleet[0].id, 1u);

  db.q("UPDATE jetpack_monitor_sites SET monitor_active = 1 WHERE jetpack_monitor_site_id = 2");
  fleet = rec.waitFor([](const auto& f) { return f.size() == 2; });
  ASSERT_EQ(fleet.size(), 2u);

  // Same count, same max id: found by the periodic reload.
  db.q("UPDATE jetpack_monitor_sites SET monitor_url = 'http://uno.test/', check_interval = 1 "
         "WHERE jetpack_monitor_site_id = 1");
  fleet = rec.waitFor([](const auto& f) { return !f.empty() && f[0].url == "http://uno.test/"; });
  ASSERT_EQ(fleet.size(), 2u);
  EXPECT_EQ(fleet[0].interval_s, 60u);

  // While the database is down the source keeps its fleet (no empty snapshot) and picks up
  // changes once it is back.
  std::size_t before = rec.count();
  mariaDb().stop();
  std::this_thread::sleep_for(2500ms);
  EXPECT_EQ(rec.count(), before);
  mariaDb().start();
  db.q("INSERT INTO jetpack_monitor_sites (jetpack_monitor_site_id, blog_id, monitor_url) VALUES "
         "(3, 3, 'http://three.test/')");
  fleet = rec.waitFor([](const auto& f) { return f.size() == 3; }, 15s);
  EXPECT_EQ(fleet.size(), 3u);
  source->stop();
  EXPECT_GE(metrics.counter("source.mysql.load.error").load(), 1u);
}

TEST(MysqlSource, ReloadOfAnUnchangedFleetReusesTheSameRuleObjects) {
  TestDatabase db;
  db.q("INSERT INTO jetpack_monitor_sites (jetpack_monitor_site_id, blog_id, monitor_url, check_keyword) "
         "VALUES (1, 1, 'http://one.test/', 'hello'), (2, 2, 'http://two.test/', NULL)");
  Metrics metrics;
  stages::MysqlSourceOptions o;
  auto source = stages::makeMysqlTargetSource(o, db.config(), metrics);
  Recorder rec;
  source->start(rec);
  auto first = rec.waitFor([](const auto& f) { return f.size() == 2; });
  ASSERT_EQ(first.size(), 2u);
  std::size_t seen = rec.count();
  source->refresh();
  for (int i = 0; i < 200 && rec.count() <= seen; ++i) std::this_thread::sleep_for(50ms);
  auto second = rec.last();
  source->stop();
  ASSERT_EQ(second.size(), 2u);
  EXPECT_EQ(first[0].config, second[0].config);
  EXPECT_EQ(first[1].config, second[1].config);
  EXPECT_TRUE(first[0].sameCheckAs(second[0]));
}

TEST(MysqlSource, PeriodicReloadWaitsWhileTheRunnerReportsPressure) {
  TestDatabase db;
  db.q("INSERT INTO jetpack_monitor_sites (jetpack_monitor_site_id, blog_id, monitor_url) VALUES "
         "(1, 1, 'http://one.test/')");
  Metrics metrics;
  stages::MysqlSourceOptions o;
  o.reload_interval_s = 1;
  o.pressure_defer_s = 1;
  o.count_poll_s = 1;
  auto source = stages::makeMysqlTargetSource(o, db.config(), metrics);
  Recorder rec;
  source->start(rec);
  ASSERT_EQ(rec.waitFor([](const auto& f) { return f.size() == 1; }).size(), 1u);
  source->setUnderPressure(true);
  // A change the count poll cannot see: only a periodic reload finds it.
  db.q("UPDATE jetpack_monitor_sites SET monitor_url = 'http://uno.test/'");
  std::this_thread::sleep_for(3500ms);
  EXPECT_EQ(rec.last()[0].url, "http://one.test/");
  EXPECT_GE(metrics.counter("source.mysql.reload.deferred").load(), 1u);
  source->setUnderPressure(false);
  auto fleet = rec.waitFor([](const auto& f) { return f.size() == 1 && f[0].url == "http://uno.test/"; }, 5s);
  EXPECT_EQ(fleet.size(), 1u);
  source->stop();
}

}  // namespace
}  // namespace tidewatch::mysql::test
