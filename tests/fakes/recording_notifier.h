// A Notifier (pipeline/stage.h) that records every status change and, like notify.wpcom,
// reports delivery (or, with `deliver` false, failure) through the change's on_delivered —
// here at once, on the caller's thread.
#pragma once

#include <atomic>
#include <mutex>
#include <vector>

#include "pipeline/stage.h"

namespace tidewatch::fakes {

class RecordingNotifier final : public Notifier {
 public:
  std::atomic<bool> deliver{true};

  void notify(const StatusChange& change) override {
    {
      std::lock_guard lock(mu_);
      changes_.push_back(change);
    }
    if (change.on_delivered) change.on_delivered(deliver.load());
  }
  std::vector<StatusChange> all() const {
    std::lock_guard lock(mu_);
    return changes_;
  }
  // How many changes with this status_id (2 down, 1 running).
  int count(int status_id) const {
    std::lock_guard lock(mu_);
    int n = 0;
    for (const auto& c : changes_) n += c.status_id == status_id;
    return n;
  }

 private:
  mutable std::mutex mu_;
  std::vector<StatusChange> changes_;
};

}  // namespace tidewatch::fakes
