// notify.log: writes each WPCOM status change to the log instead of sending it.
#pragma once

#include "pipeline/registry.h"

namespace tidewatch::stages {
void registerLogNotifier(StageRegistry& registry);
}  // namespace tidewatch::stages
