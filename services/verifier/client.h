// services::makeVerifierClient: the monitor's side of remote verification (compat §6.2–6.4,
// docs/verifier.md), behind the VerifierClient interface of pipeline/verification.h (the
// incident engine escalates through it). One escalation = one POST (protocol.h) to every
// configured verifier that is not cooling down, all in parallel over io::httpCall, each
// bounded by the site's timeout + verification.extra_timeout_s; the votes are decided by
// quorum.h. Per-verifier cooldown after an RPC error or a non-vote: 30 s doubling to 2 min,
// forgotten 10 min after it expired, cleared by a vote.
//
// Threads: verify() from any thread, never blocks; `done` runs exactly once on an io_context
// thread. The client may be destroyed with escalations in flight (they keep what they need).
#pragma once

#include <asio/io_context.hpp>
#include <memory>
#include <vector>

#include "core/metrics.h"
#include "pipeline/config.h"
#include "pipeline/verification.h"

namespace tidewatch::services {

struct VerifierClientOptions {
  std::vector<VerifierEndpoint> verifiers;
  VerificationConfig verification;
  int default_timeout_s = 10;  // for sites without a timeout of their own
};

// The client's part of the daemon's config (verifiers:, verification:, probe.default_timeout_s).
VerifierClientOptions verifierClientOptions(const Config& config);

std::unique_ptr<VerifierClient> makeVerifierClient(VerifierClientOptions options,
                                                   asio::io_context& io, Metrics& metrics);

}  // namespace tidewatch::services
