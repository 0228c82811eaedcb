// The few stages the pipeline's tests build from YAML: source.generated, probe.simulated,
// classify.jetmon (the default classifier), sink.null, sink.log and notify.log. The pipeline
// is tested against these alone, so its tests link only these stages, not every built-in one
// (stages/register_all.h is the daemon's list).
#pragma once

#include "pipeline/registry.h"
#include "stages/classify/jetmon/jetmon_classifier.h"
#include "stages/notify/log/log_notifier.h"
#include "stages/probe/simulated/simulated_probe.h"
#include "stages/sink/log/log_sink.h"
#include "stages/sink/null/null_sink.h"
#include "stages/source/generated/generated_source.h"

namespace tidewatch::testing {

inline void registerPipelineTestStages(StageRegistry& registry) {
  stages::registerGeneratedSource(registry);
  stages::registerSimulatedProbe(registry);
  stages::registerJetmonClassifier(registry);
  stages::registerNullSink(registry);
  stages::registerLogSink(registry);
  stages::registerLogNotifier(registry);
}

inline const StageRegistry& pipelineTestStages() {
  static const StageRegistry registry = [] {
    StageRegistry r;
    registerPipelineTestStages(r);
    return r;
  }();
  return registry;
}

}  // namespace tidewatch::testing
