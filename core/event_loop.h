// The pipeline's view of the I/O event loop: post work and run timers. The daemon's
// implementation is io::AsioEventLoop (an asio::io_context run by a few threads); stages that
// do network I/O get that io_context from StageContext::asio, never by casting this
// interface. pipeline/ itself stays free of Asio.
//
// Every method is thread-safe. Callbacks run on a loop thread and must not block.
#pragma once

#include <chrono>
#include <cstddef>
#include <functional>
#include <memory>

namespace tidewatch {

class EventLoop {
 public:
  virtual ~EventLoop() = default;

  virtual void post(std::function<void()> fn) = 0;

  // A one-shot timer; cancel() is best-effort (a callback already queued still runs).
  class Timer {
   public:
    virtual ~Timer() = default;
    virtual void cancel() = 0;
  };
  virtual std::unique_ptr<Timer> runAfter(std::chrono::nanoseconds delay,
                                          std::function<void()> fn) = 0;

  // Fire-and-forget timer: `fn` runs once after `delay` (or never, if the loop stops first).
  virtual void postAfter(std::chrono::nanoseconds delay, std::function<void()> fn) = 0;

  virtual std::size_t threadCount() const = 0;
};

}  // namespace tidewatch
