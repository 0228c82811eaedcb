#include "pipeline/token_gate.h"

#include <algorithm>

namespace tidewatch {

TokenGate::TokenGate(std::int64_t hard_max, std::function<void(std::int64_t)> decrement,
                     std::function<void(std::int64_t)> enqueue_markers)
    : hard_max_(std::max<std::int64_t>(hard_max, 1)),
      decrement_(std::move(decrement)),
      enqueue_markers_(std::move(enqueue_markers)),
      target_(hard_max_) {}

void TokenGate::setTarget(std::int64_t target) {
  target = std::clamp<std::int64_t>(target, 1, hard_max_);
  std::int64_t release_now = 0;
  std::int64_t new_markers = 0;
  {
    std::lock_guard lock(mu_);
    std::int64_t delta = target - target_;
    target_ = target;
    if (delta < 0) {
      std::int64_t park = -delta;
      std::int64_t revived = std::min(park, cancelled_);  // queued markers keep their job after all
      cancelled_ -= revived;
      park -= revived;
      queued_ += park;
      new_markers = park;
    } else if (delta > 0) {
      std::int64_t give = delta;
      std::int64_t cancel = std::min(give, queued_ - cancelled_);
      cancelled_ += cancel;
      give -= cancel;
      std::int64_t from_parked = std::min(give, parked_);
      parked_ -= from_parked;
      release_now = from_parked;
    }
  }
  // Outside the lock: an admitted marker calls onMarkerAdmitted(). The accounting above is
  // already done, so a concurrent setTarget sees these markers as queued.
  if (new_markers > 0) enqueue_markers_(new_markers);
  if (release_now > 0) decrement_(release_now);
}

std::int64_t TokenGate::target() const {
  std::lock_guard lock(mu_);
  return target_;
}

void TokenGate::onMarkerAdmitted() {
  bool give_back = false;
  {
    std::lock_guard lock(mu_);
    --queued_;
    if (cancelled_ > 0) {
      --cancelled_;
      give_back = true;
    } else {
      ++parked_;
    }
  }
  if (give_back) decrement_(1);
}

std::int64_t TokenGate::parked() const {
  std::lock_guard lock(mu_);
  return parked_;
}

std::int64_t TokenGate::markersQueued() const {
  std::lock_guard lock(mu_);
  return queued_;
}

}  // namespace tidewatch
