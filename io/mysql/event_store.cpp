#include "io/mysql/event_store.h"

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <deque>
#include <random>
#include <thread>

#include <spdlog/spdlog.h>

#include "core/metrics.h"
#include "io/mysql/event_sql.h"
#include "io/mysql/pool.h"
#include "io/mysql/session.h"
#include "io/mysql/site_runtime_writer.h"
#include "io/mysql/writer_thread.h"

namespace tidewatch::mysql {

using Status = MutationResult::Status;

namespace {

MutationResult stoppedResult() {
  MutationResult r;
  r.error = "event store stopped";
  return r;
}

}  // namespace

// One writer thread applying one shard's queue in order. The head stays in the queue while it
// is applied, so that backlog() and drain() count it.
class EventStore::Shard final : public WriterThread {
 public:
  explicit Shard(EventStore& store) : store_(store) { start(); }
  ~Shard() override { stop(); }

  // False once the shard has stopped: then nothing was taken, and the caller reports the
  // mutation as failed.
  bool push(EventMutation& m, Callback& done) {
    {
      std::lock_guard lock(mu());
      if (stopping()) return false;
      queue_.push_back({std::move(m), std::move(done)});
    }
    wake();
    return true;
  }
  std::size_t size() const {
    std::lock_guard lock(mu());
    return queue_.size();
  }

 private:
  struct Item {
    EventMutation mutation;
    Callback done;
  };

  bool take(Clock::time_point&) override {
    if (queue_.empty()) return false;
    current_ = std::move(queue_.front());
    in_hand_ = true;
    lock_attempts_ = 0;
    ambiguous_ = false;
    return true;
  }
  bool idle() const override { return queue_.empty(); }

  Attempt write() override {
    Metrics* metrics = store_.metrics_;
    DbError err;
    std::chrono::milliseconds retry_after{100};
    Lease lease = store_.pool_->acquire(std::chrono::seconds(1), &err, &retry_after);
    if (!lease) return Attempt::retryAfter(retry_after);
    DbError db;
    MutationResult r = applyMutation(*lease, current_.mutation, store_.options_.source, ambiguous_, &db);
    if (r.status == Status::kFailed && db.connectionLost()) {
      // The commit may have happened: replay with the idempotency check, at once (the pool
      // decides whether the database is back).
      lease.reportLost();
      ambiguous_ = true;
      if (metrics) metrics->counter("eventstore.mutation.reconnect.count").fetch_add(1, std::memory_order_relaxed);
      return {true, std::chrono::milliseconds(0)};
    }
    if (r.status == Status::kFailed && db.lockConflict() && ++lock_attempts_ < store_.options_.lock_attempts) {
      if (metrics) metrics->counter("eventstore.mutation.retry.count").fetch_add(1, std::memory_order_relaxed);
      return {true, std::chrono::milliseconds(25 * lock_attempts_)};
    }
    if (metrics) {
      metrics->counter(r.ok() ? "eventstore.mutation.count" : "eventstore.mutation.error")
          .fetch_add(1, std::memory_order_relaxed);
      metrics->gauge("eventstore.backlog").fetch_sub(1, std::memory_order_relaxed);
    }
    if (r.status == Status::kFailed) {
      spdlog::error("eventstore: mutation for blog {} failed: {}", current_.mutation.identity.blog_id, r.error);
    }
    if (current_.done) current_.done(r);
    in_hand_ = false;
    std::lock_guard lock(mu());
    queue_.pop_front();
    return Attempt::done();
  }

  // Shutdown: report what was never applied, so callers can count it.
  void abandon() override {
    std::deque<Item> left;
    {
      std::lock_guard lock(mu());
      left.swap(queue_);
    }
    if (in_hand_ && !left.empty()) left.front() = std::move(current_);  // the queue holds its moved-from shell
    Metrics* metrics = store_.metrics_;
    for (auto& item : left) {
      if (metrics) {
        metrics->counter("eventstore.mutation.abandoned").fetch_add(1, std::memory_order_relaxed);
        metrics->gauge("eventstore.backlog").fetch_sub(1, std::memory_order_relaxed);
      }
      if (item.done) item.done(stoppedResult());
    }
  }

  EventStore& store_;
  std::deque<Item> queue_;  // under mu()
  Item current_;            // the head, in hand (writer thread only)
  bool in_hand_ = false;
  int lock_attempts_ = 0;
  bool ambiguous_ = false;  // the last attempt lost its connection: look the key up first
};

EventStore::EventStore(std::shared_ptr<Pool> pool, Options options, Metrics* metrics)
    : pool_(std::move(pool)), options_(std::move(options)), metrics_(metrics) {
  int workers = options_.workers;
  if (workers <= 0) {
    workers = std::clamp(static_cast<int>(std::thread::hardware_concurrency()), 2, 8);
  }
  // Keys must be unique across restarts and hosts: host/source, a random 64-bit run id and a
  // per-mutation sequence number.
  std::random_device rd;
  std::uint64_t run_id = (static_cast<std::uint64_t>(rd()) << 32) ^ rd();
  char buf[24];
  std::snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(run_id));
  key_prefix_ = buf;
  for (int i = 0; i < workers; ++i) shards_.push_back(std::make_unique<Shard>(*this));
  runtime_ = std::make_unique<SiteRuntimeWriter>(pool_, metrics_);
}

EventStore::~EventStore() { stop(); }

void EventStore::stop() {
  for (auto& s : shards_) s->stop();
  runtime_->stop();
}

void EventStore::submit(EventMutation m, Callback done) {
  static std::atomic<std::uint64_t> seq{0};
  if (m.idempotency_key.empty()) {
    m.idempotency_key = key_prefix_ + "-" + std::to_string(seq.fetch_add(1, std::memory_order_relaxed));
  }
  Shard& shard = *shards_[m.identity.orderKey() % shards_.size()];
  if (!shard.push(m, done)) {
    if (done) done(stoppedResult());
    return;
  }
  if (metrics_) metrics_->gauge("eventstore.backlog").fetch_add(1, std::memory_order_relaxed);
}

void EventStore::writeSslExpiryDate(std::uint64_t site_id, std::int64_t day) { runtime_->sslExpiryDate(site_id, day); }

void EventStore::writeLastAlertSent(std::uint64_t site_id, std::int64_t unix_ms) {
  runtime_->lastAlertSent(site_id, unix_ms);
}

std::size_t EventStore::backlog() const {
  std::size_t n = runtime_->backlog();
  for (const auto& s : shards_) n += s->size();
  return n;
}

bool EventStore::drain(std::chrono::milliseconds timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  for (auto& s : shards_) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    if (!s->drain(std::max(left, std::chrono::milliseconds(0)))) return false;
  }
  return runtime_->drain(timeout);
}

bool EventStore::listOpenEvents(std::vector<OpenEvent>& out, std::string* error) {
  DbError err;
  Lease lease = pool_->acquire(std::chrono::seconds(5), &err);
  if (lease) {
    err = mysql::listOpenEvents(*lease, out);
    if (err.connectionLost()) lease.reportLost();
  }
  if (!err.ok() && error) *error = err.describe();
  return err.ok();
}

}  // namespace tidewatch::mysql
