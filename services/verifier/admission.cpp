#include "services/verifier/admission.h"

#include <algorithm>

namespace tidewatch::services {

Admission::Admission(int max_concurrency, int queue_capacity)
    : max_concurrency_(max_concurrency), queue_capacity_(queue_capacity) {}

std::vector<Admission::Decision> Admission::admit(
    const std::shared_ptr<void>& owner, std::size_t count,
    const std::function<void(const std::vector<Decision>&)>& mark) {
  std::vector<Decision> out(count, Decision::kShed);
  std::lock_guard lock(mu_);
  for (std::size_t i = 0; i < count && !closed_; ++i) {
    if (active_ < max_concurrency_) {
      ++active_;
      out[i] = Decision::kRun;
    } else if (static_cast<std::int64_t>(queue_.size()) < queue_capacity_) {
      queue_.push_back({owner, i});
      out[i] = Decision::kQueue;
    }
  }
  mark(out);
  return out;
}

std::optional<Admission::Ticket> Admission::release(
    const std::function<bool(const Ticket&)>& claim) {
  std::lock_guard lock(mu_);
  --active_;
  std::optional<Ticket> next;
  while (!queue_.empty() && !closed_) {
    Ticket t = std::move(queue_.front());
    queue_.pop_front();
    if (claim(t)) {
      ++active_;
      next = std::move(t);
      break;
    }
  }
  notifyIfIdle();
  return next;
}

void Admission::cancel(const void* owner) {
  std::lock_guard lock(mu_);
  queue_.erase(std::remove_if(queue_.begin(), queue_.end(),
                              [owner](const Ticket& t) { return t.owner.get() == owner; }),
               queue_.end());
  notifyIfIdle();
}

void Admission::close() {
  std::lock_guard lock(mu_);
  closed_ = true;
}

void Admission::notifyIfIdle() {
  if (active_ == 0 && queue_.empty()) idle_cv_.notify_all();
}

bool Admission::waitIdle(std::chrono::milliseconds timeout) const {
  std::unique_lock lock(mu_);
  return idle_cv_.wait_for(lock, timeout, [&] { return active_ == 0 && queue_.empty(); });
}

std::int64_t Admission::active() const {
  std::lock_guard lock(mu_);
  return active_;
}

std::int64_t Admission::queued() const {
  std::lock_guard lock(mu_);
  return static_cast<std::int64_t>(queue_.size());
}

}  // namespace tidewatch::services
