// stages/register_all: the exact set of built-in stages, by kind. A stage added, renamed or
// dropped changes what every config may name, so it changes this list on purpose.
#include "stages/register_all.h"

#include <gtest/gtest.h>

#include <map>

namespace tidewatch {
namespace {

TEST(RegisterAll, RegistersExactlyTheBuiltinStages) {
  const std::map<StageKind, std::vector<std::string>> expected = {
      {StageKind::kSource, {"source.file", "source.generated", "source.mysql"}},
      {StageKind::kProbe, {"probe.simulated", "probe.http"}},
      {StageKind::kClassify, {"classify.jetmon"}},
      {StageKind::kSink,
       {"sink.null", "sink.mysql_projection", "sink.mysql_history", "sink.log", "sink.incidents"}},
      {StageKind::kNotify, {"notify.log", "notify.wpcom"}},
  };
  const StageRegistry& r = builtinStages();
  std::size_t total = 0;
  for (const auto& [kind, names] : expected) {
    EXPECT_EQ(r.names(kind), names) << toString(kind);
    total += names.size();
  }
  EXPECT_EQ(r.all().size(), total);
}

TEST(RegisterAll, EveryStageLivesInTheFolderOfItsName) {
  // probe.http lives in stages/probe/http/: a reader finds a stage by its registered name.
  for (const StageFactory& f : builtinStages().all()) {
    auto dot = f.name.find('.');
    ASSERT_NE(dot, std::string::npos) << f.name;
    EXPECT_EQ(f.name.substr(0, dot), toString(f.kind)) << f.name;
    EXPECT_FALSE(f.description.empty()) << f.name;
  }
}

TEST(RegisterAll, ABuiltinListCanBeExtendedByATestRegistry) {
  StageRegistry r;
  registerAllStages(r);
  r.add({StageKind::kSink, "sink.test_only", "a test's own sink",
         [](ConfigMap&) { return std::any(); },
         [](const std::any&, StageContext&) -> std::unique_ptr<Stage> { return nullptr; }});
  EXPECT_EQ(r.all().size(), builtinStages().all().size() + 1);
  EXPECT_EQ(builtinStages().find("sink.test_only"), nullptr);
}

}  // namespace
}  // namespace tidewatch
