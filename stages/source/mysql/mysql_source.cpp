#include "stages/source/mysql/mysql_source.h"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <stdexcept>
#include <thread>

#include <spdlog/spdlog.h>

#include "io/mysql/fleet_reader.h"
#include "io/mysql/pool.h"
#include "stages/mysql_connection.h"
#include "core/metrics.h"

namespace tidewatch::stages {
namespace {

using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;
using std::chrono::seconds;

class MysqlTargetSource final : public TargetSource {
 public:
  MysqlTargetSource(MysqlSourceOptions o, const DatabaseConfig& db, Metrics& metrics)
      : o_(o),
        pool_(sharedPool(db, &metrics)),
        targets_(metrics.gauge("source.mysql.targets")),
        load_ms_(metrics.gauge("source.mysql.load_ms")),
        loads_(metrics.counter("source.mysql.load.count")),
        load_errors_(metrics.counter("source.mysql.load.error")),
        deferred_(metrics.counter("source.mysql.reload.deferred")) {
    query_.bucket_min = o_.bucket_min;
    query_.bucket_max = o_.bucket_max;
    query_.page_size = o_.page_size;
  }

  ~MysqlTargetSource() override { stop(); }

  void start(TargetListener& listener) override {
    listener_ = &listener;
    thread_ = std::thread([this] { run(); });
  }

  void stop() override {
    {
      std::lock_guard lock(mu_);
      stopping_ = true;
    }
    cv_.notify_all();
    if (thread_.joinable()) thread_.join();
  }

  void refresh() override {
    {
      std::lock_guard lock(mu_);
      refresh_requested_ = true;
    }
    cv_.notify_all();
  }

  void setUnderPressure(bool pressure) override { pressure_.store(pressure, std::memory_order_relaxed); }

 private:
  // Sleeps until `until`, a stop, or a refresh request. Returns false when stopping.
  bool waitUntil(Clock::time_point until) {
    std::unique_lock lock(mu_);
    cv_.wait_until(lock, until, [&] { return stopping_ || refresh_requested_; });
    return !stopping_;
  }

  seconds periodicInterval(std::uint64_t active) const {
    // Large fleets are re-read less often: a full read costs ~active/70 000 s of one core
    // (measured, docs/benchmarks.md), so active/50 keeps reloads under ~2% of a core.
    std::int64_t s = std::max<std::int64_t>(o_.reload_interval_s, static_cast<std::int64_t>(active / 50));
    return seconds(std::min<std::int64_t>(s, o_.max_reload_interval_s));
  }

  void run() {
    bool need_load = true;
    bool loaded_once = false;
    mysql::FleetFingerprint fingerprint;
    Clock::time_point next_poll = Clock::now();
    Clock::time_point next_reload = Clock::time_point::max();

    while (true) {
      {
        std::lock_guard lock(mu_);
        if (stopping_) return;
        if (refresh_requested_) {
          refresh_requested_ = false;
          need_load = true;
        }
      }
      auto now = Clock::now();
      if (!need_load && now >= next_reload) {
        if (pressure_.load(std::memory_order_relaxed)) {
          deferred_.fetch_add(1, std::memory_order_relaxed);
          next_reload = now + seconds(o_.pressure_defer_s);
        } else {
          need_load = true;
        }
      }

      if (!need_load && now < next_poll) {
        if (!waitUntil(std::min(next_poll, next_reload))) return;
        continue;
      }

      mysql::DbError err;
      milliseconds retry_after{0};
      mysql::Lease lease = pool_->acquire(seconds(5), &err, &retry_after);
      if (!lease) {
        if (!waitUntil(Clock::now() + std::max(retry_after, milliseconds(100)))) return;
        continue;
      }

      mysql::FleetFingerprint current;
      err = mysql::readFingerprint(*lease, query_, current);
      if (err.ok() && !need_load) {
        if (!(current == fingerprint)) {
          spdlog::info("source.mysql: active rows {} -> {} (max id {} -> {}): reloading",
                       fingerprint.active, current.active, fingerprint.max_id, current.max_id);
          need_load = true;
        } else {
          next_poll = Clock::now() + seconds(current.active == 0 ? o_.empty_poll_s : o_.count_poll_s);
        }
      }
      if (err.ok() && need_load) {
        auto t0 = Clock::now();
        std::vector<Target> fleet;
        mysql::FleetLoadStats stats;
        err = mysql::loadFleet(*lease, query_, interner_, fleet, &stats);
        if (err.ok()) {
          lease = mysql::Lease();  // hand the session back before the (CPU-only) merge
          auto ms = std::chrono::duration_cast<milliseconds>(Clock::now() - t0).count();
          load_ms_.store(ms, std::memory_order_relaxed);
          targets_.store(static_cast<std::int64_t>(fleet.size()), std::memory_order_relaxed);
          loads_.fetch_add(1, std::memory_order_relaxed);
          spdlog::info("source.mysql: loaded {} targets (buckets {}-{}, {} pages, {} with own rules, "
                       "{} distinct rule sets) in {} ms",
                       fleet.size(), o_.bucket_min, o_.bucket_max, stats.pages, stats.custom_configs,
                       interner_.size(), ms);
          if (stats.bad_json) {
            spdlog::warn("source.mysql: {} rows with malformed JSON settings (ignored)", stats.bad_json);
          }
          // The fingerprint read before the load: a change during the load shows up at the
          // next poll and triggers another load, never a missed one.
          fingerprint = current;
          const std::uint64_t active = fleet.size();
          listener_->replaceFleet(std::move(fleet));
          loaded_once = true;
          need_load = false;
          now = Clock::now();
          next_poll = now + seconds(active == 0 ? o_.empty_poll_s : o_.count_poll_s);
          next_reload = now + periodicInterval(active);
        }
      }
      if (!err.ok()) {
        load_errors_.fetch_add(1, std::memory_order_relaxed);
        if (err.connectionLost()) lease.reportLost();
        spdlog::warn("source.mysql: {} ({}); keeping the {} fleet", err.describe(),
                     need_load ? "load failed" : "poll failed", loaded_once ? "current" : "empty");
        lease = mysql::Lease();
        if (!waitUntil(Clock::now() + seconds(1))) return;
      }
    }
  }

