#include "stages/sink/incidents/correlation.h"

#include <algorithm>

namespace tidewatch::stages {

bool isInfrastructureFailure(const Check& c) {
  if (!c.verdict.failure || c.result.http_code != 0) return false;
  return c.result.error == ErrorCode::kTimeout || c.result.error == ErrorCode::kConnect ||
         c.result.dns_error != DnsErrorKind::kNone;
}

bool isResolverFailure(const Check& c) {
  if (!c.verdict.failure) return false;
  DnsErrorKind k = c.result.dns_error;
  return k == DnsErrorKind::kTimeout || k == DnsErrorKind::kServFail || k == DnsErrorKind::kResolverError;
}

CorrelationWindow::CorrelationWindow(CorrelationOptions options)
    : o_(options), size_(static_cast<std::size_t>(std::max(1, options.window_s))) {
  buckets_ = std::make_unique<Bucket[]>(size_);
}

void CorrelationWindow::record(const Check& c) {
  std::int64_t sec = c.result.finished_at_ms / 1000;
  Bucket& b = buckets_[static_cast<std::size_t>(sec) % size_];
  std::int64_t seen = b.second.load(std::memory_order_relaxed);
  if (seen != sec) {
    // First result of a new second in this slot: whoever wins the exchange clears it. A
    // result racing with the reset may be lost or counted in the old second — noise at the
    // scale this rule works on.
    if (seen < sec && b.second.compare_exchange_strong(seen, sec, std::memory_order_relaxed)) {
      b.results.store(0, std::memory_order_relaxed);
      b.infra.store(0, std::memory_order_relaxed);
      b.resolver.store(0, std::memory_order_relaxed);
    } else if (seen > sec) {
      return;  // a result older than the window
    }
  }
  b.results.fetch_add(1, std::memory_order_relaxed);
  if (isInfrastructureFailure(c)) b.infra.fetch_add(1, std::memory_order_relaxed);
  if (isResolverFailure(c)) b.resolver.fetch_add(1, std::memory_order_relaxed);
}

CorrelationWindow::Totals CorrelationWindow::totals(std::int64_t now_s) const {
  Totals t;
  for (std::size_t i = 0; i < size_; ++i) {
    const Bucket& b = buckets_[i];
    std::int64_t s = b.second.load(std::memory_order_relaxed);
    if (s <= now_s - static_cast<std::int64_t>(size_) || s > now_s) continue;
    t.results += b.results.load(std::memory_order_relaxed);
    t.infra += b.infra.load(std::memory_order_relaxed);
    t.resolver += b.resolver.load(std::memory_order_relaxed);
  }
  return t;
}

bool CorrelationWindow::entering(const Totals& t) const {
  if (t.results < o_.min_results || t.results == 0) return false;
  double infra = static_cast<double>(t.infra) / static_cast<double>(t.results);
  double dns = static_cast<double>(t.resolver) / static_cast<double>(t.results);
  return infra >= o_.enter_ratio || (t.resolver >= o_.dns_min_failures && dns >= o_.dns_enter_ratio);
}

CorrelationWindow::Change CorrelationWindow::evaluate(std::int64_t now_s) {
  if (!o_.enabled) return Change::kNone;
  Totals t = totals(now_s);
  last_ = t;
  if (!suspect_.load(std::memory_order_relaxed)) {
    if (!entering(t)) return Change::kNone;
    suspect_.store(true, std::memory_order_relaxed);
    below_since_s_ = -1;
    return Change::kEntered;
  }
  // Leaving needs the failure share below exit_ratio (and the resolver rule quiet) for
  // exit_windows whole windows in a row: a monitor that recovers and relapses stays suspect.
  // No results at all is no evidence either way.
  bool below = t.results > 0 && static_cast<double>(t.infra) < o_.exit_ratio * static_cast<double>(t.results) &&
               !(t.resolver >= o_.dns_min_failures &&
                 static_cast<double>(t.resolver) >= o_.dns_enter_ratio * static_cast<double>(t.results));
  if (!below) {
    below_since_s_ = -1;
    return Change::kNone;
  }
  if (below_since_s_ < 0) below_since_s_ = now_s;
  if (now_s - below_since_s_ >= static_cast<std::int64_t>(o_.exit_windows) * o_.window_s) {
    suspect_.store(false, std::memory_order_relaxed);
    below_since_s_ = -1;
    return Change::kLeft;
  }
  return Change::kNone;
}

}  // namespace tidewatch::stages
