#include "pipeline/target_table.h"

#include "pipeline/due_wheel.h"

namespace tidewatch {

double cadenceRate(std::uint32_t interval_s) { return 1.0 / DueWheel::cadenceFor(interval_s); }

std::uint32_t TargetTable::allocateSlot() {
  if (!free_.empty()) {
    std::uint32_t slot = free_.back();
    free_.pop_back();
    return slot;
  }
  slots_.emplace_back();
  retired_.push_back(false);
  seen_.push_back(0);
  return static_cast<std::uint32_t>(slots_.size() - 1);
}

void TargetTable::freeSlot(std::uint32_t slot) {
  slots_[slot].reset();
  retired_[slot] = false;
  free_.push_back(slot);
}

void TargetTable::releaseRetired(std::uint32_t slot) {
  if (slot < slots_.size() && retired_[slot]) freeSlot(slot);
}

}  // namespace tidewatch
