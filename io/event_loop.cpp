#include "io/event_loop.h"

#include <asio/post.hpp>
#include <asio/steady_timer.hpp>

namespace tidewatch::io {
namespace {

class AsioTimer final : public EventLoop::Timer {
 public:
  explicit AsioTimer(asio::io_context& io) : timer_(io) {}
  void cancel() override { timer_.cancel(); }
  asio::steady_timer timer_;
};

}  // namespace

AsioEventLoop::AsioEventLoop(std::size_t threads)
    : thread_count_(threads == 0 ? std::max(1u, std::thread::hardware_concurrency()) : threads),
      io_(static_cast<int>(thread_count_)) {}

AsioEventLoop::~AsioEventLoop() { stop(); }

void AsioEventLoop::start() {
  if (!threads_.empty()) return;
  guard_.emplace(io_.get_executor());
  for (std::size_t i = 0; i < thread_count_; ++i) {
    threads_.emplace_back([this] { io_.run(); });
  }
}

void AsioEventLoop::stop() {
  guard_.reset();
  io_.stop();
  for (auto& t : threads_) {
    if (t.joinable()) t.join();
  }
  threads_.clear();
}

void AsioEventLoop::post(std::function<void()> fn) { asio::post(io_, std::move(fn)); }

std::unique_ptr<EventLoop::Timer> AsioEventLoop::runAfter(std::chrono::nanoseconds delay,
                                                          std::function<void()> fn) {
  auto timer = std::make_unique<AsioTimer>(io_);
  timer->timer_.expires_after(delay);
  timer->timer_.async_wait([fn = std::move(fn)](const std::error_code& ec) {
    if (!ec) fn();
  });
  return timer;
}

void AsioEventLoop::postAfter(std::chrono::nanoseconds delay, std::function<void()> fn) {
  auto timer = std::make_shared<asio::steady_timer>(io_, delay);
  timer->async_wait([timer, fn = std::move(fn)](const std::error_code& ec) {
    if (!ec) fn();
  });
}

}  // namespace tidewatch::io
