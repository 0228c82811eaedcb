// sink.mysql_projection's options, parsed through the registry as the daemon does. The
// writer behind it is tested in tests/io/mysql/writers_test.cpp.
#include <any>

#include <gtest/gtest.h>

#include "stages/sink/mysql_projection/mysql_projection_sink.h"
#include "tests/support/stage_options.h"

namespace tidewatch {
namespace {

using testing::parseStageOptions;

TEST(StoreStagesConfig, ProjectionOptionsDefaultToFifteenMinutesAndRejectLongerIntervals) {
  ConfigDiagnostics ok;
  auto p = std::any_cast<stages::MysqlProjectionOptions>(parseStageOptions("sink.mysql_projection", "{}", ok));
  EXPECT_TRUE(ok.ok()) << ok.firstError();
  EXPECT_EQ(p.interval_min, 15);

  ConfigDiagnostics bad;
  parseStageOptions("sink.mysql_projection", "{interval_min: 30}", bad);
  EXPECT_EQ(bad.firstError().rfind("pipeline.x.interval_min", 0), 0u) << bad.firstError();
}

}  // namespace
}  // namespace tidewatch
