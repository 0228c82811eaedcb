// probe.simulated: a deterministic stand-in for the network. Latency (fixed or lognormal)
// and outcome (healthy, HTTP failure, timeout) come from a hash of the seed, the target id,
// the due time and the attempt, so a run is repeatable. Zero latency completes inline.
#pragma once

#include <cstdint>

#include "pipeline/registry.h"

namespace tidewatch::stages {

struct SimulatedProbeOptions {
  std::uint64_t seed = 1;
  bool lognormal = false;
  double latency_ms = 0;       // fixed value, or the median of the lognormal
  double sigma = 0.5;          // lognormal shape
  double failure_rate = 0;     // share of checks answered with `failure_code`
  int failure_code = 503;
  double timeout_rate = 0;     // share of checks that end in a timeout (error 1)
  double timeout_ms = 0;       // how long a timeout takes; 0 = the site's deadline
};

void registerSimulatedProbe(StageRegistry& registry);

}  // namespace tidewatch::stages
