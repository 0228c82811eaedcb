// FreshnessSampler: the age of every target's last completed check, measured over the whole
// fleet in slices (a full pass every ~10 s), so that the dispatcher tick that runs it pays a
// few hundred microseconds per tick even at four million targets.
//
// Age = now − the last completion (or the moment the target joined, if it was never checked).
// A target is stale when its age exceeds its interval: on a 285 s cadence a five-minute site
// is stale only when it is at least 15 s late.
//
// Single-threaded: owned and called by the dispatcher's timer chain, like the wheel.
#pragma once

#include <cstdint>
#include <optional>
#include <vector>

#include "core/metrics.h"
#include "pipeline/due_wheel.h"
#include "pipeline/target_table.h"

namespace tidewatch {

struct FreshnessPass {
  SampledDistribution age;         // seconds
  std::int64_t targets = 0;        // active targets measured
  std::int64_t stale = 0;          // age > interval
  std::int64_t never_checked = 0;  // joined and not checked yet
};

class FreshnessSampler {
 public:
  // Ages are counted per second up to this bound; older ones share one bucket (max is exact).
  static constexpr std::int64_t kMaxTrackedAge = 7200;

  // Measures the next slice of slots; returns the pass when it completes. `slice` slots per
  // call: slotCount × tick / pass period.
  std::optional<FreshnessPass> step(const DueWheel& wheel, const TargetTable& table, std::int64_t now_s,
                                    std::int64_t now_ms, std::uint32_t slice);

 private:
  std::uint32_t next_ = 0;
  std::vector<std::uint32_t> counts_ = std::vector<std::uint32_t>(kMaxTrackedAge + 1, 0);
  FreshnessPass building_;
  std::int64_t max_ = 0;
  double sum_ = 0;
};

}  // namespace tidewatch
