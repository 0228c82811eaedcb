#include "pipeline/token_gate.h"

#include <gtest/gtest.h>

#include <vector>

namespace tidewatch {
namespace {

// The gate's bookkeeping against a model limiter: count = in flight + parked, never above max.
struct ModelLimiter {
  std::int64_t max;
  std::int64_t count = 0;
  std::vector<int> queue;  // 1 = marker
};

TEST(TokenGate, LoweringParksAndRaisingCancelsQueuedMarkersFirst) {
  std::int64_t decremented = 0, markers = 0;
  TokenGate gate(100, [&](std::int64_t k) { decremented += k; }, [&](std::int64_t k) { markers += k; });
  EXPECT_EQ(gate.target(), 100);
  gate.setTarget(40);
  EXPECT_EQ(markers, 60);
  EXPECT_EQ(gate.markersQueued(), 60);
  // 10 markers get admitted and hold tokens.
  for (int i = 0; i < 10; ++i) gate.onMarkerAdmitted();
  EXPECT_EQ(gate.parked(), 10);
  EXPECT_EQ(gate.markersQueued(), 50);
  // Raise by 55: 50 queued markers are cancelled, 5 parked tokens come back now.
  gate.setTarget(95);
  EXPECT_EQ(decremented, 5);
  EXPECT_EQ(gate.parked(), 5);
  // A cancelled marker that arrives gives its token straight back.
  gate.onMarkerAdmitted();
  EXPECT_EQ(decremented, 6);
  EXPECT_EQ(gate.parked(), 5);
}

TEST(TokenGate, TargetIsClampedToTheHardMaximum) {
  TokenGate gate(10, [](std::int64_t) {}, [](std::int64_t) {});
  gate.setTarget(1000);
  EXPECT_EQ(gate.target(), 10);
  gate.setTarget(0);
  EXPECT_EQ(gate.target(), 1);
}

}  // namespace
}  // namespace tidewatch
