#include "io/mysql/writer_thread.h"

#include <algorithm>
#include <cassert>

namespace tidewatch::mysql {

WriterThread::Attempt WriterThread::Attempt::retryAfter(std::chrono::milliseconds pool_retry_after) {
  return {true, std::max(pool_retry_after, kMinWait)};
}

WriterThread::~WriterThread() {
  // The subclass stops the thread in its destructor: by now its members are gone.
  assert(!thread_.joinable());
}

void WriterThread::start() { thread_ = std::thread([this] { run(); }); }

void WriterThread::stop() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable() && thread_.get_id() != std::this_thread::get_id()) thread_.join();
}

bool WriterThread::drain(std::chrono::milliseconds timeout) {
  std::unique_lock lock(mu_);
  ++drainers_;
  cv_.notify_all();
  cv_.wait_for(lock, timeout, [&] { return stopping_ || idle(); });
  --drainers_;
  return idle();
}

void WriterThread::run() {
  bool holding = false;  // the last attempt kept its work: write it again
  for (;;) {
    {
      std::unique_lock lock(mu_);
      for (;;) {
        if (stopping_) break;
        if (holding) break;
        Clock::time_point wake_at = Clock::time_point::max();
        if (take(wake_at)) break;
        // The lock is held from take() to the wait, so a producer's change either was seen
        // by take() or comes with a wake-up that finds us waiting.
        if (wake_at == Clock::time_point::max()) {
          cv_.wait(lock);
        } else {
          cv_.wait_until(lock, wake_at);
        }
      }
      if (stopping_) break;
    }
    Attempt a = write();
    std::unique_lock lock(mu_);
    holding = a.keep;
    cv_.notify_all();  // drain() callers re-check idle()
    if (a.wait.count() > 0) cv_.wait_for(lock, a.wait, [&] { return stopping_; });
  }
  abandon();
}

}  // namespace tidewatch::mysql
