// The correlated-failure detector: "is the monitor itself the suspect?" (DESIGN.md §3).
//
// record() sees every routed result (the sink's wants() runs for all of them) and bumps
// relaxed atomics in one-second buckets: cheap enough for the hot path, approximate under
// races at a bucket boundary, which a ratio over thousands of results does not notice.
// evaluate() runs on one thread at a time (the sink's ticker) and applies the hysteresis.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <vector>

#include "pipeline/check.h"
#include "stages/sink/incidents/incident_options.h"

namespace tidewatch::stages {

// A failure that says more about the path to the site than the site itself: no HTTP answer,
// and the request timed out or could not connect (DNS failures included). HTTP-status and
// content failures are never this: a 503 is the site's own answer.
bool isInfrastructureFailure(const Check& check);
// A resolver-side DNS failure (timeout, servfail, resolver error; NXDOMAIN is an answer).
bool isResolverFailure(const Check& check);

class CorrelationWindow {
 public:
  explicit CorrelationWindow(CorrelationOptions options);

  void record(const Check& check);

  struct Totals {
    std::int64_t results = 0;
    std::int64_t infra = 0;
    std::int64_t resolver = 0;
  };
  Totals totals(std::int64_t now_s) const;

  enum class Change { kNone, kEntered, kLeft };
  // Applies the enter/exit rule at `now_s`; single caller at a time.
  Change evaluate(std::int64_t now_s);
  bool suspect() const { return suspect_.load(std::memory_order_relaxed); }
  const Totals& lastTotals() const { return last_; }

 private:
  struct Bucket {
    std::atomic<std::int64_t> second{-1};
    std::atomic<std::int64_t> results{0};
    std::atomic<std::int64_t> infra{0};
    std::atomic<std::int64_t> resolver{0};
  };
  bool entering(const Totals& t) const;

  CorrelationOptions o_;
  std::unique_ptr<Bucket[]> buckets_;
  std::size_t size_;
  std::atomic<bool> suspect_{false};
  std::int64_t below_since_s_ = -1;
  Totals last_;
};

}  // namespace tidewatch::stages