  MysqlSourceOptions o_;
  std::shared_ptr<mysql::Pool> pool_;
  mysql::FleetQuery query_;
  mysql::SiteConfigInterner interner_;  // loader thread only
  TargetListener* listener_ = nullptr;
  std::thread thread_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool stopping_ = false;
  bool refresh_requested_ = false;
  std::atomic<bool> pressure_{false};
  std::atomic<std::int64_t>& targets_;
  std::atomic<std::int64_t>& load_ms_;
  std::atomic<std::uint64_t>& loads_;
  std::atomic<std::uint64_t>& load_errors_;
  std::atomic<std::uint64_t>& deferred_;
};

}  // namespace

std::unique_ptr<TargetSource> makeMysqlTargetSource(const MysqlSourceOptions& options,
                                                    const DatabaseConfig& database, Metrics& metrics) {
  return std::make_unique<MysqlTargetSource>(options, database, metrics);
}

void registerMysqlSource(StageRegistry& registry) {
  registry.add(
      {StageKind::kSource, "source.mysql",
       "active rows of jetpack_monitor_sites in a bucket range (keyset-paged, polled, reloaded)",
       [](ConfigMap& m) {
         MysqlSourceOptions o;
         o.bucket_min = static_cast<std::uint16_t>(m.getInt("bucket_min", 0, 0, 65535));
         o.bucket_max = static_cast<std::uint16_t>(m.getInt("bucket_max", 65535, 0, 65535));
         if (o.bucket_max < o.bucket_min) {
           m.diagnostics().error(m.pathOf("bucket_max"), "must be >= bucket_min");
         }
         o.page_size = static_cast<std::size_t>(m.getSize("page_size", 5000));
         o.count_poll_s = static_cast<int>(m.getInt("count_poll_s", 30, 1, 3600));
         o.empty_poll_s = static_cast<int>(m.getInt("empty_poll_s", 5, 1, 3600));
         o.reload_interval_s = static_cast<int>(m.getInt("reload_interval_s", 300, 1, 86400));
         o.max_reload_interval_s = static_cast<int>(m.getInt("max_reload_interval_s", 1800, 1, 86400));
         o.pressure_defer_s = static_cast<int>(m.getInt("pressure_defer_s", 60, 1, 3600));
         return std::any(o);
       },
       [](const std::any& opts, StageContext& ctx) -> std::unique_ptr<Stage> {
         return makeMysqlTargetSource(std::any_cast<MysqlSourceOptions>(opts),
                                      requiredDatabase(ctx, "pipeline.source: source.mysql"), ctx.metrics);
       }});
}

}  // namespace tidewatch::stages
