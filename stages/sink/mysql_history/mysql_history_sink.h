// sink.mysql_history: jetmon_check_history rows through io/mysql's HistoryWriter (batched
// 1 000 rows / 250 ms, bounded buffer; overflow is dropped and counted).
//
// Which results are kept (compat §1.12, §3.8): the site's check_history_mode, or the sink's
// `default_mode` when the site has none:
//   failures       every failing result (the streaming engine's behaviour; the default)
//   status_change  results that disagree with the stored status: a failure while the site is
//                  up, a success while it is down (Jetmon's CHECK_HISTORY_MODE default)
//   sample         failures and status changes, plus every Nth healthy result per site
//   all            every result
//   disabled       nothing
// The stored status starts as the loaded site_status and follows the results this sink sees.
#pragma once

#include <cstdint>
#include <string>
#include <unordered_map>

#include "pipeline/check.h"
#include "pipeline/registry.h"

namespace tidewatch::stages {

enum class HistoryKeep : std::uint8_t { kFailures, kStatusChange, kSample, kAll, kDisabled };

struct MysqlHistoryOptions {
  HistoryKeep default_mode = HistoryKeep::kFailures;
  int sample_rate = 10;               // CHECK_HISTORY_SAMPLE_RATE_DEFAULT
  int batch_rows = 1000;
  int batch_ms = 250;
  int max_buffer_rows = 200'000;
  int shutdown_timeout_s = 30;
};

// The keep/skip decision, separate from I/O so it can be tested alone. Serial use only.
class HistoryPolicy {
 public:
  explicit HistoryPolicy(const MysqlHistoryOptions& o) : o_(o) {}
  bool keep(const Check& check);
  std::size_t trackedSites() const { return down_.size(); }

 private:
  MysqlHistoryOptions o_;
  // Sites whose status (as this sink knows it) differs from the status they were loaded with.
  std::unordered_map<std::uint64_t, bool> down_;
};

std::unique_ptr<Sink> makeMysqlHistorySink(const MysqlHistoryOptions& options,
                                           const DatabaseConfig& database, Metrics& metrics);
void registerMysqlHistorySink(StageRegistry& registry);

}  // namespace tidewatch::stages
