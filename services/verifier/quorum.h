// The decision of one escalation (compat §6.2, §6.4; docs/verifier.md): votes de-duplicated by
// vantage, quorum = max(min(peer_offline_limit, healthy), 1, floor), the min-healthy floor,
// and deferral — too few healthy verifiers, every verifier cooling down, or no answer at all
// defers the decision (retry later); a verifier outage never becomes a false alarm (bug B3).
//
// Pure functions, any thread, plus DeferralBook: the per-site back-off state, which is not
// thread-safe (the client holds its own lock around it).
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <string>
#include <unordered_map>
#include <vector>

#include "pipeline/verification.h"

namespace tidewatch::services {

// The floor of healthy (voting) verifiers below which a decision is deferred: min_healthy
// when configured (≥ 0), else 0 without verifiers, 1 with one (or peer_offline_limit ≤ 1),
// otherwise 2.
int minHealthyFloor(int min_healthy, int peer_offline_limit, std::size_t verifiers);

struct Tally {
  std::vector<std::size_t> counted;  // votes that count: the first per vantage, in order
  std::size_t duplicates = 0;        // votes dropped as a repeated vantage
  int confirmations = 0;             // down votes among the counted
  bool all_skipped = false;          // every verifier was cooling down (none contacted)
};
// `skipped[i]`: verifier i was not contacted (cooling down).
Tally tallyVotes(const std::vector<VerifierVote>& votes, const std::vector<bool>& skipped);

// Fills decision, quorum, healthy and confirmations (and the regional outcome of a decision
// that was not deferred) from the tally; votes are v.votes. retry_after_ms is the caller's.
void decide(Verification& v, const Tally& tally, int peer_offline_limit, int floor);

// "confirmed in us-east; up in eu-west" when regions disagree, "" when every region agrees
// (or only one region voted).
std::string regionalOutcome(const std::vector<const VerifierVote*>& counted);

// Back-off per site between deferred escalations: 15 s doubling to 2 min (the incident engine
// caps it at the site's interval), forgotten 10 min after the last deferral.
class DeferralBook {
 public:
  using Clock = std::chrono::steady_clock;
  // A deferred decision for `target_id`: returns the back-off before the next escalation.
  std::chrono::milliseconds defer(std::uint64_t target_id, Clock::time_point now);
  // A decision was taken: the site starts over.
  void clear(std::uint64_t target_id) { sites_.erase(target_id); }
  std::size_t size() const { return sites_.size(); }

 private:
  struct Site {
    int deferrals = 0;
    Clock::time_point last{};
  };
  void prune(Clock::time_point now);
  std::unordered_map<std::uint64_t, Site> sites_;
};

}  // namespace tidewatch::services
