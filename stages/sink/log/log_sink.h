// sink.log: one log line per result it wants (failures only by default).
#pragma once

#include <string>

#include "pipeline/check.h"
#include "pipeline/registry.h"

namespace tidewatch::stages {

// "target=12 blog=34 url=... GET code=503 error=0(none) status_type=server rtt_ms=..." —
// shared with notify.log and the verifier's logs.
std::string describeCheck(const Check& check);

void registerLogSink(StageRegistry& registry);

}  // namespace tidewatch::stages
