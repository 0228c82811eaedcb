#include "pipeline/due_wheel.h"

#include <algorithm>
#include <bit>

namespace tidewatch {

namespace {
// Enough for 255-minute sites plus retries; grows on demand for longer intervals.
constexpr std::uint32_t kInitialRing = 16384;
}  // namespace

std::uint32_t DueWheel::cadenceFor(std::uint32_t interval_s) {
  std::uint32_t headroom = std::clamp<std::uint32_t>(interval_s / 20, 1, 15);
  return interval_s > headroom ? std::max<std::uint32_t>(interval_s - headroom, 1) : 1;
}

std::uint32_t DueWheel::phaseFor(std::uint64_t target_id, std::uint32_t cadence_s) {
  if (cadence_s <= 1) return 0;
  std::uint64_t h = target_id * 11400714819323198485ull;
  return static_cast<std::uint32_t>(h % cadence_s);
}

std::int64_t DueWheel::nextAligned(std::int64_t from_s, std::uint32_t cadence_s, std::uint32_t phase) {
  if (cadence_s <= 1) return from_s;
  std::int64_t c = cadence_s;
  std::int64_t rem = ((from_s - phase) % c + c) % c;
  return rem == 0 ? from_s : from_s + (c - rem);
}

DueWheel::DueWheel(std::int64_t now_s) : base_s_(now_s) {
  buckets_.resize(kInitialRing);
  mask_ = kInitialRing - 1;
}

void DueWheel::resize(std::uint32_t slots) {
  if (slots > state_.size()) {
    state_.resize(slots);
    seen_.resize(slots, 0);
  }
}

void DueWheel::markJoined(std::uint32_t slot, std::int64_t now_s) {
  if (slot >= state_.size()) resize(slot + 1);
  state_[slot].flags &= ~kChecked;
  seen_[slot] = static_cast<std::int32_t>(now_s - base_s_);
}

std::int64_t DueWheel::dueOf(std::uint32_t slot) const {
  const auto& s = state_[slot];
  return s.due == kNever ? -1 : base_s_ + s.due;
}

void DueWheel::schedule(std::uint32_t slot, std::int64_t due_s) {
  if (slot >= state_.size()) resize(slot + 1);
  std::int64_t rel = due_s - base_s_;
  if (rel < static_cast<std::int64_t>(cursor_)) rel = cursor_;  // late: pop on the next tick
  std::uint64_t span = static_cast<std::uint64_t>(rel) - cursor_;
  if (span >= buckets_.size()) growRing(static_cast<std::uint32_t>(span + 1));
  SlotState& s = state_[slot];
  s.due = static_cast<std::uint32_t>(rel);
  s.flags |= kActive;
  buckets_[s.due & mask_].push_back(slot);
}

void DueWheel::deactivate(std::uint32_t slot) {
  if (slot >= state_.size()) return;
  SlotState& s = state_[slot];
  s.due = kNever;
  s.flags = 0;
  s.failures = 0;
}

void DueWheel::markInFlight(std::uint32_t slot) {
  SlotState& s = state_[slot];
  s.flags = static_cast<std::uint8_t>((s.flags & ~kQueued) | kInFlight);
}

void DueWheel::clearQueued(std::uint32_t slot) { state_[slot].flags &= ~kQueued; }

void DueWheel::markDone(std::uint32_t slot, std::int64_t now_s) {
  SlotState& s = state_[slot];
  s.flags = static_cast<std::uint8_t>((s.flags & ~(kInFlight | kQueued)) | kChecked);
  s.due = kNever;
  seen_[slot] = static_cast<std::int32_t>(now_s - base_s_);
}

void DueWheel::growRing(std::uint32_t needed_span) {
  std::uint32_t size = std::bit_ceil(std::max<std::uint32_t>(needed_span, kInitialRing) * 2);
  std::vector<std::vector<std::uint32_t>> ring(size);
  std::uint32_t mask = size - 1;
  // Re-file only live entries; stale ones are dropped on the way.
  for (auto& bucket : buckets_) {
    for (std::uint32_t slot : bucket) {
      const SlotState& s = state_[slot];
      if (s.due != kNever && (s.due & mask_) == static_cast<std::uint32_t>(&bucket - buckets_.data()))
        ring[s.due & mask].push_back(slot);
    }
  }
  buckets_.swap(ring);
  mask_ = mask;
}

std::size_t DueWheel::memoryBytes() const {
  std::size_t bytes = state_.capacity() * sizeof(SlotState) + seen_.capacity() * sizeof(std::int32_t) +
                      buckets_.capacity() * sizeof(buckets_[0]);
  for (const auto& b : buckets_) bytes += b.capacity() * sizeof(std::uint32_t);
  return bytes;
}

}  // namespace tidewatch
