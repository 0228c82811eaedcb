// source.mysql's options, parsed through the registry as the daemon does.
#include <any>

#include <gtest/gtest.h>

#include "stages/source/mysql/mysql_source.h"
#include "tests/support/stage_options.h"

namespace tidewatch {
namespace {

using testing::allErrors;
using testing::parseStageOptions;

TEST(StoreStagesConfig, SourceOptionsParseWithDefaultsAndNamedErrors) {
  ConfigDiagnostics ok;
  auto o = std::any_cast<stages::MysqlSourceOptions>(
      parseStageOptions("source.mysql", "{bucket_min: 10, bucket_max: 19}", ok));
  EXPECT_TRUE(ok.ok()) << ok.firstError();
  EXPECT_EQ(o.bucket_min, 10);
  EXPECT_EQ(o.bucket_max, 19);
  EXPECT_EQ(o.page_size, 5000u);  // 0/omitted = automatic
  EXPECT_EQ(o.count_poll_s, 30);

  ConfigDiagnostics bad;
  parseStageOptions("source.mysql", "{bucket_min: 10, bucket_max: 9, page_size: -1, colour: red}", bad);
  EXPECT_FALSE(bad.ok());
  std::string all = allErrors(bad);
  EXPECT_NE(all.find("pipeline.x.bucket_max"), std::string::npos) << all;
  EXPECT_NE(all.find("pipeline.x.page_size"), std::string::npos) << all;
  EXPECT_NE(all.find("pipeline.x.colour"), std::string::npos) << all;
}

}  // namespace
}  // namespace tidewatch
