#include "pipeline/due_wheel.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <vector>

namespace tidewatch {
namespace {

TEST(Wheel, CadenceLeavesHeadroomClampedBetweenOneAndFifteenSeconds) {
  EXPECT_EQ(DueWheel::cadenceFor(300), 285u);   // 5-minute sites run on a 285 s cadence
  EXPECT_EQ(DueWheel::cadenceFor(60), 57u);
  EXPECT_EQ(DueWheel::cadenceFor(20), 19u);     // headroom floors at 1 s
  EXPECT_EQ(DueWheel::cadenceFor(600), 585u);   // 30 s would be 5 %, capped at 15 s
  EXPECT_EQ(DueWheel::cadenceFor(3600), 3585u);
  EXPECT_EQ(DueWheel::cadenceFor(1), 1u);
}

TEST(Wheel, PhaseSpreadIsEvenAcrossA285sCadence) {
  constexpr std::uint32_t kCadence = 285;
  constexpr int kTargets = 100000;
  std::vector<int> per_second(kCadence, 0);
  for (std::uint64_t id = 1; id <= kTargets; ++id) ++per_second[DueWheel::phaseFor(id, kCadence)];
  double mean = static_cast<double>(kTargets) / kCadence;
  auto [lo, hi] = std::minmax_element(per_second.begin(), per_second.end());
  EXPECT_GE(*lo, mean * 0.95) << "emptiest second";
  EXPECT_LE(*hi, mean * 1.05) << "fullest second";
}

TEST(Wheel, FirstDueIsTheNextAlignedSecond) {
  EXPECT_EQ(DueWheel::nextAligned(1000, 285, 10), 1000 + ((10 - 1000 % 285) + 285) % 285);
  std::int64_t t = DueWheel::nextAligned(1'700'000'000, 285, 77);
  EXPECT_EQ(t % 285, 77);
  EXPECT_GE(t, 1'700'000'000);
  EXPECT_LT(t, 1'700'000'000 + 285);
  EXPECT_EQ(DueWheel::nextAligned(t, 285, 77), t);  // already aligned stays
}

TEST(Wheel, PopsOnlyWhatIsDueInTimeOrder) {
  DueWheel w(1000);
  w.resize(4);
  w.schedule(0, 1005);
  w.schedule(1, 1002);
  w.schedule(2, 1010);
  std::vector<std::pair<std::uint32_t, std::int64_t>> got;
  w.popDue(1005, [&](std::uint32_t s, std::int64_t due) { got.emplace_back(s, due); });
  ASSERT_EQ(got.size(), 2u);
  EXPECT_EQ(got[0], std::make_pair(1u, std::int64_t{1002}));
  EXPECT_EQ(got[1], std::make_pair(0u, std::int64_t{1005}));
  EXPECT_TRUE(w.isQueued(0));
  got.clear();
  w.popDue(1009, [&](std::uint32_t s, std::int64_t due) { got.emplace_back(s, due); });
  EXPECT_TRUE(got.empty());
}

TEST(Wheel, MovedEntriesAreSkipped) {
  DueWheel w(1000);
  w.resize(1);
  w.schedule(0, 1003);
  w.schedule(0, 1007);  // moved: the 1003 entry is now stale
  int pops = 0;
  w.popDue(1005, [&](std::uint32_t, std::int64_t) { ++pops; });
  EXPECT_EQ(pops, 0);
  w.popDue(1007, [&](std::uint32_t, std::int64_t due) { ++pops; EXPECT_EQ(due, 1007); });
  EXPECT_EQ(pops, 1);
}

TEST(Wheel, DuplicateQueuedAndInFlightEntriesAreSkipped) {
  DueWheel w(1000);
  w.resize(2);
  w.schedule(0, 1002);
  w.schedule(0, 1002);  // duplicate entry in the same bucket
  int pops = 0;
  w.popDue(1002, [&](std::uint32_t, std::int64_t) { ++pops; });
  EXPECT_EQ(pops, 1);

  // A queued or in-flight target is not popped again even if rescheduled meanwhile.
  w.schedule(1, 1004);
  w.popDue(1004, [&](std::uint32_t, std::int64_t) {});
  w.markInFlight(1);
  w.schedule(1, 1006);  // e.g. a config change while in flight
  pops = 0;
  w.popDue(1006, [&](std::uint32_t, std::int64_t) { ++pops; });
  EXPECT_EQ(pops, 0);
  w.markDone(1, 1007);
  w.schedule(1, 1008);
  w.popDue(1008, [&](std::uint32_t, std::int64_t) { ++pops; });
  EXPECT_EQ(pops, 1);
}

TEST(Wheel, DeactivatedTargetsAreNotPopped) {
  DueWheel w(1000);
  w.resize(1);
  w.schedule(0, 1001);
  w.deactivate(0);
  int pops = 0;
  w.popDue(1001, [&](std::uint32_t, std::int64_t) { ++pops; });
  EXPECT_EQ(pops, 0);
}

TEST(Wheel, LateScheduleLandsOnTheNextTick) {
  DueWheel w(1000);
  w.resize(1);
  w.popDue(1010, [](std::uint32_t, std::int64_t) {});
  w.schedule(0, 990);  // in the past
  int pops = 0;
  w.popDue(1011, [&](std::uint32_t, std::int64_t) { ++pops; });
  EXPECT_EQ(pops, 1);
}

TEST(Wheel, FarFutureDueGrowsTheRingAndKeepsEntries) {
  DueWheel w(0);
  w.resize(3);
  w.schedule(0, 5);
  w.schedule(1, 100000);  // beyond the initial ring: forces growth
  w.schedule(2, 20);
  std::map<std::uint32_t, std::int64_t> got;
  w.popDue(100000, [&](std::uint32_t s, std::int64_t due) { got[s] = due; });
  EXPECT_EQ(got.size(), 3u);
  EXPECT_EQ(got[1], 100000);
  EXPECT_EQ(got[2], 20);
}

TEST(Wheel, PopWorkIsProportionalToDueEntries) {
  // 200 000 targets on a 285 s cadence; a one-second pop touches only that second's bucket.
  DueWheel w(0);
  constexpr std::uint32_t kN = 200000;
  w.resize(kN);
  for (std::uint32_t s = 0; s < kN; ++s) w.schedule(s, DueWheel::phaseFor(s + 1, 285));
  std::size_t total = 0, max_per_second = 0;
  for (std::int64_t t = 0; t < 285; ++t) {
    std::size_t n = w.popDue(t, [](std::uint32_t, std::int64_t) {});
    total += n;
    max_per_second = std::max(max_per_second, n);
  }
  EXPECT_EQ(total, kN);
  EXPECT_LE(max_per_second, static_cast<std::size_t>(kN / 285.0 * 1.05));
}

}  // namespace
}  // namespace tidewatch
