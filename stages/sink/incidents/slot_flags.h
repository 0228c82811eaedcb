// Per-slot flags the incident sink reads on the hot path (wants() on TBB threads,
// allowFollowUp() on the dispatcher's thread) without locks. Slots are the TargetTable's
// stable indices; chunks of 64 Ki entries are allocated the first time a slot in them needs a
// flag, so a fleet of healthy sites costs nothing here. Written by the shard workers after
// each decision (relaxed stores: a result routed just before a store sees the old flags, and
// the engine treats such a result as it would any other).
#pragma once

#include <atomic>
#include <cstdint>

#include "stages/sink/incidents/site_state.h"

namespace tidewatch::stages {

class SlotFlags {
 public:
  static constexpr std::uint8_t kAttention = 1;   // the engine holds state: send every result
  static constexpr std::uint8_t kNoFollowUp = 2;  // confirmed down: normal cadence only

  SlotFlags() = default;
  SlotFlags(const SlotFlags&) = delete;
  SlotFlags& operator=(const SlotFlags&) = delete;
  ~SlotFlags() {
    for (auto& c : chunks_) delete[] c.load();
  }

  std::uint8_t flags(std::uint32_t slot) const {
    Entry* c = chunks_[slot >> kShift].load(std::memory_order_acquire);
    return c ? c[slot & kMask].flags.load(std::memory_order_relaxed) : 0;
  }
  std::int32_t sslDay(std::uint32_t slot) const {
    Entry* c = chunks_[slot >> kShift].load(std::memory_order_acquire);
    return c ? c[slot & kMask].ssl_day.load(std::memory_order_relaxed) : kUnknownDay;
  }
  void setFlags(std::uint32_t slot, std::uint8_t f) {
    if (f == 0 && !chunks_[slot >> kShift].load(std::memory_order_acquire)) return;
    entry(slot).flags.store(f, std::memory_order_relaxed);
  }
  void setSslDay(std::uint32_t slot, std::int32_t day) { entry(slot).ssl_day.store(day, std::memory_order_relaxed); }

 private:
  static constexpr unsigned kShift = 16;
  static constexpr std::uint32_t kMask = (1u << kShift) - 1;
  struct Entry {
    std::atomic<std::uint8_t> flags{0};
    std::atomic<std::int32_t> ssl_day{kUnknownDay};
  };
  Entry& entry(std::uint32_t slot) {
    auto& chunk = chunks_[slot >> kShift];
    Entry* c = chunk.load(std::memory_order_acquire);
    if (!c) {
      auto* fresh = new Entry[kMask + 1];
      if (chunk.compare_exchange_strong(c, fresh, std::memory_order_acq_rel)) {
        c = fresh;
      } else {
        delete[] fresh;
      }
    }
    return c[slot & kMask];
  }
  std::atomic<Entry*> chunks_[1u << (32 - kShift)] = {};
};

}  // namespace tidewatch::stages
