#include "stages/sink/incidents/site_runtime_writer.h"

#include <spdlog/spdlog.h>

#include "io/mysql/pool.h"
#include "io/mysql/session.h"
#include "core/metrics.h"

namespace tidewatch::stages {

SiteRuntimeWriter::SiteRuntimeWriter(std::shared_ptr<mysql::Pool> pool, Metrics* metrics)
    : pool_(std::move(pool)), metrics_(metrics) {
  thread_ = std::thread([this] { run(); });
}

SiteRuntimeWriter::~SiteRuntimeWriter() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void SiteRuntimeWriter::sslExpiryDate(std::uint64_t site_id, std::int64_t day) {
  {
    std::lock_guard lock(mu_);
    pending_[site_id].ssl_day = day;
  }
  cv_.notify_all();
}

void SiteRuntimeWriter::lastAlertSent(std::uint64_t site_id, std::int64_t unix_ms) {
  {
    std::lock_guard lock(mu_);
    auto& u = pending_[site_id];
    u.last_alert_ms = std::max(u.last_alert_ms.value_or(0), unix_ms);
  }
  cv_.notify_all();
}

std::size_t SiteRuntimeWriter::backlog() const {
  std::lock_guard lock(mu_);
  return pending_.size() + in_flight_;
}

bool SiteRuntimeWriter::drain(std::chrono::milliseconds timeout) {
  std::unique_lock lock(mu_);
  cv_.notify_all();
  return cv_.wait_for(lock, timeout, [&] { return (pending_.empty() && in_flight_ == 0) || stopping_; });
}

bool SiteRuntimeWriter::writeBatch(std::map<std::uint64_t, Update>& batch) {
  mysql::DbError err;
  mysql::Lease lease = pool_->acquire(std::chrono::seconds(1), &err);
  if (!lease) return false;
  for (auto it = batch.begin(); it != batch.end();) {
    const Update& u = it->second;
    // Numbers only: built as text safely, and one statement per site keeps it simple — these
    // change a few times per site per year (certificate renewals, alerts).
    std::string sql = "UPDATE jetpack_monitor_sites SET ";
    bool first = true;
    if (u.ssl_day) {
      sql += "ssl_expiry_date = '" + mysql::formatUtc(*u.ssl_day * 86'400'000).substr(0, 10) + "'";
      first = false;
    }
    if (u.last_alert_ms) {
      if (!first) sql += ", ";
      sql += "last_alert_sent_at = '" + mysql::formatUtc(*u.last_alert_ms) + "'";
    }
    sql += " WHERE jetpack_monitor_site_id = " + std::to_string(it->first);
    err = lease->execute(sql);
    if (!err.ok()) {
      if (err.connectionLost()) {
        lease.reportLost();
        return false;  // keep the rest for the next attempt
      }
      spdlog::warn("sink.incidents: runtime update for site {} failed: {}", it->first, err.describe());
      if (metrics_) metrics_->counter("incidents.runtime_write.error").fetch_add(1, std::memory_order_relaxed);
    } else if (metrics_) {
      metrics_->counter("incidents.runtime_write.count").fetch_add(1, std::memory_order_relaxed);
    }
    it = batch.erase(it);
  }
  return true;
}

void SiteRuntimeWriter::run() {
  std::map<std::uint64_t, Update> batch;
  std::unique_lock lock(mu_);
  for (;;) {
    cv_.wait_for(lock, std::chrono::milliseconds(500), [&] { return stopping_ || !pending_.empty(); });
    if (pending_.empty() && batch.empty()) {
      if (stopping_) return;
      continue;
    }
    // Newer values win over a batch that failed to write.
    for (auto& [id, u] : pending_) {
      Update& b = batch[id];
      if (u.ssl_day) b.ssl_day = u.ssl_day;
      if (u.last_alert_ms) b.last_alert_ms = u.last_alert_ms;
    }
    pending_.clear();
    in_flight_ = batch.size();
    lock.unlock();
    bool ok = writeBatch(batch);
    lock.lock();
    in_flight_ = batch.size();
    if (batch.empty()) in_flight_ = 0;
    cv_.notify_all();
    if (stopping_) return;  // what is left was reported by backlog(); shutdown flushes first
    if (!ok) cv_.wait_for(lock, std::chrono::seconds(1), [&] { return stopping_; });
  }
}

}  // namespace tidewatch::stages
