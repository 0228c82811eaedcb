// TargetTable: the fleet in memory, indexed by slot (dense, reused) and by target id.
//
// merge() applies a full snapshot from a source: unchanged targets keep their Target object
// (an unchanged fleet allocates nothing new), changed ones get a new immutable Target,
// missing ones are removed. Slots of removed targets that still have a check in flight are
// freed only when that check's result comes back, so a late result never lands on a new
// target that reused the slot.
//
// Single-threaded: owned by the dispatcher's timer chain, like the DueWheel.
#pragma once

#include <cstdint>
#include <unordered_map>
#include <vector>

#include "core/target.h"

namespace tidewatch {

class TargetTable {
 public:
  struct MergeDelta {
    std::vector<std::uint32_t> added;    // new slots
    std::vector<std::uint32_t> changed;  // same slot, new Target (schedule may change)
    std::vector<std::uint32_t> removed;  // slots whose target left the fleet
    std::size_t unchanged = 0;
  };

  // `in_flight(slot)` tells whether a removed slot must stay reserved until its result.
  template <class InFlight>
  MergeDelta merge(std::vector<Target>&& fleet, InFlight&& in_flight);

  const TargetPtr& at(std::uint32_t slot) const { return slots_[slot]; }
  bool live(std::uint32_t slot) const { return slot < slots_.size() && slots_[slot] != nullptr && !retired_[slot]; }
  std::uint32_t slotCapacity() const { return static_cast<std::uint32_t>(slots_.size()); }
  std::size_t size() const { return by_id_.size(); }
  // Frees a retired slot once its in-flight check has been routed.
  void releaseRetired(std::uint32_t slot);
  bool retired(std::uint32_t slot) const { return retired_[slot]; }

  // Σ 1/cadence over live targets: checks per second the fleet needs.
  double requiredRate() const { return required_rate_; }

 private:
  std::uint32_t allocateSlot();
  void freeSlot(std::uint32_t slot);

  std::vector<TargetPtr> slots_;
  std::vector<bool> retired_;       // removed from the fleet, result still in flight
  std::vector<std::uint32_t> seen_;  // generation of the last merge that saw the slot
  std::vector<std::uint32_t> free_;
  std::unordered_map<std::uint64_t, std::uint32_t> by_id_;
  std::uint32_t generation_ = 0;
  double required_rate_ = 0;
};

double cadenceRate(std::uint32_t interval_s);  // 1 / DueWheel::cadenceFor(interval)

template <class InFlight>
TargetTable::MergeDelta TargetTable::merge(std::vector<Target>&& fleet, InFlight&& in_flight) {
  MergeDelta delta;
  ++generation_;
  if (by_id_.bucket_count() < fleet.size()) by_id_.reserve(fleet.size());
  for (Target& t : fleet) {
    if (!t.config) t.config = defaultSiteConfig();
    auto it = by_id_.find(t.id);
    if (it != by_id_.end()) {
      std::uint32_t slot = it->second;
      if (seen_[slot] == generation_) continue;  // duplicate id in one snapshot: first wins
      seen_[slot] = generation_;
      if (slots_[slot]->sameCheckAs(t)) {
        ++delta.unchanged;
        continue;
      }
      required_rate_ += cadenceRate(t.interval_s) - cadenceRate(slots_[slot]->interval_s);
      slots_[slot] = std::make_shared<const Target>(std::move(t));
      delta.changed.push_back(slot);
      continue;
    }
    std::uint32_t slot = allocateSlot();
    seen_[slot] = generation_;
    required_rate_ += cadenceRate(t.interval_s);
    by_id_.emplace(t.id, slot);
    slots_[slot] = std::make_shared<const Target>(std::move(t));
    delta.added.push_back(slot);
  }
  for (std::uint32_t slot = 0; slot < slots_.size(); ++slot) {
    if (slots_[slot] == nullptr || retired_[slot] || seen_[slot] == generation_) continue;
    delta.removed.push_back(slot);
    required_rate_ -= cadenceRate(slots_[slot]->interval_s);
    by_id_.erase(slots_[slot]->id);
    if (in_flight(slot)) retired_[slot] = true;
    else freeSlot(slot);
  }
  if (by_id_.empty()) required_rate_ = 0;  // no drift from float sums
  return delta;
}

}  // namespace tidewatch
