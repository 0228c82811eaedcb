#include "pipeline/freshness.h"

#include <algorithm>

namespace tidewatch {

std::optional<FreshnessPass> FreshnessSampler::step(const DueWheel& wheel, const TargetTable& table,
                                                    std::int64_t now_s, std::int64_t now_ms, std::uint32_t slice) {
  const std::uint32_t slots = std::min(wheel.slotCount(), table.slotCapacity());
  const std::uint32_t end = static_cast<std::uint32_t>(std::min<std::uint64_t>(slots, std::uint64_t{next_} + slice));
  for (std::uint32_t slot = next_; slot < end; ++slot) {
    if (!table.live(slot) || !wheel.isActive(slot)) continue;
    const std::int64_t age = std::max<std::int64_t>(0, wheel.ageOf(slot, now_s));
    ++counts_[static_cast<std::size_t>(std::min(age, kMaxTrackedAge))];
    ++building_.targets;
    sum_ += static_cast<double>(age);
    max_ = std::max(max_, age);
    if (!wheel.everChecked(slot)) ++building_.never_checked;
    if (age > static_cast<std::int64_t>(table.at(slot)->interval_s)) ++building_.stale;
  }
  next_ = end;
  if (next_ < slots) return std::nullopt;

  // A whole pass: turn the per-second counts into quantiles.
  FreshnessPass pass = building_;
  pass.age.at_ms = now_ms;
  pass.age.count = static_cast<std::uint64_t>(building_.targets);
  pass.age.sum = sum_;
  pass.age.max = static_cast<double>(max_);
  const auto rank = [&](double q) {
    return static_cast<std::uint64_t>(q * static_cast<double>(building_.targets));
  };
  const std::uint64_t r50 = rank(0.5), r90 = rank(0.9), r99 = rank(0.99);
  std::uint64_t seen = 0;
  bool got50 = false, got90 = false, got99 = false;
  for (std::size_t age = 0; age < counts_.size(); ++age) {
    seen += counts_[age];
    const auto a = static_cast<double>(age);
    if (!got50 && seen > r50) pass.age.p50 = a, got50 = true;
    if (!got90 && seen > r90) pass.age.p90 = a, got90 = true;
    if (!got99 && seen > r99) pass.age.p99 = a, got99 = true;
  }
  std::fill(counts_.begin(), counts_.end(), 0);
  building_ = {};
  max_ = 0;
  sum_ = 0;
  next_ = 0;
  return pass;
}

}  // namespace tidewatch
