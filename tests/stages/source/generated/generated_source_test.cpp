#include "stages/source/generated/generated_source.h"

#include <gtest/gtest.h>

#include "pipeline/config.h"

namespace tidewatch::stages {
namespace {

TEST(GeneratedSource, FleetFollowsThePattern) {
  auto fleet = generateTargets("http://site-%07d.fleet.test/", 41, 3, 300, 1000);
  ASSERT_EQ(fleet.size(), 3u);
  EXPECT_EQ(fleet[0].url, "http://site-0000041.fleet.test/");
  EXPECT_EQ(fleet[2].url, "http://site-0000043.fleet.test/");
  EXPECT_EQ(fleet[1].bucket, 42);
  EXPECT_EQ(fleet[0].config, fleet[2].config);  // one shared default rule set
}

TEST(GeneratedSource, PatternNeedsExactlyOneIntegerConversion) {
  StageRegistry registry;
  registerGeneratedSource(registry);
  const StageFactory* f = registry.find("source.generated");
  ASSERT_NE(f, nullptr);
  for (const char* bad : {"http://site.test/", "http://site-%d-%d.test/", "http://site-%s.test/"}) {
    ConfigDiagnostics d;
    YAML::Node n(YAML::NodeType::Map);
    n["url"] = bad;
    ConfigMap m(n, "pipeline.source", d);
    f->parse(m);
    EXPECT_FALSE(d.ok()) << bad;
    EXPECT_NE(d.firstError().find("exactly one integer conversion"), std::string::npos)
        << d.firstError();
  }
  ConfigDiagnostics d;
  YAML::Node n(YAML::NodeType::Map);
  n["url"] = "http://site-%05u.test/%%";
  ConfigMap m(n, "pipeline.source", d);
  f->parse(m);
  EXPECT_TRUE(d.ok()) << d.firstError();
}

}  // namespace
}  // namespace tidewatch::stages
