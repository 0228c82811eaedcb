#include "app/lifecycle.h"

#include <spdlog/spdlog.h>

#include <asio/signal_set.hpp>
#include <condition_variable>
#include <csignal>
#include <functional>
#include <mutex>

#include "io/event_loop.h"

namespace tidewatch::app {

int runUntilStopped(io::AsioEventLoop& loop, std::unique_ptr<Service> service,
                    const LifecycleOptions& options) {
  std::mutex mu;
  std::condition_variable cv;
  bool stop = false;
  asio::signal_set signals(loop.context(), SIGINT, SIGTERM);
  if (options.reload_on_sighup) signals.add(SIGHUP);
  std::function<void(const std::error_code&, int)> on_signal = [&](const std::error_code& ec,
                                                                   int sig) {
    if (ec) return;
    if (sig == SIGHUP) {
      service->reload();
      signals.async_wait(on_signal);
      return;
    }
    spdlog::info("signal {}: draining {}", sig, options.name);
    std::lock_guard lock(mu);
    stop = true;
    cv.notify_all();
  };
  signals.async_wait(on_signal);

  loop.start();
  service->start();
  {
    std::unique_lock lock(mu);
    if (options.run_for.count() > 0)
      cv.wait_for(lock, options.run_for, [&] { return stop; });
    else
      cv.wait(lock, [&] { return stop; });
  }
  bool drained = service->drain();
  std::error_code ignored;
  signals.cancel(ignored);
  service.reset();
  loop.stop();
  return drained ? 0 : 1;
}

}  // namespace tidewatch::app
