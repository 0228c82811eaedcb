#include "services/verifier/quorum.h"

#include <algorithm>
#include <map>
#include <set>

namespace tidewatch::services {
namespace {

using Ms = std::chrono::milliseconds;

constexpr Ms kDeferFirst{15'000};
constexpr Ms kDeferMax{120'000};
constexpr Ms kForgetAfter{600'000};
// Deferral state is per site; sites that stopped deferring are pruned once the map is big.
constexpr std::size_t kDeferPruneAt = 100'000;

}  // namespace

int minHealthyFloor(int min_healthy, int peer_offline_limit, std::size_t verifiers) {
  if (min_healthy >= 0) return min_healthy;
  if (verifiers == 0) return 0;
  if (verifiers == 1 || peer_offline_limit <= 1) return 1;
  return 2;
}

Tally tallyVotes(const std::vector<VerifierVote>& votes, const std::vector<bool>& skipped) {
  Tally t;
  t.all_skipped = !skipped.empty();
  std::set<std::string> seen;
  for (std::size_t i = 0; i < votes.size(); ++i) {
    t.all_skipped = t.all_skipped && i < skipped.size() && skipped[i];
    const VerifierVote& vote = votes[i];
    if (!vote.isVote()) continue;
    if (!seen.insert(vote.vantage_id).second) {
      ++t.duplicates;
      continue;
    }
    t.counted.push_back(i);
    if (vote.outcome == VerifierVote::Outcome::kDown) ++t.confirmations;
  }
  return t;
}

void decide(Verification& v, const Tally& tally, int peer_offline_limit, int floor) {
  v.healthy = static_cast<int>(tally.counted.size());
  v.confirmations = tally.confirmations;
  v.quorum = std::max({std::min(peer_offline_limit, v.healthy), 1, floor});
  // healthy == 0 always defers, even with min_healthy: 0 — no answer is never a verdict (B3).
  if (tally.all_skipped || v.healthy < floor || v.healthy == 0) {
    v.decision = Verification::Decision::kDeferred;
    return;
  }
  v.decision = v.confirmations >= v.quorum ? Verification::Decision::kConfirmed
                                           : Verification::Decision::kDisagreed;
  std::vector<const VerifierVote*> counted;
  for (std::size_t i : tally.counted) counted.push_back(&v.votes[i]);
  v.regional_outcome = regionalOutcome(counted);
}

std::string regionalOutcome(const std::vector<const VerifierVote*>& counted) {
  std::map<std::string, std::pair<int, int>> by_region;  // region -> (down, up)
  for (const VerifierVote* v : counted) {
    auto& c = by_region[v->region.empty() ? "unknown-region" : v->region];
    (v->outcome == VerifierVote::Outcome::kDown ? c.first : c.second)++;
  }
  std::set<std::string> labels;
  std::string out;
  for (const auto& [r, c] : by_region) {
    std::string label = c.second == 0 ? "confirmed" : c.first == 0 ? "up" : "split";
    labels.insert(label);
    if (!out.empty()) out += "; ";
    out += label + " in " + r;
    if (label == "split")
      out += " (" + std::to_string(c.first) + " down, " + std::to_string(c.second) + " up)";
  }
  return labels.size() > 1 ? out : "";
}

std::chrono::milliseconds DeferralBook::defer(std::uint64_t target_id, Clock::time_point now) {
  Site& d = sites_[target_id];
  if (d.last != Clock::time_point{} && now - d.last > kForgetAfter) d.deferrals = 0;
  Ms backoff = kDeferFirst;
  for (int i = 0; i < d.deferrals && backoff < kDeferMax; ++i) backoff *= 2;
  d.deferrals++;
  d.last = now;
  if (sites_.size() > kDeferPruneAt) prune(now);
  return std::min(backoff, kDeferMax);
}

void DeferralBook::prune(Clock::time_point now) {
  for (auto it = sites_.begin(); it != sites_.end();)
    it = now - it->second.last > kForgetAfter ? sites_.erase(it) : std::next(it);
}

}  // namespace tidewatch::services
