// Every metric tidewatch registers, documented once: its Prometheus family and labels, its
// StatsD name, what it counts, what healthy looks like and what to do when it is not.
// `tidewatch metrics-doc` prints it as the table in docs/operations.md.
#pragma once

#include "core/metrics_export.h"

namespace tidewatch::app {

const MetricCatalog& metricCatalog();

}  // namespace tidewatch::app
