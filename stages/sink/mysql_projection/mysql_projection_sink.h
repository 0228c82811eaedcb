// sink.mysql_projection: the legacy freshness projection (jetpack_monitor_sites.last_checked_at)
// through io/mysql's ProjectionWriter — per target at most once per `interval_min` (5–15,
// default 15), coalesced in memory, flushed asynchronously in rate-sized chunks.
// consume() only records (CPU, a short mutex); flush() writes everything (shutdown).
#pragma once

#include "pipeline/registry.h"

namespace tidewatch::stages {

struct MysqlProjectionOptions {
  int interval_min = 15;
  int flush_interval_ms = 10'000;
  int shutdown_timeout_s = 30;
  bool spread_start = true;  // first write per target at a hashed point of the interval
};

std::unique_ptr<Sink> makeMysqlProjectionSink(const MysqlProjectionOptions& options,
                                              const DatabaseConfig& database, Metrics& metrics);
void registerMysqlProjectionSink(StageRegistry& registry);

}  // namespace tidewatch::stages
