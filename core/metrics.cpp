#include "core/metrics.h"

namespace tidewatch {

std::atomic<std::uint64_t>& Metrics::counter(const std::string& name) {
  std::lock_guard lock(mu_);
  auto it = counters_.find(name);
  if (it != counters_.end()) return *it->second;
  auto& slot = counter_store_.emplace_back(0);
  counters_.emplace(name, &slot);
  return slot;
}

std::atomic<std::int64_t>& Metrics::gauge(const std::string& name) {
  std::lock_guard lock(mu_);
  auto it = gauges_.find(name);
  if (it != gauges_.end()) return *it->second;
  auto& slot = gauge_store_.emplace_back(0);
  gauges_.emplace(name, &slot);
  return slot;
}

std::vector<std::pair<std::string, std::int64_t>> Metrics::snapshot() const {
  std::lock_guard lock(mu_);
  std::map<std::string, std::int64_t> merged;
  for (const auto& [name, value] : counters_)
    merged[name] = static_cast<std::int64_t>(value->load(std::memory_order_relaxed));
  for (const auto& [name, value] : gauges_) merged[name] = value->load(std::memory_order_relaxed);
  return {merged.begin(), merged.end()};
}

}  // namespace tidewatch
