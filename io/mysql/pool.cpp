#include "io/mysql/pool.h"

#include <algorithm>
#include <map>
#include <thread>
#include <tuple>

#include <spdlog/spdlog.h>

#include "core/metrics.h"

namespace tidewatch::mysql {

Lease& Lease::operator=(Lease&& other) noexcept {
  if (this != &other) {
    if (pool_ && session_) pool_->release(session_);
    pool_ = other.pool_;
    session_ = other.session_;
    other.pool_ = nullptr;
    other.session_ = nullptr;
  }
  return *this;
}

Lease::~Lease() {
  if (pool_ && session_) pool_->release(session_);
}

void Lease::reportLost() {
  if (session_) session_->disconnect();
  if (pool_) pool_->noteLost();
}

int Pool::automaticSize() {
  int cores = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  // source + projection + history + event-store workers (one per core, at least 2) + spare
  return 3 + std::max(2, cores) + 1;
}

Pool::Pool(ConnectionOptions options, int size, Metrics* metrics) : options_(std::move(options)), metrics_(metrics) {
  if (size <= 0) size = automaticSize();
  sessions_.reserve(size);
  for (int i = 0; i < size; ++i) {
    sessions_.push_back(std::make_unique<Session>(options_));
    idle_.push_back(sessions_.back().get());
  }
}

Pool::~Pool() = default;

std::shared_ptr<Pool> Pool::shared(const ConnectionOptions& cfg, int size, Metrics* metrics) {
  static std::mutex mu;
  static std::map<std::tuple<std::string, int, std::string, std::string, std::string>,
                  std::weak_ptr<Pool>>
      pools;
  std::lock_guard lock(mu);
  auto key = std::make_tuple(cfg.socket.empty() ? cfg.host : cfg.socket, int(cfg.port), cfg.user,
                             cfg.database, cfg.password);
  if (auto existing = pools[key].lock()) return existing;
  auto pool = std::make_shared<Pool>(cfg, size, metrics);
  pools[key] = pool;
  return pool;
}

bool Pool::unavailable() const {
  std::lock_guard lock(mu_);
  return backoff_.count() > 0;
}

void Pool::noteLost() {
  std::lock_guard lock(mu_);
  if (backoff_.count() == 0) {
    backoff_ = kMinBackoff;
    next_attempt_ = std::chrono::steady_clock::now() + backoff_;
  }
}

Lease Pool::acquire(std::chrono::milliseconds wait, DbError* error,
                    std::chrono::milliseconds* retry_after) {
  using clock = std::chrono::steady_clock;
  Session* session = nullptr;
  {
    std::unique_lock lock(mu_);
    if (!cv_.wait_for(lock, wait, [&] { return !idle_.empty(); })) {
      if (error) *error = DbError{0, "HY000", "no free MySQL session in the pool"};
      if (retry_after) *retry_after = std::chrono::milliseconds(10);
      return {};
    }
    // Prefer a session that is already connected.
    auto it = std::find_if(idle_.begin(), idle_.end(), [](Session* s) { return s->connected(); });
    if (it == idle_.end()) {
      auto now = clock::now();
      if (backoff_.count() > 0 && now < next_attempt_) {
        if (error) *error = DbError{2002, "HY000", "database unavailable (backing off)"};
        if (retry_after) {
          *retry_after = std::chrono::duration_cast<std::chrono::milliseconds>(next_attempt_ - now);
        }
        return {};
      }
      it = idle_.begin();
    }
    session = *it;
    idle_.erase(it);
  }
  if (!session->connected()) {
    DbError err = session->connect();
    if (!err.ok()) {
      std::chrono::milliseconds wait_next;
      {
        std::lock_guard lock(mu_);
        backoff_ = backoff_.count() == 0 ? kMinBackoff : std::min(backoff_ * 2, std::chrono::duration_cast<std::chrono::milliseconds>(kMaxBackoff));
        next_attempt_ = clock::now() + backoff_;
        wait_next = backoff_;
        idle_.push_back(session);
      }
      cv_.notify_one();
      if (metrics_) metrics_->counter("mysql.connect.error").fetch_add(1, std::memory_order_relaxed);
      if (error) *error = err;
      if (retry_after) *retry_after = wait_next;
      return {};
    }
    bool was_down = false;
    {
      std::lock_guard lock(mu_);
      was_down = backoff_.count() > 0;
      backoff_ = std::chrono::milliseconds(0);
    }
    if (was_down) spdlog::info("mysql: connected again to {}", options_.where());
    if (metrics_) metrics_->counter("mysql.connect.count").fetch_add(1, std::memory_order_relaxed);
  }
  return Lease(this, session);
}

void Pool::release(Session* session) {
  {
    std::lock_guard lock(mu_);
    idle_.push_back(session);
  }
  cv_.notify_one();
}

}  // namespace tidewatch::mysql
