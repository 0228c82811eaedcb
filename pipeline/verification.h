// Remote verification as the incident engine sees it (compat §6): after NUM_OF_CHECKS local
// failures a site is escalated to every configured verifier (other vantage points running
// the same probe); their votes confirm Down, disagree (false alarm) or — when too few
// verifiers are healthy — defer the decision. A verifier outage must never turn a real
// outage into a false alarm (reference bug B3).
//
// VerifierClient: called by the incident engine from any thread (TBB or I/O). verify() never
// blocks: it starts the RPCs and calls `done` exactly once on an I/O thread, no later than the
// site's timeout + verification.extra_timeout_s (5 s) plus scheduling delay; `done` must not
// block either. configured() is constant and thread-safe. The client owns its RPC state and
// may be destroyed with escalations in flight. Implementation: services/verifier/client.h.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "core/probe_result.h"
#include "core/target.h"

namespace tidewatch {

struct VerifierVote {
  // What one verifier said. kUp/kDown are votes; everything else is not (and puts that
  // verifier on its error cooldown).
  enum class Outcome : std::uint8_t { kUp, kDown, kTimeout, kProbeError, kOverloaded, kUnknown, kRpcError };
  Outcome outcome = Outcome::kUnknown;
  std::string verifier;    // configured name
  std::string vantage_id;  // vote identity (de-duplicated): vantage ?? reply host ?? address
  std::string region;
  std::string host;        // the verifier's reply `Host`
  int http_code = 0;
  ErrorCode error = ErrorCode::kNone;
  std::uint32_t rtt_ms = 0;
  std::string detail;      // RPC error text, if any

  bool isVote() const { return outcome == Outcome::kUp || outcome == Outcome::kDown; }
};

struct Verification {
  enum class Decision : std::uint8_t {
    kConfirmed,      // down votes ≥ quorum
    kDisagreed,      // healthy replies, too few down votes: a false alarm
    kDeferred,       // too few healthy verifiers (or all cooling down): decide later
    kNoVerifiers,    // none configured: confirm without verification (compat §6.2)
  };
  Decision decision = Decision::kDeferred;
  int quorum = 0;
  int healthy = 0;         // distinct vantages that voted
  int confirmations = 0;   // down votes
  std::vector<VerifierVote> votes;     // one per configured verifier (non-votes included)
  std::string regional_outcome;        // e.g. "confirmed in us-east; up in eu-west", "" if uniform
  std::int64_t retry_after_ms = 0;     // kDeferred: back-off before the next escalation
};

class VerifierClient {
 public:
  virtual ~VerifierClient() = default;
  virtual void verify(const TargetPtr& target, const ProbeResult& local,
                      std::function<void(Verification)> done) = 0;
  virtual std::size_t configured() const = 0;
};

std::string_view toString(VerifierVote::Outcome outcome);
std::string_view toString(Verification::Decision decision);

}  // namespace tidewatch
