// The one thread skeleton every MySQL writer runs on (the projection and history writers, each
// shard of the event store, the site runtime columns): the queue's mutex, the wake-up when
// work arrives or a batch comes due, the wait while the database is unavailable, drain and
// stop. A writer supplies only what differs: how it takes work from its queue, how it writes
// what it took, and what "nothing left" means.
//
// Threads: the writer's producers (any thread, TBB node bodies included) change the queue
// under mu() and call wake(); they never block on the database. take(), idle() run on the
// writer thread or a drain() caller with mu() held; write() and abandon() run on the writer
// thread without it, and are the only places that wait on MySQL. drain() and stop() block.
//
// While the database is unavailable write() keeps the work in hand (Attempt::keep) and says
// how long to wait: the pool's backoff (Pool::acquire's retry_after, 100 ms doubling to 5 s,
// shared by every writer), so that the writers of one daemon retry together instead of
// hammering a recovering server. stop() interrupts that wait.
//
// A subclass must call stop() in its own destructor (the thread calls its virtual functions).
#pragma once

#include <chrono>
#include <condition_variable>
#include <mutex>
#include <thread>

namespace tidewatch::mysql {

class WriterThread {
 public:
  using Clock = std::chrono::steady_clock;

  // What one write() attempt reports.
  struct Attempt {
    bool keep = false;                 // the work in hand is not written yet: write it again
    std::chrono::milliseconds wait{0}; // wait this long before the next take or write

    static Attempt done() { return {}; }
    // Database unavailable (no session, or the pool is backing off): keep the work, retry after
    // the time the pool gave (at least kMinWait).
    static Attempt retryAfter(std::chrono::milliseconds pool_retry_after);
  };
  // A floor for waits: the pool answers "no free session" with 10 ms.
  static constexpr std::chrono::milliseconds kMinWait{10};

  WriterThread(const WriterThread&) = delete;
  WriterThread& operator=(const WriterThread&) = delete;

  // Asks the writer to take everything now, ignoring its batching thresholds (draining()),
  // and blocks until idle() or `timeout`; true if idle.
  bool drain(std::chrono::milliseconds timeout);
  // Ends the thread after the attempt in progress (work still queued stays queued and is
  // handed to abandon()). Idempotent.
  void stop();

 protected:
  WriterThread() = default;
  virtual ~WriterThread();

  // Starts the thread (from the subclass constructor, once its members exist).
  void start();

  // With mu() held: moves queued work into the writer's hands and returns true, or returns
  // false and, for timed batching, sets `wake_at` (left alone = wait for wake()).
  virtual bool take(Clock::time_point& wake_at) = 0;
  // Without the lock: writes the work in hand.
  virtual Attempt write() = 0;
  // With mu() held: nothing queued and nothing in hand.
  virtual bool idle() const = 0;
  // Without the lock, after the thread stopped: report what was never written.
  virtual void abandon() {}

  std::mutex& mu() const { return mu_; }
  // Call after changing the queue (with or without mu() held).
  void wake() { cv_.notify_all(); }
  // With mu() held.
  bool draining() const { return drainers_ > 0; }
  bool stopping() const { return stopping_; }

 private:
  void run();

  mutable std::mutex mu_;
  std::condition_variable cv_;
  bool stopping_ = false;
  int drainers_ = 0;
  std::thread thread_;
};

}  // namespace tidewatch::mysql
