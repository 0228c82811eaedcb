// A pool of MySQL sessions shared by the store's writers, the source and the event store, so
// that one daemon holds a bounded, predictable number of connections.
//
// Threads: acquire() blocks (waiting for a free session and connecting); call it only on
// writer/loader threads. While the database is unreachable the pool backs off (100 ms
// doubling to 5 s) so that a dozen writers do not hammer a recovering server: acquire()
// then fails fast with the time to wait, and callers sleep on their own thread.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <memory>
#include <mutex>
#include <optional>
#include <vector>

#include "io/mysql/connection_options.h"
#include "io/mysql/session.h"

namespace tidewatch {
class Metrics;
}

namespace tidewatch::mysql {

class Pool;

// A session borrowed from the pool; returned on destruction.
class Lease {
 public:
  Lease() = default;
  Lease(Pool* pool, Session* session) : pool_(pool), session_(session) {}
  Lease(Lease&& other) noexcept { *this = std::move(other); }
  Lease& operator=(Lease&& other) noexcept;
  ~Lease();
  explicit operator bool() const { return session_ != nullptr; }
  Session& operator*() { return *session_; }
  Session* operator->() { return session_; }
  // Call after a statement failed with a lost connection: the pool starts backing off.
  void reportLost();

 private:
  Pool* pool_ = nullptr;
  Session* session_ = nullptr;
};

class Pool {
 public:
  static constexpr auto kMinBackoff = std::chrono::milliseconds(100);
  static constexpr auto kMaxBackoff = std::chrono::milliseconds(5000);

  // size 0 = automatic: enough for the source, the projection and history writers and one
  // event-store worker per core, plus one spare for administrative reads.
  Pool(ConnectionOptions options, int size, Metrics* metrics = nullptr);
  ~Pool();

  // One pool per distinct server, user and database in the process, shared by every MySQL
  // stage; `size` applies when this call creates it.
  static std::shared_ptr<Pool> shared(const ConnectionOptions& options, int size, Metrics* metrics = nullptr);
  static int automaticSize();

  // Waits up to `wait` for a free session and makes sure it is connected. On failure returns
  // an empty lease, fills `error`, and sets `retry_after` to how long to wait before trying.
  Lease acquire(std::chrono::milliseconds wait, DbError* error,
                std::chrono::milliseconds* retry_after = nullptr);

  std::size_t size() const { return sessions_.size(); }
  const ConnectionOptions& options() const { return options_; }
  // True while the last connection attempt failed (for health reporting).
  bool unavailable() const;

 private:
  friend class Lease;
  void release(Session* session);
  void noteLost();

  ConnectionOptions options_;
  Metrics* metrics_;
  std::vector<std::unique_ptr<Session>> sessions_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::vector<Session*> idle_;
  std::chrono::steady_clock::time_point next_attempt_{};
  std::chrono::milliseconds backoff_{0};
};

}  // namespace tidewatch::mysql
