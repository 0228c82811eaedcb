// The escalation decision alone: de-duplication, quorum, the min-healthy floor, deferral and
// its back-off. The client tests run the same rules through real RPCs.
#include "services/verifier/quorum.h"

#include <gtest/gtest.h>

namespace tidewatch::services {
namespace {

using Decision = Verification::Decision;
using Outcome = VerifierVote::Outcome;
using namespace std::chrono_literals;

VerifierVote vote(Outcome o, std::string vantage, std::string region = "") {
  VerifierVote v;
  v.outcome = o;
  v.vantage_id = std::move(vantage);
  v.region = std::move(region);
  return v;
}

Verification decided(std::vector<VerifierVote> votes, int peer_offline_limit = 3,
                     int min_healthy = -1, std::vector<bool> skipped = {}) {
  if (skipped.empty()) skipped.assign(votes.size(), false);
  Verification v;
  v.votes = std::move(votes);
  decide(v, tallyVotes(v.votes, skipped), peer_offline_limit,
         minHealthyFloor(min_healthy, peer_offline_limit, v.votes.size()));
  return v;
}

TEST(Quorum, FloorDependsOnHowManyVerifiersThereAre) {
  EXPECT_EQ(minHealthyFloor(-1, 3, 0), 0);
  EXPECT_EQ(minHealthyFloor(-1, 3, 1), 1);
  EXPECT_EQ(minHealthyFloor(-1, 1, 3), 1);
  EXPECT_EQ(minHealthyFloor(-1, 3, 3), 2);
  EXPECT_EQ(minHealthyFloor(0, 3, 3), 0);  // configured wins
}

TEST(Quorum, ThreeDownConfirmsAndAnUpMakesItAFalseAlarm) {
  Verification all =
      decided({vote(Outcome::kDown, "a"), vote(Outcome::kDown, "b"), vote(Outcome::kDown, "c")});
  EXPECT_EQ(all.decision, Decision::kConfirmed);
  EXPECT_EQ(all.quorum, 3);
  EXPECT_EQ(all.confirmations, 3);
  Verification split =
      decided({vote(Outcome::kDown, "a"), vote(Outcome::kDown, "b"), vote(Outcome::kUp, "c")});
  EXPECT_EQ(split.decision, Decision::kDisagreed);
}

TEST(Quorum, RepeatedVantageCountsOnce) {
  std::vector<VerifierVote> votes = {vote(Outcome::kDown, "a"), vote(Outcome::kDown, "a"),
                                     vote(Outcome::kDown, "b")};
  Tally t = tallyVotes(votes, {false, false, false});
  EXPECT_EQ(t.duplicates, 1u);
  EXPECT_EQ(t.counted, (std::vector<std::size_t>{0, 2}));
  Verification v = decided(votes);
  EXPECT_EQ(v.healthy, 2);
  EXPECT_EQ(v.decision, Decision::kConfirmed);  // quorum min(3, 2) = 2
}

TEST(Quorum, TooFewHealthyOrNoneOrAllCoolingDownDefers) {
  EXPECT_EQ(decided({vote(Outcome::kDown, "a"), vote(Outcome::kRpcError, "b"),
                     vote(Outcome::kRpcError, "c")})
                .decision,
            Decision::kDeferred);
  // healthy == 0 defers even when the floor is configured to 0: no answer is never a verdict.
  EXPECT_EQ(decided({vote(Outcome::kTimeout, "a")}, 3, 0).decision, Decision::kDeferred);
  Verification skipped =
      decided({vote(Outcome::kRpcError, "a"), vote(Outcome::kRpcError, "b")}, 3, -1, {true, true});
  EXPECT_EQ(skipped.decision, Decision::kDeferred);
  EXPECT_TRUE(tallyVotes(skipped.votes, {true, true}).all_skipped);
}

TEST(Quorum, RegionalOutcomeOnlyWhenRegionsDisagree) {
  Verification same = decided({vote(Outcome::kDown, "a", "us"), vote(Outcome::kDown, "b", "eu")});
  EXPECT_EQ(same.regional_outcome, "");
  Verification differ = decided({vote(Outcome::kDown, "a", "us"), vote(Outcome::kDown, "b", "us"),
                                 vote(Outcome::kUp, "c", "eu")});
  EXPECT_EQ(differ.regional_outcome, "up in eu; confirmed in us");
}

TEST(Quorum, DeferralBacksOffDoublingToTwoMinutesAndForgets) {
  DeferralBook book;
  auto t0 = DeferralBook::Clock::now();
  EXPECT_EQ(book.defer(1, t0), 15s);
  EXPECT_EQ(book.defer(1, t0 + 1s), 30s);
  EXPECT_EQ(book.defer(1, t0 + 2s), 60s);
  EXPECT_EQ(book.defer(1, t0 + 3s), 120s);
  EXPECT_EQ(book.defer(1, t0 + 4s), 120s);
  EXPECT_EQ(book.defer(2, t0 + 4s), 15s);  // per site
  EXPECT_EQ(book.defer(1, t0 + 4s + 11min), 15s);
  book.clear(2);
  EXPECT_EQ(book.defer(2, t0 + 5s), 15s);
}

}  // namespace
}  // namespace tidewatch::services
