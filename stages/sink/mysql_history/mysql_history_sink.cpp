#include "stages/sink/mysql_history/mysql_history_sink.h"

#include <chrono>
#include <stdexcept>

#include <spdlog/spdlog.h>

#include "io/mysql/history_writer.h"
#include "io/mysql/pool.h"
#include "stages/mysql_connection.h"
#include "core/metrics.h"

namespace tidewatch::stages {

bool HistoryPolicy::keep(const Check& check) {
  const Target* t = check.request.target.get();
  if (t == nullptr) return false;
  HistoryKeep mode = o_.default_mode;
  int rate = o_.sample_rate;
  if (t->config) {
    switch (t->config->history_mode) {
      case HistoryMode::kDisabled: mode = HistoryKeep::kDisabled; break;
      case HistoryMode::kAll: mode = HistoryKeep::kAll; break;
      case HistoryMode::kStatusChange: mode = HistoryKeep::kStatusChange; break;
      case HistoryMode::kSample: mode = HistoryKeep::kSample; break;
      case HistoryMode::kDefault: break;
    }
    if (t->config->history_sample_rate > 0) rate = t->config->history_sample_rate;
  }
  const bool failure = check.verdict.failure;
  switch (mode) {
    case HistoryKeep::kDisabled: return false;
    case HistoryKeep::kAll: return true;
    case HistoryKeep::kFailures: return failure;
    case HistoryKeep::kStatusChange:
    case HistoryKeep::kSample: break;
  }
  // Stored status: the loaded one unless this sink has seen it change.
  const bool loaded_down = t->site_status != SiteStatus::kRunning;
  auto it = down_.find(t->id);
  const bool down = it == down_.end() ? loaded_down : it->second;
  const bool disagrees = failure != down;
  if (disagrees) {
    if (failure == loaded_down) {
      down_.erase(t->id);  // back to what the row says: nothing to remember
    } else {
      down_[t->id] = failure;
    }
    return true;
  }
  if (mode == HistoryKeep::kSample) {
    if (failure) return true;  // sample keeps failures too
    if (rate <= 1) return true;
    // Every Nth healthy result, without per-site counters: the check's sequence number on its
    // cadence, offset by the id so that sites do not all sample in the same round.
    const std::uint64_t seq = t->interval_s ? static_cast<std::uint64_t>(check.request.due_s) / t->interval_s : 0;
    return (seq + t->id) % static_cast<std::uint64_t>(rate) == 0;
  }
  return false;
}

namespace {

class MysqlHistorySink final : public Sink {
 public:
  MysqlHistorySink(const MysqlHistoryOptions& o, const DatabaseConfig& db, Metrics& metrics)
      : o_(o),
        policy_(o),
        writer_(sharedPool(db, &metrics),
                mysql::HistoryWriter::Options{.batch_rows = static_cast<std::size_t>(o.batch_rows),
                                              .batch_delay = std::chrono::milliseconds(o.batch_ms),
                                              .max_buffer_rows = static_cast<std::size_t>(o.max_buffer_rows)},
                &metrics) {}

  bool wants(const Check& check) const override {
    // Stateless pre-filter so that healthy results of `failures` sites (the common case) are
    // not even routed here; modes that need the stored status decide in consume().
    const Target* t = check.request.target.get();
    if (t == nullptr) return false;
    HistoryKeep mode = o_.default_mode;
    if (t->config) {
      switch (t->config->history_mode) {
        case HistoryMode::kDisabled: return false;
        case HistoryMode::kAll: return true;
        case HistoryMode::kStatusChange:
        case HistoryMode::kSample: return true;
        case HistoryMode::kDefault: break;
      }
    }
    if (mode == HistoryKeep::kDisabled) return false;
    if (mode == HistoryKeep::kFailures) return check.verdict.failure;
    return true;
  }

  void consume(const CheckPtr& check) override {
    if (!policy_.keep(*check)) return;
    const Target& t = *check->request.target;
    const ProbeResult& r = check->result;
    mysql::HistoryRow row;
    row.blog_id = t.blog_id;
    row.source_site_id = t.id;
    row.head = r.method == HttpMethod::kHead;
    row.http_code = static_cast<std::int16_t>(r.http_code);
    row.error_code = static_cast<std::uint8_t>(r.error);
    row.rtt_ms = r.timings.rtt_ms;
    row.dns_ms = r.timings.dns_ms;
    row.tcp_ms = r.timings.tcp_ms;
    row.tls_ms = r.timings.tls_ms;
    row.ttfb_ms = r.timings.ttfb_ms;
    row.checked_at_ms = r.finished_at_ms > 0 ? r.finished_at_ms
                                             : std::chrono::duration_cast<std::chrono::milliseconds>(
                                                   std::chrono::system_clock::now().time_since_epoch())
                                                   .count();
    writer_.add(row);  // a full buffer drops and counts (mysql.history.dropped)
  }

  // Bounded and droppable: never a reason to pause dispatch.

  void flush() override {
    if (!writer_.flush(std::chrono::seconds(o_.shutdown_timeout_s))) {
      spdlog::error("sink.mysql_history: {} history rows not written at shutdown", writer_.backlog());
    }
  }

 private:
  MysqlHistoryOptions o_;
  HistoryPolicy policy_;
  mysql::HistoryWriter writer_;
};

}  // namespace

std::unique_ptr<Sink> makeMysqlHistorySink(const MysqlHistoryOptions& options, const DatabaseConfig& database,
                                           Metrics& metrics) {
  return std::make_unique<MysqlHistorySink>(options, database, metrics);
}

void registerMysqlHistorySink(StageRegistry& registry) {
  registry.add({StageKind::kSink, "sink.mysql_history",
                "jetmon_check_history rows (failures by default; per-site check_history_mode), batched",
                [](ConfigMap& m) {
                  MysqlHistoryOptions o;
                  std::string mode = m.getString("default_mode", "failures");
                  if (mode == "failures") o.default_mode = HistoryKeep::kFailures;
                  else if (mode == "status_change") o.default_mode = HistoryKeep::kStatusChange;
                  else if (mode == "sample") o.default_mode = HistoryKeep::kSample;
                  else if (mode == "all") o.default_mode = HistoryKeep::kAll;
                  else if (mode == "disabled") o.default_mode = HistoryKeep::kDisabled;
                  else
                    m.diagnostics().error(m.pathOf("default_mode"),
                                          "must be failures, status_change, sample, all or disabled");
                  o.sample_rate = static_cast<int>(m.getInt("sample_rate", 10, 1, 1'000'000));
                  o.batch_rows = static_cast<int>(m.getSize("batch_rows", 1000));
                  o.batch_ms = static_cast<int>(m.getSize("batch_ms", 250));
                  o.max_buffer_rows = static_cast<int>(m.getSize("max_buffer_rows", 200'000));
                  o.shutdown_timeout_s = static_cast<int>(m.getInt("shutdown_timeout_s", 30, 0, 3600));
                  return std::any(o);
                },
                [](const std::any& opts, StageContext& ctx) -> std::unique_ptr<Stage> {
                  return makeMysqlHistorySink(std::any_cast<MysqlHistoryOptions>(opts),
                                              requiredDatabase(ctx, "sink.mysql_history"), ctx.metrics);
                }});
}

}  // namespace tidewatch::stages
