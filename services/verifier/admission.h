// Admission into the verifier's probe slots (docs/verifier.md): at most max_concurrency items
// are checked at once, queue_capacity more wait in arrival order, and items beyond that are
// shed (answered agent_overloaded) — never dropped silently.
//
// Thread-safe: one mutex. The caller's callbacks run under it (to set its items' states
// atomically with the decision) and may take the caller's own lock, always in the order
// admission → caller; they must not call back into Admission. waitIdle() blocks its caller
// (never an I/O thread).
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <vector>

namespace tidewatch::services {

class Admission {
 public:
  enum class Decision : std::uint8_t { kRun, kQueue, kShed };
  // One item of one request. The queue shares ownership of the request: a request whose
  // items all wait stays alive until they run or it is answered.
  struct Ticket {
    std::shared_ptr<void> owner;
    std::size_t index = 0;
  };

  Admission(int max_concurrency, int queue_capacity);

  // Decides for items 0..count-1 of `owner` at once; `mark` sees the decisions under the lock.
  std::vector<Decision> admit(const std::shared_ptr<void>& owner, std::size_t count,
                              const std::function<void(const std::vector<Decision>&)>& mark);
  // A running item finished: frees its slot and hands it to the first queued ticket that
  // `claim` accepts (claim returns false for an item whose request was already answered).
  // Returns that ticket, which now holds the slot; the caller starts it.
  std::optional<Ticket> release(const std::function<bool(const Ticket&)>& claim);
  // The request was answered: its queued tickets leave the queue.
  void cancel(const void* owner);
  // Shutdown: from now on nothing is admitted or handed a slot, so no item starts on a probe
  // that is about to go away. Queued tickets stay until their request is answered (its
  // deadline answers them as agent_overloaded).
  void close();

  bool waitIdle(std::chrono::milliseconds timeout) const;
  std::int64_t active() const;
  std::int64_t queued() const;

 private:
  void notifyIfIdle();

  const int max_concurrency_;
  const int queue_capacity_;
  mutable std::mutex mu_;
  mutable std::condition_variable idle_cv_;
  std::int64_t active_ = 0;
  bool closed_ = false;
  std::deque<Ticket> queue_;
};

}  // namespace tidewatch::services
