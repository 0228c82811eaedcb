// The verifier client sink.incidents escalates to (io::makeVerifierClient), behind one
// function so that the stage's translation unit needs no io/ headers.
#pragma once

#include <memory>

#include "pipeline/config.h"
#include "core/event_loop.h"
#include "core/metrics.h"
#include "pipeline/verification.h"

namespace tidewatch::stages {

std::shared_ptr<VerifierClient> makeIncidentVerifierClient(const Config& config, EventLoop& loop, Metrics& metrics);

}  // namespace tidewatch::stages
