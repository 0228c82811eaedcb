// io::AsioEventLoop: the daemon's EventLoop (core/event_loop.h), an asio::io_context run by N
// threads. The app hands it to the pipeline twice: as the EventLoop, and as the Asio side
// (StageContext::asio) from which stages that do network I/O (probe.http, notify.wpcom, the
// verifier client) and the servers take the io_context.
//
// Threads: start() and stop() from the owning thread (startup, shutdown); everything else as
// EventLoop says (thread-safe; callbacks run on a loop thread and must not block).
#pragma once

#include <asio/executor_work_guard.hpp>
#include <asio/io_context.hpp>
#include <optional>
#include <thread>
#include <vector>

#include "core/event_loop.h"

namespace tidewatch::io {

class AsioEventLoop final : public EventLoop {
 public:
  explicit AsioEventLoop(std::size_t threads);  // 0 = one per core
  ~AsioEventLoop() override;

  void start();  // spawns the threads
  void stop();   // lets queued handlers finish, then joins

  void post(std::function<void()> fn) override;
  std::unique_ptr<Timer> runAfter(std::chrono::nanoseconds delay, std::function<void()> fn) override;
  void postAfter(std::chrono::nanoseconds delay, std::function<void()> fn) override;
  std::size_t threadCount() const override { return thread_count_; }

  asio::io_context& context() { return io_; }

 private:
  std::size_t thread_count_;
  asio::io_context io_;
  std::optional<asio::executor_work_guard<asio::io_context::executor_type>> guard_;
  std::vector<std::thread> threads_;
};

}  // namespace tidewatch::io
