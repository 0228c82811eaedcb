// TokenGate: the movable in-flight limit on top of the graph's limiter_node.
//
// The limiter is built once with the hard maximum. Lowering the limit parks tokens: park
// markers (special checks) are put at the head of the due queue, and each one the limiter
// admits holds a token until the limit is raised again, when a positive delta on the
// limiter's integral decrementer port gives it back. A marker is admitted exactly like a
// check, so the limiter's own count stays exact — it is never asked to go below zero or
// above the hard maximum — and in-flight checks + parked tokens never exceed the maximum.
// Raising first cancels markers that are still queued (they give their token back on
// arrival), then releases parked ones.
//
// Thread-safe. release() is the hot path (one decrement per routed check, no lock).
#pragma once

#include <cstdint>
#include <functional>
#include <mutex>

namespace tidewatch {

class TokenGate {
 public:
  // `decrement(n)` sends n (> 0) to the limiter's decrementer port; `enqueueMarkers(n)`
  // puts n park markers at the head of the due queue.
  TokenGate(std::int64_t hard_max, std::function<void(std::int64_t)> decrement,
            std::function<void(std::int64_t)> enqueue_markers);

  // Sets the effective limit (clamped to [1, hard_max]).
  void setTarget(std::int64_t target);
  std::int64_t target() const;
  std::int64_t hardMax() const { return hard_max_; }

  // A check has been routed: its token goes back.
  void release() { decrement_(1); }
  // A park marker reached the probe node (called from the node body).
  void onMarkerAdmitted();

  std::int64_t parked() const;         // markers holding a token
  std::int64_t markersQueued() const;  // markers not yet admitted

 private:
  const std::int64_t hard_max_;
  std::function<void(std::int64_t)> decrement_;
  std::function<void(std::int64_t)> enqueue_markers_;
  mutable std::mutex mu_;
  std::int64_t target_;
  std::int64_t parked_ = 0;
  std::int64_t queued_ = 0;     // markers in the due queue
  std::int64_t cancelled_ = 0;  // of those, how many give their token back on arrival
};

}  // namespace tidewatch
