#include "io/mysql/projection_writer.h"

#include <cppconn/connection.h>
#include <cppconn/statement.h>

#include <algorithm>
#include <cmath>

#include <spdlog/spdlog.h>

#include "io/mysql/pool.h"
#include "io/mysql/session.h"
#include "core/metrics.h"
#include "core/text.h"

namespace tidewatch::mysql {

ProjectionWriter::ProjectionWriter(std::shared_ptr<Pool> pool, Options options, Metrics* metrics)
    : pool_(std::move(pool)), o_(options), metrics_(metrics) {
  interval_s_ = static_cast<std::uint32_t>(std::clamp(o_.interval_min, 5, 15)) * 60;
  start();
}

ProjectionWriter::~ProjectionWriter() { stop(); }

void ProjectionWriter::record(std::uint64_t target_id, std::uint32_t slot, std::uint32_t site_interval_s,
                              std::int64_t checked_at_ms) {
  const auto checked_s = static_cast<std::uint32_t>(checked_at_ms / 1000);
  std::lock_guard lock(mu());
  if (slot >= slots_.size()) slots_.resize(std::max<std::size_t>(slot + 1, slots_.size() * 3 / 2));
  SlotState& s = slots_[slot];
  if (s.id != target_id) s = SlotState{target_id, 0};  // a new target in a reused slot
  const bool every_result = site_interval_s >= interval_s_;
  if (s.last_s == 0 && o_.spread_first_write && !every_result) {
    // Pretend the last write happened at a hashed point of the past interval (Fibonacci
    // hashing spreads consecutive ids evenly): the first write lands within one interval.
    const std::uint64_t h = (target_id * 0x9E3779B97F4A7C15ull) >> 32;
    s.last_s = checked_s - static_cast<std::uint32_t>(h % interval_s_);
  }
  if (!every_result && s.last_s != 0 &&
      checked_s < s.last_s + interval_s_ - static_cast<std::uint32_t>(o_.slack.count())) {
    return;
  }
  s.last_s = checked_s;
  auto [it, inserted] = pending_.try_emplace(target_id, checked_at_ms);
  if (!inserted) it->second = std::max(it->second, checked_at_ms);
  ++recorded_since_flush_;
  if (metrics_) metrics_->gauge("mysql.projection.pending").store(static_cast<std::int64_t>(pending_.size()));
}

std::size_t ProjectionWriter::pending() const {
  std::lock_guard lock(mu());
  return pending_.size() + (writing_ ? 1 : 0);
}

std::size_t ProjectionWriter::chunkSize(double rate_per_s) const {
  const double secs = std::chrono::duration<double>(o_.flush_interval).count();
  auto n = static_cast<std::size_t>(std::ceil(rate_per_s * secs * 1.25));
  return std::clamp(n, o_.min_chunk, o_.max_chunk);
}

DbError ProjectionWriter::writeRows(Session& session, const Rows& rows) {
  if (rows.empty()) return {};
  // Rows of one flush carry only a few distinct result seconds (a flush interval's worth), so
  // one `IN (…)` statement per second replaces a CASE over every id: CASE is evaluated
  // linearly per row, which made 5 000-row statements 3× slower than 500-row ones
  // (docs/benchmarks.md), while IN lists are sorted and probed by binary search.
  std::vector<std::pair<std::int64_t, std::uint64_t>> by_second;
  by_second.reserve(rows.size());
  for (const auto& [id, ms] : rows) by_second.emplace_back((ms + 999) / 1000, id);  // round up
  std::sort(by_second.begin(), by_second.end());
  std::string sql;
  for (std::size_t i = 0; i < by_second.size();) {
    const std::int64_t sec = by_second[i].first;
    sql.clear();
    sql += "UPDATE jetpack_monitor_sites SET last_checked_at = GREATEST(NOW(), '";
    sql += formatUtc(sec * 1000, UtcFormat::kSqlDatetime);
    sql += "') WHERE jetpack_monitor_site_id IN (";
    bool first = true;
    for (; i < by_second.size() && by_second[i].first == sec; ++i) {
      if (!first) sql += ',';
      first = false;
      sql += std::to_string(by_second[i].second);
    }
    sql += ")";
    DbError err = session.execute(sql);
    if (!err.ok()) return err;
  }
  return {};
}

ProjectionWriter::Rows ProjectionWriter::writeChunk(Rows rows, bool* connection_lost,
                                                   std::chrono::milliseconds* retry_after_out) {
  std::sort(rows.begin(), rows.end());
  Rows failed;
  std::size_t written = 0;
  for (std::size_t off = 0; off < rows.size(); off += o_.statement_rows) {
    Rows part(rows.begin() + off, rows.begin() + std::min(rows.size(), off + o_.statement_rows));
    if (*connection_lost) {
      failed.insert(failed.end(), part.begin(), part.end());
      continue;
    }
    DbError err;
    std::chrono::milliseconds retry_after{0};
    Lease lease = pool_->acquire(std::chrono::seconds(2), &err, &retry_after);
    if (lease) {
      for (int attempt = 1;; ++attempt) {
        err = writeRows(*lease, part);
        if (!err.lockConflict() || attempt >= o_.lock_attempts) break;
        if (metrics_) metrics_->counter("mysql.projection.retry").fetch_add(1, std::memory_order_relaxed);
        std::this_thread::sleep_for(std::chrono::milliseconds(25 * attempt));
      }
      if (err.connectionLost()) lease.reportLost();
    }
    if (err.ok()) {
      written += part.size();
      continue;
    }
    if (err.connectionLost()) {
      *connection_lost = true;
      *retry_after_out = lease ? Pool::kMinBackoff : retry_after;
    }
    if (metrics_) metrics_->counter("mysql.projection.error").fetch_add(1, std::memory_order_relaxed);
    if (!warned_) {  // once per outage, not once per retry
      spdlog::warn("mysql.projection: {} rows not written ({}); kept coalesced in memory and retried",
                   part.size(), err.describe());
      warned_ = true;
    }
    failed.insert(failed.end(), part.begin(), part.end());
  }
  if (metrics_) metrics_->counter("mysql.projection.rows").fetch_add(written, std::memory_order_relaxed);
  if (failed.empty() && warned_) {
    spdlog::info("mysql.projection: writing again");
    warned_ = false;
  }
  return failed;
}

void ProjectionWriter::requeue(const Rows& rows) {
  for (const auto& [id, ms] : rows) {
    auto [it, inserted] = pending_.try_emplace(id, ms);
    if (!inserted) it->second = std::max(it->second, ms);  // a newer result wins
  }
}

bool ProjectionWriter::take(Clock::time_point& wake_at) {
  const auto now = Clock::now();
  const bool all = draining() && !pending_.empty();
  if (!all && !retry_ && now < last_flush_ + o_.flush_interval) {
    wake_at = last_flush_ + o_.flush_interval;
    return false;
  }
  const double elapsed = std::max(0.001, std::chrono::duration<double>(now - last_flush_).count());
  const double rate = static_cast<double>(recorded_since_flush_) / elapsed;
  last_flush_ = now;
  recorded_since_flush_ = 0;
  retry_ = false;
  const std::size_t chunk = all ? pending_.size() : chunkSize(rate);
  rows_.clear();
  rows_.reserve(std::min(chunk, pending_.size()));
  for (auto it = pending_.begin(); it != pending_.end() && rows_.size() < chunk;) {
    rows_.emplace_back(it->first, it->second);
    it = pending_.erase(it);
  }
  if (rows_.empty()) {
    wake_at = last_flush_ + o_.flush_interval;
    return false;
  }
  writing_ = true;
  return true;
}

WriterThread::Attempt ProjectionWriter::write() {
  auto t0 = Clock::now();
  bool lost = false;
  std::chrono::milliseconds retry_after{0};
  Rows failed = writeChunk(std::move(rows_), &lost, &retry_after);
  if (metrics_) {
    metrics_->gauge("mysql.projection.flush_ms")
        .store(std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - t0).count());
  }
  std::lock_guard lock(mu());
  requeue(failed);
  writing_ = false;
  retry_ = lost;
  if (metrics_) metrics_->gauge("mysql.projection.pending").store(static_cast<std::int64_t>(pending_.size()));
  // The failed rows are back in pending_ (coalesced with newer results); while the database is
  // away the next chunk waits for the pool's backoff.
  return lost ? Attempt{false, std::max(retry_after, kMinWait)} : Attempt::done();
}

}  // namespace tidewatch::mysql
