// The built-in stages: the one explicit list (register_all.cpp). A stage that is not named
// there does not exist for the config. The pipeline's own code and tests never need this list
// (they take a StageRegistry); the app, the services and stage tests use it.
#pragma once

#include "pipeline/registry.h"

namespace tidewatch {

// The daemon's registry with every built-in stage (built once, immutable, any thread).
const StageRegistry& builtinStages();
// Adds every built-in stage to `registry` (a test registry may add its own beside them).
void registerAllStages(StageRegistry& registry);

}  // namespace tidewatch
