#include "stages/sink/mysql_projection/mysql_projection_sink.h"

#include <chrono>
#include <stdexcept>

#include <spdlog/spdlog.h>

#include "io/mysql/pool.h"
#include "stages/mysql_connection.h"
#include "io/mysql/projection_writer.h"
#include "core/metrics.h"

namespace tidewatch::stages {
namespace {

class MysqlProjectionSink final : public Sink {
 public:
  MysqlProjectionSink(const MysqlProjectionOptions& o, const DatabaseConfig& db, Metrics& metrics)
      : o_(o),
        writer_(sharedPool(db, &metrics),
                mysql::ProjectionWriter::Options{.interval_min = o.interval_min,
                                                 .flush_interval = std::chrono::milliseconds(o.flush_interval_ms),
                                                 .spread_first_write = o.spread_start},
                &metrics) {}

  void consume(const CheckPtr& check) override {
    const ProbeRequest& req = check->request;
    if (!req.target) return;
    std::int64_t at = check->result.finished_at_ms;
    if (at <= 0) {
      at = std::chrono::duration_cast<std::chrono::milliseconds>(
               std::chrono::system_clock::now().time_since_epoch())
               .count();
    }
    writer_.record(req.target->id, req.slot, req.target->interval_s, at);
  }

  // Coalesced rows are bounded by the fleet size and never block checking, so they are not a
  // backlog the dispatcher should pause for (Sink::backlog() stays empty).

  void flush() override {
    if (!writer_.flush(std::chrono::seconds(o_.shutdown_timeout_s))) {
      spdlog::error("sink.mysql_projection: {} targets' last_checked_at not written at shutdown",
                    writer_.pending());
    }
  }

 private:
  MysqlProjectionOptions o_;
  mysql::ProjectionWriter writer_;
};

}  // namespace

std::unique_ptr<Sink> makeMysqlProjectionSink(const MysqlProjectionOptions& options,
                                              const DatabaseConfig& database, Metrics& metrics) {
  return std::make_unique<MysqlProjectionSink>(options, database, metrics);
}

void registerMysqlProjectionSink(StageRegistry& registry) {
  registry.add({StageKind::kSink, "sink.mysql_projection",
                "coarse last_checked_at freshness projection into jetpack_monitor_sites",
                [](ConfigMap& m) {
                  MysqlProjectionOptions o;
                  o.interval_min = static_cast<int>(m.getInt("interval_min", 15, 5, 15));
                  o.flush_interval_ms = static_cast<int>(m.getInt("flush_interval_ms", 10'000, 10, 600'000));
                  o.shutdown_timeout_s = static_cast<int>(m.getInt("shutdown_timeout_s", 30, 0, 3600));
                  o.spread_start = m.getBool("spread_start", true);
                  return std::any(o);
                },
                [](const std::any& opts, StageContext& ctx) -> std::unique_ptr<Stage> {
                  return makeMysqlProjectionSink(std::any_cast<MysqlProjectionOptions>(opts),
                                                 requiredDatabase(ctx, "sink.mysql_projection"), ctx.metrics);
                }});
}

}  // namespace tidewatch::stages
