// DueWheel: when each target is next due, in per-second buckets.
//
// Phase = hash(target id) mod cadence spreads a fleet evenly over its cadence; cadence =
// interval − clamp(interval/20, 1 s, 15 s), so a 5-minute site is checked every 285 s and
// stays inside a 5-minute freshness window despite latency and result processing.
//
// Work per tick is O(due): a bucket holds slot numbers; popping a second walks only its
// bucket. An entry is skipped when its target is inactive, already queued or in flight, or
// its due time moved (rescheduling never searches for the old entry, it just leaves it stale).
//
// Single-threaded: owned and called only by the dispatcher's timer chain.
#pragma once

#include <cstdint>
#include <vector>

namespace tidewatch {

class DueWheel {
 public:
  static constexpr std::uint32_t kNever = UINT32_MAX;

  // interval − clamp(interval / 20, 1, 15), at least 1 second.
  static std::uint32_t cadenceFor(std::uint32_t interval_s);
  // (id × 2^64/φ) mod cadence: Fibonacci hashing spreads sequential ids evenly.
  static std::uint32_t phaseFor(std::uint64_t target_id, std::uint32_t cadence_s);
  // The first second t ≥ from_s with t mod cadence == phase.
  static std::int64_t nextAligned(std::int64_t from_s, std::uint32_t cadence_s, std::uint32_t phase);

  explicit DueWheel(std::int64_t now_s);

  // Slot bookkeeping (slots are TargetTable indices).
  void resize(std::uint32_t slots);
  std::uint32_t slotCount() const { return static_cast<std::uint32_t>(state_.size()); }

  // Sets the slot's due time (a past time means "next tick") and marks it active.
  void schedule(std::uint32_t slot, std::int64_t due_s);
  // Forgets the slot's schedule (entries still in buckets become stale).
  void deactivate(std::uint32_t slot);

  // Pops every bucket up to and including now_s in time order; calls fn(slot, due_s) for each
  // live entry and marks it queued. Returns how many were popped.
  template <class Fn>
  std::size_t popDue(std::int64_t now_s, Fn&& fn);

  // Calls fn(slot) for every live entry due exactly at `second` (not yet popped), without
  // changing anything: a look ahead (prefetch). Seconds already popped visit nothing.
  template <class Fn>
  void forEachDueAt(std::int64_t second, Fn&& fn) const;

  // Queued -> in flight (dispatch), in flight -> idle (result routed at `now_s`; schedule()
  // again).
  void markInFlight(std::uint32_t slot);
  void clearQueued(std::uint32_t slot);   // queued but dropped before dispatch
  void markDone(std::uint32_t slot, std::int64_t now_s);

  // Freshness: a target's age is the time since its last completed check, or since it joined
  // the fleet (markJoined) if it has none yet.
  void markJoined(std::uint32_t slot, std::int64_t now_s);
  std::int64_t ageOf(std::uint32_t slot, std::int64_t now_s) const { return now_s - (base_s_ + seen_[slot]); }
  bool everChecked(std::uint32_t slot) const { return state_[slot].flags & kChecked; }

  bool isActive(std::uint32_t slot) const { return state_[slot].flags & kActive; }
  bool isInFlight(std::uint32_t slot) const { return state_[slot].flags & kInFlight; }
  bool isQueued(std::uint32_t slot) const { return state_[slot].flags & kQueued; }
  std::int64_t dueOf(std::uint32_t slot) const;

  // Consecutive failures, kept beside the schedule (drives the retry cadence).
  std::uint8_t failures(std::uint32_t slot) const { return state_[slot].failures; }
  void setFailures(std::uint32_t slot, std::uint8_t n) { state_[slot].failures = n; }

  std::int64_t cursor() const { return base_s_ + cursor_; }
  std::size_t bucketCount() const { return buckets_.size(); }
  // Bytes of schedule state (slot states + bucket storage), for the memory budget.
  std::size_t memoryBytes() const;

 private:
  static constexpr std::uint8_t kActive = 1, kQueued = 2, kInFlight = 4, kChecked = 8;
  struct SlotState {
    std::uint32_t due = kNever;  // seconds since base_s_
    std::uint8_t flags = 0;
    std::uint8_t failures = 0;
    std::uint16_t reserved = 0;
  };
  static_assert(sizeof(SlotState) == 8);

  void growRing(std::uint32_t needed_span);

  std::int64_t base_s_;
  std::uint32_t cursor_ = 0;  // next second (since base) to pop
  std::vector<SlotState> state_;
  std::vector<std::int32_t> seen_;  // seconds since base_s_ (negative: joined before the base)
  std::vector<std::vector<std::uint32_t>> buckets_;  // ring, power-of-two size
  std::uint32_t mask_ = 0;
};

template <class Fn>
std::size_t DueWheel::popDue(std::int64_t now_s, Fn&& fn) {
  std::size_t popped = 0;
  if (now_s < base_s_) return 0;
  const std::uint32_t until = static_cast<std::uint32_t>(now_s - base_s_);
  while (cursor_ <= until) {
    auto& bucket = buckets_[cursor_ & mask_];
    for (std::uint32_t slot : bucket) {
      SlotState& s = state_[slot];
      if (s.due != cursor_ || (s.flags & (kActive | kQueued | kInFlight)) != kActive) continue;
      s.flags |= kQueued;
      ++popped;
      fn(slot, base_s_ + cursor_);
    }
    bucket.clear();  // keeps capacity: the same bucket fills again one cadence later
    ++cursor_;
  }
  return popped;
}

template <class Fn>
void DueWheel::forEachDueAt(std::int64_t second, Fn&& fn) const {
  if (second < base_s_ + cursor_) return;
  const auto rel = static_cast<std::uint64_t>(second - base_s_);
  if (rel - cursor_ >= buckets_.size()) return;  // beyond the ring: nothing is due there yet
  for (std::uint32_t slot : buckets_[rel & mask_]) {
    const SlotState& s = state_[slot];
    if (s.due == rel && (s.flags & (kActive | kQueued | kInFlight)) == kActive) fn(slot);
  }
}

}  // namespace tidewatch
