// jetmon_check_history rows, batched (1 000 rows or 250 ms) into multi-row INSERTs by one
// writer thread (compat §1.6, §1.12).
//
// Memory is bounded: beyond `max_buffer_rows` queued rows (a database outage, a flood of
// failures) new rows are dropped and counted (metric mysql.history.dropped) — history is a
// diagnostic record, and checking must never wait for it.
//
// A batch whose INSERT lost its connection may or may not have committed; before writing it
// again the writer looks for the batch's first row (same site, second, codes and timings),
// so a lost acknowledgement does not duplicate the batch.
//
// While the database is away the batch in hand waits for the pool's backoff (WriterThread).
//
// Threads: add() is CPU-only (short mutex), callable from TBB threads; flush() blocks.
#pragma once

#include <chrono>
#include <cstdint>
#include <deque>
#include <memory>
#include <vector>

#include "io/mysql/db_error.h"
#include "io/mysql/writer_thread.h"

namespace tidewatch {
class Metrics;
}

namespace tidewatch::mysql {

class Pool;
class Session;

struct HistoryRow {
  std::uint64_t blog_id = 0;
  std::uint64_t source_site_id = 0;  // target id
  bool head = false;                 // request_method HEAD (else GET)
  std::int16_t http_code = 0;
  std::uint8_t error_code = 0;
  std::uint32_t rtt_ms = 0, dns_ms = 0, tcp_ms = 0, tls_ms = 0, ttfb_ms = 0;
  std::int64_t checked_at_ms = 0;    // the result's time (batched rows use it, compat §1.6)
};

class HistoryWriter final : public WriterThread {
 public:
  struct Options {
    std::size_t batch_rows = 1'000;
    std::chrono::milliseconds batch_delay{250};
    std::size_t max_buffer_rows = 200'000;
    int lock_attempts = 3;
  };

  HistoryWriter(std::shared_ptr<Pool> pool, Options options, Metrics* metrics = nullptr);
  ~HistoryWriter() override;

  // Queues a row; false if the buffer is full (the row is dropped and counted).
  bool add(const HistoryRow& row);
  std::size_t backlog() const;
  std::uint64_t dropped() const;
  bool flush(std::chrono::milliseconds timeout) { return drain(timeout); }

  static DbError insertRows(Session& session, const std::vector<HistoryRow>& rows);
  static DbError batchExists(Session& session, const HistoryRow& first, bool* exists);

 private:
  bool take(Clock::time_point& wake_at) override;
  Attempt write() override;
  bool idle() const override { return buffer_.empty() && in_flight_ == 0; }
  void finishBatch();

  std::shared_ptr<Pool> pool_;
  Options o_;
  Metrics* metrics_;
  // Under mu():
  std::deque<HistoryRow> buffer_;
  std::size_t in_flight_ = 0;
  Clock::time_point oldest_{};  // when the oldest buffered row arrived (or the last batch left)
  std::uint64_t dropped_ = 0;
  // Writer thread only:
  std::vector<HistoryRow> batch_;  // taken from the buffer; kept until written
  bool ambiguous_ = false;         // the last attempt may have committed
};

}  // namespace tidewatch::mysql
