// mysql::EventStore: the IncidentStore (core/incident_store.h) on MySQL/MariaDB. Authoritative
// incident state in jetmon_events, one row in jetmon_event_transitions per mutation and the
// legacy site_status projection, all three in one transaction (io/mysql/event_sql.h); the
// audit-log and false-positive inserts go through the same queues, so that everything the
// incident engine writes for a site is applied in the order it was decided. The site runtime
// columns go through a SiteRuntimeWriter of its own.
//
// Threads: as IncidentStore says. Mutations are sharded by site (endpoint_id, else blog_id)
// onto writer threads (WriterThread), which apply each shard's queue strictly in order. While
// the database is unreachable a shard waits on its head mutation (pool backoff) and keeps
// queueing: nothing is dropped, everything is applied in order once the database answers.
// Completion callbacks run on the shard's writer thread and must not block.
//
// Idempotency: every mutation carries a unique idempotency_key (host/source, a random 64-bit
// run id and a sequence number), stored with the transition, audit or false-positive row it
// writes (UNIQUE index). When a connection is lost mid-write the commit may or may not have
// happened; the replay first looks the key up and reports the original outcome instead of
// writing twice.
//
// Retries: MySQL 1213 (deadlock) and 1205 (lock wait timeout) are retried locally, 3 attempts,
// 25 ms × attempt (compat §3.8); counter eventstore.mutation.retry.count.
#pragma once

#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "core/incident_store.h"

namespace tidewatch {
class Metrics;
}

namespace tidewatch::mysql {

class Pool;
class SiteRuntimeWriter;

class EventStore final : public IncidentStore {
 public:
  struct Options {
    int workers = 0;                 // 0 = automatic (one per core, 2..8)
    std::string source = "local";    // transition/audit source: the host name
    int lock_attempts = 3;
  };

  EventStore(std::shared_ptr<Pool> pool, Options options, Metrics* metrics = nullptr);
  ~EventStore() override;  // stop(): unapplied mutations are reported as failed ("shutdown")

  void submit(EventMutation m, Callback done = {}) override;
  void writeSslExpiryDate(std::uint64_t site_id, std::int64_t day) override;
  void writeLastAlertSent(std::uint64_t site_id, std::int64_t unix_ms) override;
  std::size_t backlog() const override;
  // Waits for the mutations, then for the runtime columns (each up to `timeout`).
  bool drain(std::chrono::milliseconds timeout) override;
  // Blocking read on a pooled session (call from a non-TBB thread, e.g. at startup).
  bool listOpenEvents(std::vector<OpenEvent>& out, std::string* error) override;

  void stop();

 private:
  class Shard;

  std::shared_ptr<Pool> pool_;
  Options options_;
  Metrics* metrics_;
  std::string key_prefix_;
  std::vector<std::unique_ptr<Shard>> shards_;
  std::unique_ptr<SiteRuntimeWriter> runtime_;
};

}  // namespace tidewatch::mysql
