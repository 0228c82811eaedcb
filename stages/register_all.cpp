// The one explicit list of built-in stages. A stage that is not named here does not exist
// for the config: add its register call when you add a stage.
#include "stages/register_all.h"

#include "stages/classify/jetmon/jetmon_classifier.h"
#include "stages/notify/log/log_notifier.h"
#include "stages/notify/wpcom/wpcom_notifier.h"
#include "stages/probe/http/http_probe.h"
#include "stages/probe/simulated/simulated_probe.h"
#include "stages/sink/incidents/incident_sink.h"
#include "stages/sink/log/log_sink.h"
#include "stages/sink/mysql_history/mysql_history_sink.h"
#include "stages/sink/mysql_projection/mysql_projection_sink.h"
#include "stages/sink/null/null_sink.h"
#include "stages/source/file/file_source.h"
#include "stages/source/generated/generated_source.h"
#include "stages/source/mysql/mysql_source.h"

namespace tidewatch {

void registerAllStages(StageRegistry& registry) {
  // source
  stages::registerFileSource(registry);
  stages::registerGeneratedSource(registry);
  stages::registerMysqlSource(registry);
  // probe
  stages::registerSimulatedProbe(registry);
  stages::registerHttpProbe(registry);
  // classify
  stages::registerJetmonClassifier(registry);
  // sink
  stages::registerNullSink(registry);
  stages::registerMysqlProjectionSink(registry);
  stages::registerMysqlHistorySink(registry);
  stages::registerLogSink(registry);
  stages::registerIncidentSink(registry);
  // notify
  stages::registerLogNotifier(registry);
  stages::registerWpcomNotifier(registry);
}

const StageRegistry& builtinStages() {
  static const StageRegistry registry = [] {
    StageRegistry r;
    registerAllStages(r);
    return r;
  }();
  return registry;
}

}  // namespace tidewatch
