// The verifier client sink.incidents escalates to (services::makeVerifierClient on the
// daemon's Asio loop), behind one function so that the stage's translation unit needs no
// services/ or io/ headers.
#pragma once

#include <memory>

#include "pipeline/registry.h"
#include "pipeline/verification.h"

namespace tidewatch::stages {

std::shared_ptr<VerifierClient> makeIncidentVerifierClient(const StageContext& ctx);

}  // namespace tidewatch::stages
