#include "pipeline/target_table.h"

#include <gtest/gtest.h>

namespace tidewatch {
namespace {

Target make(std::uint64_t id, std::string url, std::uint32_t interval = 300) {
  Target t;
  t.id = id;
  t.blog_id = id * 10;
  t.url = std::move(url);
  t.interval_s = interval;
  return t;
}

TEST(TargetTable, MergeAddsChangesAndRemoves) {
  TargetTable table;
  auto none_in_flight = [](std::uint32_t) { return false; };
  auto d1 = table.merge({make(1, "http://a/"), make(2, "http://b/")}, none_in_flight);
  EXPECT_EQ(d1.added.size(), 2u);
  EXPECT_EQ(table.size(), 2u);
  EXPECT_NEAR(table.requiredRate(), 2.0 / 285.0, 1e-9);

  auto d2 = table.merge({make(1, "http://a/"), make(2, "http://b2/"), make(3, "http://c/", 60)}, none_in_flight);
  EXPECT_EQ(d2.unchanged, 1u);
  EXPECT_EQ(d2.changed.size(), 1u);
  EXPECT_EQ(d2.added.size(), 1u);
  EXPECT_EQ(table.at(d2.changed[0])->url, "http://b2/");

  auto d3 = table.merge({make(3, "http://c/", 60)}, none_in_flight);
  EXPECT_EQ(d3.removed.size(), 2u);
  EXPECT_EQ(table.size(), 1u);
  EXPECT_NEAR(table.requiredRate(), 1.0 / 57.0, 1e-9);
}

TEST(TargetTable, UnchangedFleetKeepsTheSameTargetObjects) {
  TargetTable table;
  auto none = [](std::uint32_t) { return false; };
  std::vector<Target> fleet;
  for (std::uint64_t i = 1; i <= 1000; ++i) fleet.push_back(make(i, "http://site/" + std::to_string(i)));
  auto first = table.merge(std::vector<Target>(fleet), none);
  std::vector<const Target*> before;
  for (auto slot : first.added) before.push_back(table.at(slot).get());
  auto again = table.merge(std::vector<Target>(fleet), none);
  EXPECT_EQ(again.unchanged, 1000u);
  EXPECT_TRUE(again.added.empty() && again.changed.empty() && again.removed.empty());
  for (std::size_t i = 0; i < first.added.size(); ++i) EXPECT_EQ(table.at(first.added[i]).get(), before[i]);
}

TEST(TargetTable, RemovedSlotInFlightIsRetiredUntilItsResult) {
  TargetTable table;
  auto d1 = table.merge({make(1, "http://a/")}, [](std::uint32_t) { return false; });
  std::uint32_t slot = d1.added[0];
  table.merge({}, [](std::uint32_t) { return true; });  // in flight when removed
  EXPECT_TRUE(table.retired(slot));
  EXPECT_FALSE(table.live(slot));
  // A new target must not reuse the slot while the old check is out.
  auto d2 = table.merge({make(2, "http://b/")}, [](std::uint32_t) { return false; });
  EXPECT_NE(d2.added[0], slot);
  table.releaseRetired(slot);
  auto d3 = table.merge({make(2, "http://b/"), make(3, "http://c/")}, [](std::uint32_t) { return false; });
  EXPECT_EQ(d3.added[0], slot);  // now reusable
}

TEST(TargetTable, DuplicateIdsInOneSnapshotKeepTheFirst) {
  TargetTable table;
  auto d = table.merge({make(7, "http://first/"), make(7, "http://second/")}, [](std::uint32_t) { return false; });
  EXPECT_EQ(table.size(), 1u);
  EXPECT_EQ(table.at(d.added[0])->url, "http://first/");
}

}  // namespace
}  // namespace tidewatch
