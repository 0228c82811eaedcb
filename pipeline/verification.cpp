#include "pipeline/verification.h"

namespace tidewatch {

std::string_view toString(VerifierVote::Outcome outcome) {
  switch (outcome) {
    case VerifierVote::Outcome::kUp: return "up";
    case VerifierVote::Outcome::kDown: return "down";
    case VerifierVote::Outcome::kTimeout: return "timeout";
    case VerifierVote::Outcome::kProbeError: return "probe_error";
    case VerifierVote::Outcome::kOverloaded: return "agent_overloaded";
    case VerifierVote::Outcome::kUnknown: return "unknown";
    case VerifierVote::Outcome::kRpcError: return "rpc_error";
  }
  return "unknown";
}

std::string_view toString(Verification::Decision decision) {
  switch (decision) {
    case Verification::Decision::kConfirmed: return "confirmed";
    case Verification::Decision::kDisagreed: return "disagreed";
    case Verification::Decision::kDeferred: return "deferred";
    case Verification::Decision::kNoVerifiers: return "no_verifiers";
  }
  return "deferred";
}

}  // namespace tidewatch
