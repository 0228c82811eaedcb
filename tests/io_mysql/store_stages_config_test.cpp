#include <any>

#include <gtest/gtest.h>
#include <yaml-cpp/yaml.h>

#include "pipeline/config_node.h"
#include "pipeline/registry.h"
#include "stages/register_all.h"
#include "stages/sink/mysql_history/mysql_history_sink.h"
#include "stages/sink/mysql_projection/mysql_projection_sink.h"
#include "stages/source/mysql/mysql_source.h"

namespace tidewatch {
namespace {

std::any parse(const std::string& name, const std::string& yaml, ConfigDiagnostics& diag) {
  const StageFactory* f = builtinStages().find(name);
  EXPECT_NE(f, nullptr) << name;
  ConfigMap m(YAML::Load(yaml), "pipeline.x", diag);
  std::any out = f->parse(m);
  m.finish();
  return out;
}

TEST(StoreStagesConfig, SourceOptionsParseWithDefaultsAndNamedErrors) {
  ConfigDiagnostics ok;
  auto o = std::any_cast<stages::MysqlSourceOptions>(parse("source.mysql", "{bucket_min: 10, bucket_max: 19}", ok));
  EXPECT_TRUE(ok.ok()) << ok.firstError();
  EXPECT_EQ(o.bucket_min, 10);
  EXPECT_EQ(o.bucket_max, 19);
  EXPECT_EQ(o.page_size, 5000u);  // 0/omitted = automatic
  EXPECT_EQ(o.count_poll_s, 30);

  ConfigDiagnostics bad;
  parse("source.mysql", "{bucket_min: 10, bucket_max: 9, page_size: -1, colour: red}", bad);
  EXPECT_FALSE(bad.ok());
  std::string all;
  for (const auto& m : bad.messages()) all += m.path + ": " + m.text + "\n";
  EXPECT_NE(all.find("pipeline.x.bucket_max"), std::string::npos) << all;
  EXPECT_NE(all.find("pipeline.x.page_size"), std::string::npos) << all;
  EXPECT_NE(all.find("pipeline.x.colour"), std::string::npos) << all;
}

TEST(StoreStagesConfig, SinkOptionsParseAndRejectUnknownModes) {
  ConfigDiagnostics ok;
  auto h = std::any_cast<stages::MysqlHistoryOptions>(parse("sink.mysql_history", "{default_mode: status_change}", ok));
  EXPECT_TRUE(ok.ok()) << ok.firstError();
  EXPECT_EQ(h.default_mode, stages::HistoryKeep::kStatusChange);
  EXPECT_EQ(h.batch_rows, 1000);
  auto p = std::any_cast<stages::MysqlProjectionOptions>(parse("sink.mysql_projection", "{}", ok));
  EXPECT_EQ(p.interval_min, 15);

  ConfigDiagnostics bad;
  parse("sink.mysql_history", "{default_mode: sometimes}", bad);
  EXPECT_EQ(bad.firstError().rfind("pipeline.x.default_mode", 0), 0u) << bad.firstError();
  ConfigDiagnostics bad2;
  parse("sink.mysql_projection", "{interval_min: 30}", bad2);
  EXPECT_EQ(bad2.firstError().rfind("pipeline.x.interval_min", 0), 0u) << bad2.firstError();
}

}  // namespace
}  // namespace tidewatch
