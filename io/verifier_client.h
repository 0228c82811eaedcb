// The monitor's side of remote verification: escalates a site to every configured verifier
// (config `verifiers:`) in parallel over HTTP on the event loop, collects votes, and decides
// with quorum, the min-healthy floor, per-verifier cooldown and deferral (compat §6.2–6.4).
#pragma once

#include <memory>

#include "pipeline/config.h"
#include "core/event_loop.h"
#include "core/metrics.h"
#include "pipeline/verification.h"

namespace tidewatch::io {

std::unique_ptr<VerifierClient> makeVerifierClient(const Config& config, EventLoop& loop, Metrics& metrics);

}  // namespace tidewatch::io
