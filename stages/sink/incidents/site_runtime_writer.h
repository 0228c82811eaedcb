// Writes the per-site runtime columns the incident engine owns on jetpack_monitor_sites:
// ssl_expiry_date (only when the calendar date changed, compat §1.12) and last_alert_sent_at
// (the cooldown anchor, compat §5). Not event state, so not through the EventStore: one
// thread of its own coalesces updates per site and writes them every half second through
// the shared pool; while the database is away the updates wait and are retried.
//
// Kept here rather than in io/mysql because only this sink writes these two columns; the
// statements are plain single-row UPDATEs keyed by jetpack_monitor_site_id.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <thread>

namespace tidewatch {
class Metrics;
namespace mysql {
class Pool;
}
}  // namespace tidewatch

namespace tidewatch::stages {

class SiteRuntimeWriter {
 public:
  SiteRuntimeWriter(std::shared_ptr<mysql::Pool> pool, Metrics* metrics);
  ~SiteRuntimeWriter();

  void sslExpiryDate(std::uint64_t site_id, std::int64_t day);  // days since the epoch
  void lastAlertSent(std::uint64_t site_id, std::int64_t unix_ms);
  std::size_t backlog() const;
  bool drain(std::chrono::milliseconds timeout);

 private:
  struct Update {
    std::optional<std::int64_t> ssl_day;
    std::optional<std::int64_t> last_alert_ms;
  };
  void run();
  bool writeBatch(std::map<std::uint64_t, Update>& batch);

  std::shared_ptr<mysql::Pool> pool_;
  Metrics* metrics_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::map<std::uint64_t, Update> pending_;
  std::size_t in_flight_ = 0;
  bool stopping_ = false;
  std::thread thread_;
};

}  // namespace tidewatch::stages
