// source.mysql: the owned fleet from jetpack_monitor_sites (compat §1.2, §11.5, §15.1).
//
// Loads `monitor_active = 1` rows of [bucket_min, bucket_max] with keyset paging on its own
// thread (never on a dispatch or TBB thread), hands complete snapshots to
// TargetListener::replaceFleet, then keeps them fresh:
//   - polls the active count and highest id every `count_poll_s` (30 s), every
//     `empty_poll_s` (5 s) while the fleet is empty, and reloads when they change;
//   - reloads everything every max(`reload_interval_s`, active / 50) seconds, at most 30 min,
//     so a 2-million-row fleet is re-read every ~11 min rather than every 5; a periodic reload
//     is deferred by a minute while the runner reports pressure;
//   - refresh() (SIGHUP) reloads at once.
// While the database is unreachable the last snapshot stays in force and loads are retried
// with the pool's backoff.
#pragma once

#include <cstdint>
#include <memory>

#include "pipeline/registry.h"
#include "pipeline/stage.h"

namespace tidewatch::stages {

struct MysqlSourceOptions {
  std::uint16_t bucket_min = 0;
  std::uint16_t bucket_max = 65535;
  std::size_t page_size = 5000;      // 0 in YAML = automatic (5 000)
  int count_poll_s = 30;
  int empty_poll_s = 5;
  int reload_interval_s = 300;       // STREAMING_TARGET_RELOAD_SEC
  int max_reload_interval_s = 1800;  // the stretch for large fleets stops here
  int pressure_defer_s = 60;
};

std::unique_ptr<TargetSource> makeMysqlTargetSource(const MysqlSourceOptions& options,
                                                    const DatabaseConfig& database, Metrics& metrics);

void registerMysqlSource(StageRegistry& registry);

}  // namespace tidewatch::stages
