#include "io/mysql/history_writer.h"

#include <cppconn/connection.h>
#include <cppconn/prepared_statement.h>
#include <cppconn/resultset.h>

#include <algorithm>
#include <thread>

#include <spdlog/spdlog.h>

#include "io/mysql/pool.h"
#include "io/mysql/session.h"
#include "core/metrics.h"
#include "core/text.h"

namespace tidewatch::mysql {

HistoryWriter::HistoryWriter(std::shared_ptr<Pool> pool, Options options, Metrics* metrics)
    : pool_(std::move(pool)), o_(options), metrics_(metrics) {
  start();
}

HistoryWriter::~HistoryWriter() { stop(); }

bool HistoryWriter::add(const HistoryRow& row) {
  bool due = false;
  {
    std::lock_guard lock(mu());
    if (buffer_.size() >= o_.max_buffer_rows) {
      ++dropped_;
      if (metrics_) metrics_->counter("mysql.history.dropped").fetch_add(1, std::memory_order_relaxed);
      return false;
    }
    // The first row starts the batch delay, a full batch leaves at once: both need the writer.
    if (buffer_.empty()) oldest_ = Clock::now();
    buffer_.push_back(row);
    due = buffer_.size() == 1 || buffer_.size() == o_.batch_rows;
  }
  if (due) wake();
  return true;
}

std::size_t HistoryWriter::backlog() const {
  std::lock_guard lock(mu());
  return buffer_.size() + in_flight_;
}

std::uint64_t HistoryWriter::dropped() const {
  std::lock_guard lock(mu());
  return dropped_;
}

DbError HistoryWriter::insertRows(Session& session, const std::vector<HistoryRow>& rows) {
  if (rows.empty()) return {};
  std::string sql;
  sql.reserve(rows.size() * 96 + 200);
  sql += "INSERT INTO jetmon_check_history (blog_id, source_site_id, request_method, http_code, error_code, "
         "rtt_ms, dns_ms, tcp_ms, tls_ms, ttfb_ms, checked_at) VALUES ";
  for (std::size_t i = 0; i < rows.size(); ++i) {
    const HistoryRow& r = rows[i];
    if (i) sql += ",";
    sql += "(" + std::to_string(r.blog_id) + "," + std::to_string(r.source_site_id) + "," +
           (r.head ? "'HEAD'" : "'GET'") + "," + std::to_string(r.http_code) + "," +
           std::to_string(r.error_code) + "," + std::to_string(r.rtt_ms) + "," + std::to_string(r.dns_ms) +
           "," + std::to_string(r.tcp_ms) + "," + std::to_string(r.tls_ms) + "," +
           std::to_string(r.ttfb_ms) + ",'" + formatUtc(r.checked_at_ms, UtcFormat::kSqlDatetime) + "')";
  }
  return session.execute(sql);
}

DbError HistoryWriter::batchExists(Session& session, const HistoryRow& r, bool* exists) {
  *exists = false;
  return session.run([&](sql::Connection& c) {
    std::unique_ptr<sql::PreparedStatement> ps(c.prepareStatement(
        "SELECT 1 FROM jetmon_check_history WHERE blog_id = ? AND checked_at = ? AND source_site_id = ? "
        "AND http_code = ? AND error_code = ? AND rtt_ms = ? AND ttfb_ms = ? LIMIT 1"));
    ps->setUInt64(1, r.blog_id);
    ps->setString(2, formatUtc(r.checked_at_ms, UtcFormat::kSqlDatetime));
    ps->setUInt64(3, r.source_site_id);
    ps->setInt(4, r.http_code);
    ps->setInt(5, r.error_code);
    ps->setUInt(6, r.rtt_ms);
    ps->setUInt(7, r.ttfb_ms);
    std::unique_ptr<sql::ResultSet> rs(ps->executeQuery());
    *exists = rs->next();
  });
}

bool HistoryWriter::take(Clock::time_point& wake_at) {
  if (buffer_.empty()) return false;
  if (buffer_.size() < o_.batch_rows && !draining() && Clock::now() < oldest_ + o_.batch_delay) {
    wake_at = oldest_ + o_.batch_delay;
    return false;
  }
  const std::size_t n = std::min(buffer_.size(), o_.batch_rows);
  batch_.assign(buffer_.begin(), buffer_.begin() + static_cast<std::ptrdiff_t>(n));
  buffer_.erase(buffer_.begin(), buffer_.begin() + static_cast<std::ptrdiff_t>(n));
  in_flight_ = batch_.size();
  oldest_ = Clock::now();
  ambiguous_ = false;
  if (metrics_) metrics_->gauge("mysql.history.backlog").store(static_cast<std::int64_t>(buffer_.size()));
  return true;
}

void HistoryWriter::finishBatch() {
  batch_.clear();
  ambiguous_ = false;
  std::lock_guard lock(mu());
  in_flight_ = 0;
}

WriterThread::Attempt HistoryWriter::write() {
  DbError err;
  std::chrono::milliseconds retry_after{100};
  Lease lease = pool_->acquire(std::chrono::seconds(2), &err, &retry_after);
  if (lease && ambiguous_) {
    bool exists = false;
    err = batchExists(*lease, batch_.front(), &exists);
    if (err.ok() && exists) {
      // Committed before the connection dropped: do not write it twice.
      if (metrics_) metrics_->counter("mysql.history.rows").fetch_add(batch_.size(), std::memory_order_relaxed);
      finishBatch();
      return Attempt::done();
    }
  }
  if (lease && err.ok()) {
    for (int attempt = 1;; ++attempt) {
      err = insertRows(*lease, batch_);
      if (!err.lockConflict() || attempt >= o_.lock_attempts) break;
      std::this_thread::sleep_for(std::chrono::milliseconds(25 * attempt));
    }
  }
  if (err.ok()) {
    if (metrics_) metrics_->counter("mysql.history.rows").fetch_add(batch_.size(), std::memory_order_relaxed);
    finishBatch();
    return Attempt::done();
  }
  if (lease && err.connectionLost()) {
    lease.reportLost();
    ambiguous_ = true;
  }
  if (metrics_) metrics_->counter("mysql.history.error").fetch_add(1, std::memory_order_relaxed);
  if (!err.connectionLost() && !err.lockConflict()) {
    // A batch the server refuses (not a transient condition) would block history forever.
    spdlog::error("mysql.history: dropping a batch of {} rows: {}", batch_.size(), err.describe());
    if (metrics_) metrics_->counter("mysql.history.dropped").fetch_add(batch_.size(), std::memory_order_relaxed);
    finishBatch();
    return Attempt::done();
  }
  return Attempt::retryAfter(lease ? Pool::kMinBackoff : retry_after);
}

}  // namespace tidewatch::mysql
