// sink.mysql_history: which results are kept (HistoryPolicy) and its options, parsed through
// the registry as the daemon does. The writer behind it is tested in
// tests/io/mysql/writers_test.cpp.
#include <any>
#include <memory>

#include <gtest/gtest.h>

#include "stages/sink/mysql_history/mysql_history_sink.h"
#include "tests/support/stage_options.h"

namespace tidewatch::stages {
namespace {

using testing::parseStageOptions;

TEST(StoreStagesConfig, HistoryOptionsParseAndRejectUnknownModes) {
  ConfigDiagnostics ok;
  auto h = std::any_cast<MysqlHistoryOptions>(
      parseStageOptions("sink.mysql_history", "{default_mode: status_change}", ok));
  EXPECT_TRUE(ok.ok()) << ok.firstError();
  EXPECT_EQ(h.default_mode, HistoryKeep::kStatusChange);
  EXPECT_EQ(h.batch_rows, 1000);

  ConfigDiagnostics bad;
  parseStageOptions("sink.mysql_history", "{default_mode: sometimes}", bad);
  EXPECT_EQ(bad.firstError().rfind("pipeline.x.default_mode", 0), 0u) << bad.firstError();
}

// ---- which results are kept ----------------------------------------------------------

struct PolicyCase {
  std::shared_ptr<Target> target = std::make_shared<Target>();
  Check check(bool failure, std::int64_t due = 0) {
    Check c;
    c.request.target = target;
    c.request.due_s = due;
    c.verdict.failure = failure;
    c.verdict.success = !failure;
    return c;
  }
};

TEST(HistoryPolicy, FailuresByDefault) {
  HistoryPolicy p({});
  PolicyCase s;
  s.target->id = 1;
  s.target->config = defaultSiteConfig();
  EXPECT_FALSE(p.keep(s.check(false)));
  EXPECT_TRUE(p.keep(s.check(true)));
  EXPECT_TRUE(p.keep(s.check(true)));
  EXPECT_FALSE(p.keep(s.check(false)));
}

TEST(HistoryPolicy, StatusChangeKeepsOnlyResultsThatDisagreeWithTheStoredStatus) {
  MysqlHistoryOptions o;
  o.default_mode = HistoryKeep::kStatusChange;
  HistoryPolicy p(o);
  PolicyCase up, down;
  up.target->id = 1;
  up.target->config = defaultSiteConfig();
  down.target->id = 2;
  down.target->config = defaultSiteConfig();
  down.target->site_status = SiteStatus::kConfirmedDown;
  EXPECT_FALSE(p.keep(up.check(false)));
  EXPECT_TRUE(p.keep(up.check(true)));    // up → fail
  EXPECT_FALSE(p.keep(up.check(true)));   // still failing
  EXPECT_TRUE(p.keep(up.check(false)));   // down → success
  EXPECT_FALSE(p.keep(up.check(false)));
  EXPECT_FALSE(p.keep(down.check(true)));
  EXPECT_TRUE(p.keep(down.check(false)));
  EXPECT_EQ(p.trackedSites(), 1u);  // only the site whose status moved away from its row
}

TEST(HistoryPolicy, PerSiteModesOverrideTheDefault) {
  HistoryPolicy p({});
  auto cfg = std::make_shared<SiteConfig>();
  PolicyCase all, off, sample;
  cfg->history_mode = HistoryMode::kAll;
  all.target->id = 1;
  all.target->config = cfg;
  auto cfg_off = std::make_shared<SiteConfig>();
  cfg_off->history_mode = HistoryMode::kDisabled;
  off.target->id = 2;
  off.target->config = cfg_off;
  auto cfg_sample = std::make_shared<SiteConfig>();
  cfg_sample->history_mode = HistoryMode::kSample;
  cfg_sample->history_sample_rate = 4;
  sample.target->id = 3;
  sample.target->interval_s = 60;
  sample.target->config = cfg_sample;
  EXPECT_TRUE(p.keep(all.check(false)));
  EXPECT_FALSE(p.keep(off.check(true)));
  int kept = 0;
  for (int i = 0; i < 40; ++i) kept += p.keep(sample.check(false, 1'800'000'000 + i * 60)) ? 1 : 0;
  EXPECT_EQ(kept, 10);  // every 4th healthy result
  EXPECT_TRUE(p.keep(sample.check(true)));
}

}  // namespace
}  // namespace tidewatch::stages
