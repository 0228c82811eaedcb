#include "io/mysql/site_runtime_writer.h"

#include <algorithm>

#include <spdlog/spdlog.h>

#include "core/metrics.h"
#include "core/text.h"
#include "io/mysql/pool.h"
#include "io/mysql/session.h"

namespace tidewatch::mysql {

SiteRuntimeWriter::SiteRuntimeWriter(std::shared_ptr<Pool> pool, Metrics* metrics)
    : pool_(std::move(pool)), metrics_(metrics) {
  start();
}

SiteRuntimeWriter::~SiteRuntimeWriter() { stop(); }

void SiteRuntimeWriter::sslExpiryDate(std::uint64_t site_id, std::int64_t day) {
  {
    std::lock_guard lock(mu());
    pending_[site_id].ssl_day = day;
  }
  wake();
}

void SiteRuntimeWriter::lastAlertSent(std::uint64_t site_id, std::int64_t unix_ms) {
  {
    std::lock_guard lock(mu());
    auto& u = pending_[site_id];
    u.last_alert_ms = std::max(u.last_alert_ms.value_or(0), unix_ms);
  }
  wake();
}

std::size_t SiteRuntimeWriter::backlog() const {
  std::lock_guard lock(mu());
  return pending_.size() + batch_.size();
}

void SiteRuntimeWriter::merge(std::map<std::uint64_t, Update>& into, std::map<std::uint64_t, Update>& from) {
  for (auto& [id, u] : from) {
    Update& b = into[id];
    if (u.ssl_day) b.ssl_day = u.ssl_day;
    if (u.last_alert_ms) b.last_alert_ms = u.last_alert_ms;
  }
  from.clear();
}

bool SiteRuntimeWriter::take(Clock::time_point&) {
  if (pending_.empty()) return false;
  merge(batch_, pending_);
  return true;
}

WriterThread::Attempt SiteRuntimeWriter::write() {
  {
    // A retry writes what arrived meanwhile too.
    std::lock_guard lock(mu());
    merge(batch_, pending_);
  }
  DbError err;
  std::chrono::milliseconds retry_after{0};
  Lease lease = pool_->acquire(std::chrono::seconds(1), &err, &retry_after);
  if (!lease) return Attempt::retryAfter(retry_after);
  // batch_ is the writer thread's own: producers touch pending_ only; backlog() reads its
  // size under the lock, so erase under it.
  for (;;) {
    std::uint64_t site;
    Update u;
    {
      std::lock_guard lock(mu());
      if (batch_.empty()) break;
      site = batch_.begin()->first;
      u = batch_.begin()->second;
    }
    // Numbers only: built as text safely.
    std::string sql = "UPDATE jetpack_monitor_sites SET ";
    bool first = true;
    if (u.ssl_day) {
      sql += "ssl_expiry_date = '" + formatUtc(*u.ssl_day * 86'400'000, UtcFormat::kSqlDatetime).substr(0, 10) + "'";
      first = false;
    }
    if (u.last_alert_ms) {
      if (!first) sql += ", ";
      sql += "last_alert_sent_at = '" + formatUtc(*u.last_alert_ms, UtcFormat::kSqlDatetime) + "'";
    }
    sql += " WHERE jetpack_monitor_site_id = " + std::to_string(site);
    err = lease->execute(sql);
    if (!err.ok()) {
      if (err.connectionLost()) {
        lease.reportLost();
        return Attempt::retryAfter(Pool::kMinBackoff);  // keep the rest for the next attempt
      }
      spdlog::warn("sink.incidents: runtime update for site {} failed: {}", site, err.describe());
      if (metrics_) metrics_->counter("incidents.runtime_write.error").fetch_add(1, std::memory_order_relaxed);
    } else if (metrics_) {
      metrics_->counter("incidents.runtime_write.count").fetch_add(1, std::memory_order_relaxed);
    }
    std::lock_guard lock(mu());
    batch_.erase(site);
  }
  return Attempt::done();
}

}  // namespace tidewatch::mysql
