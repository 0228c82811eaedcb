// Where the incident engine runs: sites sharded by id (site mod shards) onto queues, and a
// small pool of the sink's own worker threads that takes one shard at a time, so that a
// site's inputs are decided in order and a slow verifier or database only delays its own
// shard; a ticker thread for the correlation window and the held-failure timers.
//
// Threads: push(), schedule(), releaseDue() and queued() may be called from any thread (TBB
// node bodies, I/O threads delivering verdicts, the ticker); they take short mutexes only.
// `process` runs on a worker with the shard's site map, which only that worker touches
// while it holds the shard. Workers start taking work once open() is called (restart
// recovery fills the site maps before that, through sitesOf()). stop() joins every thread.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <thread>
#include <unordered_map>
#include <vector>

#include "pipeline/verification.h"
#include "stages/sink/incidents/site_state.h"

namespace tidewatch::stages {

// One input of the engine.
struct Work {
  enum class Kind : std::uint8_t { kResult, kVerified, kHeld, kDelivered };
  Kind kind = Kind::kResult;
  CheckPtr check;
  std::uint64_t site = 0;
  std::uint32_t generation = 0;
  std::shared_ptr<Verification> verification;
  bool delivered = false;         // kDelivered
  std::int64_t handoff_ms = 0;    // kDelivered: when the alert left the engine
  std::int64_t previous_ms = 0;   // kDelivered: the cooldown anchor before that
};

class ShardExecutor {
 public:
  using Sites = std::unordered_map<std::uint64_t, SiteState>;
  using Process = std::function<void(Sites&, Work&)>;

  // `tick` runs every `tick_ms` on the ticker thread (0 = no ticker: the caller ticks).
  // `backlog_gauge` (optional) follows queued().
  ShardExecutor(int shards, int workers, int tick_ms, Process process, std::function<void()> tick,
                std::atomic<std::int64_t>* backlog_gauge);
  // Starts the workers and the ticker (once everything `process` and `tick` use exists).
  void start();
  ~ShardExecutor();
  ShardExecutor(const ShardExecutor&) = delete;
  ShardExecutor& operator=(const ShardExecutor&) = delete;

  // Before open() only: the site map of `site`'s shard.
  Sites& sitesOf(std::uint64_t site) { return shards_[shardOf(site)]->sites; }
  // The workers may start.
  void open();
  bool opened() const { return open_.load(std::memory_order_acquire); }

  void push(Work w);
  // Pushes `w` once releaseDue() is called with a time at or after `at_ms`.
  void schedule(std::int64_t at_ms, Work w);
  void releaseDue(std::int64_t now_ms);
  // Inputs queued or being processed.
  std::int64_t queued() const { return queued_.load(std::memory_order_relaxed); }
  void stop();

 private:
  struct Shard {
    std::mutex mu;
    std::deque<Work> queue;
    bool scheduled = false;
    Sites sites;  // worker-owned (one worker at a time)
  };
  std::size_t shardOf(std::uint64_t site) const { return static_cast<std::size_t>(site % shards_.size()); }
  void workLoop();
  void tickLoop(int tick_ms);

  int workers_wanted_;
  int tick_ms_;
  Process process_;
  std::function<void()> tick_;
  std::atomic<std::int64_t>* backlog_gauge_;
  std::vector<std::unique_ptr<Shard>> shards_;

  std::mutex ready_mu_;
  std::condition_variable ready_cv_;
  std::condition_variable tick_cv_;
  std::deque<std::size_t> ready_;
  bool stopping_ = false;
  std::atomic<bool> open_{false};
  std::atomic<std::int64_t> queued_{0};

  std::mutex timers_mu_;
  std::multimap<std::int64_t, Work> timers_;

  std::vector<std::thread> workers_;
  std::thread ticker_;
};

}  // namespace tidewatch::stages
