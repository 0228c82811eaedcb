// The one process lifecycle of `tidewatch run` and `tidewatch verifier`: signals are handled
// on the Asio loop, the main thread waits for SIGINT/SIGTERM (or a fixed duration), then the
// service drains within its own bound and everything is torn down in the one safe order —
// drain, stop listening for signals, destroy the service (its destructor may wait for work
// that completes on the loop), stop the loop.
//
// Threads: runUntilStopped() runs on the main thread and blocks it; Service::reload() runs on
// a loop thread (SIGHUP), Service::start() and drain() on the main thread.
#pragma once

#include <chrono>
#include <memory>
#include <string>

namespace tidewatch::io {
class AsioEventLoop;
}

namespace tidewatch::app {

class Service {
 public:
  virtual ~Service() = default;
  // The loop is running: begin work.
  virtual void start() {}
  // Stop taking work and wait, bounded, for what is in flight. False if some was left.
  virtual bool drain() = 0;
  // SIGHUP (only with LifecycleOptions::reload_on_sighup).
  virtual void reload() {}
};

struct LifecycleOptions {
  std::string name = "tidewatch";  // in log lines ("signal 15: draining <name>")
  bool reload_on_sighup = false;
  std::chrono::milliseconds run_for{0};  // 0: until SIGINT/SIGTERM
};

// Starts `loop` and the service, waits, drains and tears down as above. Returns the exit code:
// 0 when the service drained, 1 when work was still in flight at its bound.
int runUntilStopped(io::AsioEventLoop& loop, std::unique_ptr<Service> service,
                    const LifecycleOptions& options);

}  // namespace tidewatch::app
