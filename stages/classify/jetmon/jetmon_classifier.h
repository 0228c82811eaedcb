// classify.jetmon: Jetmon's success/failure rule and status_type mapping (compat §2.7).
#pragma once

#include "pipeline/check.h"
#include "pipeline/registry.h"

namespace tidewatch::stages {

// The rule itself, usable without a stage (the verifier and tests call it directly).
Verdict classifyJetmon(const ProbeResult& result);

void registerJetmonClassifier(StageRegistry& registry);

}  // namespace tidewatch::stages
