// The legacy freshness projection: jetpack_monitor_sites.last_checked_at, written coarsely
// (compat §1.12, §11.5) so that a healthy check costs the database ~nothing.
//
// Per target at most once per projection interval (5–15 min, default 15, 2 s slack), or every
// result when the site's own interval is at least that long. Due values are coalesced in
// memory per target (bounded by the number of sites, also during a database outage) and
// flushed by one writer thread, at most one flush in flight: every `flush_interval` a chunk of
// clamp(ceil(rate × interval × 1.25), 5 000, 50 000) rows, in multi-row UPDATEs of ≤ 1 000
// rows (one `WHERE id IN (…)` per distinct result second; ascending ids, to keep lock order
// stable against event transactions). Deadlocks and lock waits are retried (3 attempts); rows that still fail are
// put back unless a newer value arrived meanwhile.
//
// Start-up spread (`spread_first_write`, on in sink.mysql_projection): the first result of
// each target after a start is written at a point of the projection interval chosen by a hash
// of its id, not at once — otherwise a cold start of 2 M five-minute sites writes every row in
// its first five minutes (~7 000 rows/s, most of a core of MariaDB) instead of the steady
// 2 200 rows/s. The price: after a restart a row's last_checked_at may lag by up to one
// projection interval more than usual, once.
//
// Written value: GREATEST(NOW(), result time rounded up to the second) — the commit time,
// never earlier than the check it reports, even if the database clock lags ours.
//
// While the database is away the rows stay coalesced in memory and the writer retries on the
// pool's backoff (WriterThread) rather than every interval.
//
// Threads: record() is CPU-only (a short mutex) and may run on a TBB thread; flush() blocks
// (shutdown).
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <unordered_map>
#include <vector>

#include "io/mysql/db_error.h"
#include "io/mysql/writer_thread.h"

namespace tidewatch {
class Metrics;
}

namespace tidewatch::mysql {

class Pool;
class Session;

class ProjectionWriter final : public WriterThread {
 public:
  struct Options {
    int interval_min = 15;                                    // clamped to 5..15
    std::chrono::milliseconds flush_interval{10'000};
    std::size_t min_chunk = 5'000;
    std::size_t max_chunk = 50'000;
    std::size_t statement_rows = 1'000;
    std::chrono::seconds slack{2};
    int lock_attempts = 3;
    bool spread_first_write = false;  // see "Start-up spread" above
  };

  ProjectionWriter(std::shared_ptr<Pool> pool, Options options, Metrics* metrics = nullptr);
  ~ProjectionWriter() override;  // stop(): does not flush; call flush() first

  // A completed check of `target_id`. `slot` is the target's stable TargetTable index (keeps
  // the per-target bookkeeping in a flat array); `site_interval_s` its check interval.
  void record(std::uint64_t target_id, std::uint32_t slot, std::uint32_t site_interval_s,
              std::int64_t checked_at_ms);

  std::size_t pending() const;
  // Writes everything pending now, ignoring chunk sizes; true if all of it was written
  // before `timeout`.
  bool flush(std::chrono::milliseconds timeout) { return drain(timeout); }

  // Writes these rows (id → result time in ms) in as few UPDATEs as their distinct result
  // seconds allow; exposed for benchmarks. Stops at the first error (rows are idempotent).
  static DbError writeRows(Session& session, const std::vector<std::pair<std::uint64_t, std::int64_t>>& rows);

 private:
  using Rows = std::vector<std::pair<std::uint64_t, std::int64_t>>;
  struct SlotState {
    std::uint64_t id = 0;
    std::uint32_t last_s = 0;  // result time (unix s) last projected
  };
  bool take(Clock::time_point& wake_at) override;
  Attempt write() override;
  bool idle() const override { return pending_.empty() && !writing_; }
  std::size_t chunkSize(double rate_per_s) const;
  // Returns the rows that could not be written; `retry_after` the pool's backoff if the
  // connection was lost.
  Rows writeChunk(Rows rows, bool* connection_lost, std::chrono::milliseconds* retry_after);
  void requeue(const Rows& rows);  // under mu()

  std::shared_ptr<Pool> pool_;
  Options o_;
  Metrics* metrics_;
  std::uint32_t interval_s_;

  // Under mu():
  std::vector<SlotState> slots_;
  std::unordered_map<std::uint64_t, std::int64_t> pending_;  // target id → result time (ms)
  std::uint64_t recorded_since_flush_ = 0;
  Clock::time_point last_flush_ = Clock::now();
  bool retry_ = false;    // the last chunk lost its connection: the next one goes after the backoff
  bool writing_ = false;
  // Writer thread only:
  Rows rows_;             // the chunk in hand
  bool warned_ = false;
};

}  // namespace tidewatch::mysql
