// A VerifierClient (pipeline/verification.h) that answers escalations from a script: at once
// (decide, or a confirmation by default) on the caller's thread, or parked until the test
// releases them (from any thread, as the real client's I/O threads would). configured() is
// `count` (0: the engine confirms without verification, compat §6.2). Canned verdicts for
// the usual cases: confirmed, disagreed, deferred.
#pragma once

#include <atomic>
#include <functional>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

#include "pipeline/verification.h"

namespace tidewatch::fakes {

class FakeVerifierClient final : public VerifierClient {
 public:
  std::function<Verification(const TargetPtr&)> decide;  // null = confirmed()
  bool park = false;
  std::size_t count = 3;
  std::atomic<int> calls{0};

  void verify(const TargetPtr& target, const ProbeResult&, std::function<void(Verification)> done) override {
    calls.fetch_add(1);
    if (park) {
      std::lock_guard lock(mu_);
      parked_.push_back({target, std::move(done)});
      return;
    }
    done(decide ? decide(target) : confirmed());
  }
  std::size_t configured() const override { return count; }

  // Answers every parked escalation with `v`.
  void releaseAll(const Verification& v) {
    std::vector<std::pair<TargetPtr, std::function<void(Verification)>>> p;
    {
      std::lock_guard lock(mu_);
      p.swap(parked_);
    }
    for (auto& [t, done] : p) done(v);
  }

  static VerifierVote vote(int i, VerifierVote::Outcome outcome, int http_code) {
    VerifierVote v;
    v.outcome = outcome;
    v.verifier = "v" + std::to_string(i);
    v.vantage_id = "vantage-" + std::to_string(i);
    v.host = "127.0.0." + std::to_string(i + 1);
    v.http_code = http_code;
    v.rtt_ms = 40 + static_cast<std::uint32_t>(i);
    return v;
  }
  // Three healthy verifiers, all see it down (503).
  static Verification confirmed() {
    Verification v;
    v.decision = Verification::Decision::kConfirmed;
    v.quorum = v.healthy = v.confirmations = 3;
    for (int i = 1; i <= 3; ++i) v.votes.push_back(vote(i, VerifierVote::Outcome::kDown, 503));
    return v;
  }
  // Three healthy verifiers, all see it up (200): a false alarm.
  static Verification disagreed() {
    Verification v;
    v.decision = Verification::Decision::kDisagreed;
    v.quorum = v.healthy = 3;
    v.confirmations = 0;
    for (int i = 1; i <= 3; ++i) v.votes.push_back(vote(i, VerifierVote::Outcome::kUp, 200));
    return v;
  }
  // No verifier answered: no verdict, ask again after `retry_after_ms`.
  static Verification deferred(std::int64_t retry_after_ms) {
    Verification v;
    v.decision = Verification::Decision::kDeferred;
    v.retry_after_ms = retry_after_ms;
    for (int i = 1; i <= 3; ++i) {
      VerifierVote n = vote(i, VerifierVote::Outcome::kRpcError, 0);
      n.detail = "connection refused";
      v.votes.push_back(n);
    }
    return v;
  }

 private:
  std::mutex mu_;
  std::vector<std::pair<TargetPtr, std::function<void(Verification)>>> parked_;
};

}  // namespace tidewatch::fakes
