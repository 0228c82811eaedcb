#include "core/metrics.h"

#include <algorithm>
#include <cmath>

namespace tidewatch {

// ---- histogram ----------------------------------------------------------------------------

Histogram::Histogram(std::vector<double> bounds) : bounds_(std::move(bounds)) {
  std::sort(bounds_.begin(), bounds_.end());
  bounds_.erase(std::unique(bounds_.begin(), bounds_.end()), bounds_.end());
  counts_ = std::make_unique<std::atomic<std::uint64_t>[]>(bounds_.size() + 1);
  for (std::size_t i = 0; i <= bounds_.size(); ++i) counts_[i].store(0, std::memory_order_relaxed);
}

void Histogram::observe(double value) {
  // Prometheus buckets are `le`: a value equal to a bound belongs to that bound's bucket.
  const auto it = std::lower_bound(bounds_.begin(), bounds_.end(), value);
  counts_[static_cast<std::size_t>(it - bounds_.begin())].fetch_add(1, std::memory_order_relaxed);
  count_.fetch_add(1, std::memory_order_relaxed);
  sum_micros_.fetch_add(static_cast<std::int64_t>(std::llround(value * 1e6)), std::memory_order_relaxed);
}

Histogram::Snapshot Histogram::snapshot() const {
  Snapshot s;
  s.bounds = bounds_;
  s.counts.resize(bounds_.size() + 1);
  for (std::size_t i = 0; i <= bounds_.size(); ++i) s.counts[i] = counts_[i].load(std::memory_order_relaxed);
  // The total is the sum of the buckets, so that the exported +Inf bucket equals _count even
  // while observations race with the snapshot.
  for (std::uint64_t c : s.counts) s.count += c;
  s.sum = static_cast<double>(sum_micros_.load(std::memory_order_relaxed)) / 1e6;
  return s;
}

double Histogram::Snapshot::quantile(double q) const {
  if (count == 0) return 0;
  const double rank = std::clamp(q, 0.0, 1.0) * static_cast<double>(count);
  double seen = 0;
  for (std::size_t i = 0; i < counts.size(); ++i) {
    const auto c = static_cast<double>(counts[i]);
    if (c > 0 && seen + c >= rank) {
      const double lo = i == 0 ? 0 : bounds[i - 1];
      if (i == bounds.size()) return lo;  // +Inf: the last finite bound is all we know
      const double hi = bounds[i];
      return lo + (hi - lo) * std::clamp((rank - seen) / c, 0.0, 1.0);
    }
    seen += c;
  }
  return bounds.empty() ? 0 : bounds.back();
}

Histogram::Snapshot Histogram::Snapshot::since(const Snapshot& earlier) const {
  Snapshot d = *this;
  if (earlier.counts.size() != counts.size()) return d;
  d.count = 0;
  for (std::size_t i = 0; i < counts.size(); ++i) {
    d.counts[i] = counts[i] >= earlier.counts[i] ? counts[i] - earlier.counts[i] : 0;
    d.count += d.counts[i];
  }
  d.sum = std::max(0.0, sum - earlier.sum);
  return d;
}

std::vector<double> Histogram::exponential(double start, double factor, int count) {
  std::vector<double> b;
  double v = start;
  for (int i = 0; i < count; ++i, v *= factor) b.push_back(v);
  return b;
}

// ---- registry -----------------------------------------------------------------------------

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

Histogram& Metrics::histogram(const std::string& name, const std::vector<double>& bounds) {
  std::lock_guard lock(mu_);
  auto& h = histograms_[name];
  if (!h) h = std::make_unique<Histogram>(bounds);
  return *h;
}

void Metrics::setDistribution(const std::string& name, const SampledDistribution& value) {
  std::lock_guard lock(mu_);
  distributions_[name] = value;
}

std::vector<std::pair<std::string, std::int64_t>> Metrics::snapshot() const {
  std::lock_guard lock(mu_);
  std::map<std::string, std::int64_t> merged;
  for (const auto& [name, value] : counters_)
    merged[name] = static_cast<std::int64_t>(value->load(std::memory_order_relaxed));
  for (const auto& [name, value] : gauges_) merged[name] = value->load(std::memory_order_relaxed);
  return {merged.begin(), merged.end()};
}

std::vector<Metrics::Entry> Metrics::entries() const {
  std::vector<Entry> out;
  {
    std::lock_guard lock(mu_);
    out.reserve(counters_.size() + gauges_.size() + histograms_.size() + distributions_.size());
    for (const auto& [name, value] : counters_)
      out.push_back({Entry::Kind::kCounter, name, static_cast<std::int64_t>(value->load(std::memory_order_relaxed)), {}, {}});
    for (const auto& [name, value] : gauges_)
      out.push_back({Entry::Kind::kGauge, name, value->load(std::memory_order_relaxed), {}, {}});
    for (const auto& [name, h] : histograms_) out.push_back({Entry::Kind::kHistogram, name, 0, h->snapshot(), {}});
    for (const auto& [name, d] : distributions_) out.push_back({Entry::Kind::kDistribution, name, 0, {}, d});
  }
  std::sort(out.begin(), out.end(), [](const Entry& a, const Entry& b) { return a.name < b.name; });
  return out;
}

}  // namespace tidewatch
