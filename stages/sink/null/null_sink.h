// sink.null: counts what it is given and drops it (benchmarks measure the graph with it).
#pragma once

#include "pipeline/registry.h"

namespace tidewatch::stages {
void registerNullSink(StageRegistry& registry);
}  // namespace tidewatch::stages
