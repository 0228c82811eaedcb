#include "stages/sink/incidents/shard_executor.h"

#include <spdlog/spdlog.h>

namespace tidewatch::stages {

// A bounded slice per turn so that one busy shard cannot starve the others.
constexpr int kSlice = 256;

ShardExecutor::ShardExecutor(int shards, int workers, int tick_ms, Process process, std::function<void()> tick,
                             std::atomic<std::int64_t>* backlog_gauge)
    : workers_wanted_(workers),
      tick_ms_(tick_ms),
      process_(std::move(process)),
      tick_(std::move(tick)),
      backlog_gauge_(backlog_gauge) {
  for (int i = 0; i < shards; ++i) shards_.push_back(std::make_unique<Shard>());
}

void ShardExecutor::start() {
  for (int i = 0; i < workers_wanted_; ++i) workers_.emplace_back([this] { workLoop(); });
  if (tick_ms_ > 0) ticker_ = std::thread([this] { tickLoop(tick_ms_); });
}

ShardExecutor::~ShardExecutor() { stop(); }

void ShardExecutor::open() {
  open_.store(true, std::memory_order_release);
  std::lock_guard lock(ready_mu_);
  ready_cv_.notify_all();
}

void ShardExecutor::stop() {
  {
    std::lock_guard lock(ready_mu_);
    if (stopping_) return;
    stopping_ = true;
  }
  ready_cv_.notify_all();
  tick_cv_.notify_all();
  if (ticker_.joinable()) ticker_.join();
  for (auto& t : workers_) t.join();
}

void ShardExecutor::push(Work w) {
  std::size_t idx = shardOf(w.site);
  Shard& s = *shards_[idx];
  bool schedule = false;
  queued_.fetch_add(1, std::memory_order_relaxed);
  if (backlog_gauge_) backlog_gauge_->fetch_add(1, std::memory_order_relaxed);
  {
    std::lock_guard lock(s.mu);
    s.queue.push_back(std::move(w));
    if (!s.scheduled) schedule = s.scheduled = true;
  }
  if (schedule) {
    {
      std::lock_guard lock(ready_mu_);
      ready_.push_back(idx);
    }
    ready_cv_.notify_one();
  }
}

void ShardExecutor::schedule(std::int64_t at_ms, Work w) {
  std::lock_guard lock(timers_mu_);
  timers_.emplace(at_ms, std::move(w));
}

void ShardExecutor::releaseDue(std::int64_t now_ms) {
  std::vector<Work> due;
  {
    std::lock_guard lock(timers_mu_);
    while (!timers_.empty() && timers_.begin()->first <= now_ms) {
      due.push_back(std::move(timers_.begin()->second));
      timers_.erase(timers_.begin());
    }
  }
  for (auto& w : due) push(std::move(w));
}

void ShardExecutor::workLoop() {
  for (;;) {
    std::size_t idx;
    {
      std::unique_lock lock(ready_mu_);
      ready_cv_.wait(lock, [&] { return stopping_ || (!ready_.empty() && opened()); });
      if (stopping_) return;
      idx = ready_.front();
      ready_.pop_front();
    }
    Shard& s = *shards_[idx];
    bool more = false;
    for (int n = 0; n < kSlice; ++n) {
      Work w;
      {
        std::lock_guard lock(s.mu);
        if (s.queue.empty()) {
          s.scheduled = false;
          break;
        }
        w = std::move(s.queue.front());
        s.queue.pop_front();
        more = n == kSlice - 1;
      }
      try {
        process_(s.sites, w);
      } catch (const std::exception& e) {
        // A bug in one site's handling must not stop the shard.
        spdlog::error("sink.incidents: site {}: {}", w.site, e.what());
      }
      queued_.fetch_sub(1, std::memory_order_relaxed);
      if (backlog_gauge_) backlog_gauge_->fetch_sub(1, std::memory_order_relaxed);
    }
    if (more) {
      {
        std::lock_guard lock(ready_mu_);
        ready_.push_back(idx);
      }
      ready_cv_.notify_one();
    }
  }
}

void ShardExecutor::tickLoop(int tick_ms) {
  std::unique_lock lock(ready_mu_);
  while (!stopping_) {
    // Its own condition variable: a notify_one() meant for a worker must never be taken by
    // the ticker, or a shard's work would sit until the next push.
    tick_cv_.wait_for(lock, std::chrono::milliseconds(tick_ms), [&] { return stopping_; });
    if (stopping_) break;
    lock.unlock();
    tick_();
    lock.lock();
  }
}

}  // namespace tidewatch::stages
