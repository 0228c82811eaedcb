// The verifier client sink.incidents escalates to: io::makeVerifierClient when the io
// library provides it (verifier_factory.cpp), else a build-time placeholder that fails
// loudly at startup when `verifiers:` are configured (verifier_factory_missing.cpp).
#pragma once

#include <memory>

#include "pipeline/config.h"
#include "pipeline/event_loop.h"
#include "pipeline/metrics.h"
#include "pipeline/verification.h"

namespace tidewatch::stages {

std::shared_ptr<VerifierClient> makeIncidentVerifierClient(const Config& config, EventLoop& loop, Metrics& metrics);

}  // namespace tidewatch::stages
