// The per-site runtime columns the incident engine owns on jetpack_monitor_sites that are not
// event state: ssl_expiry_date (written when the certificate's calendar date changes, compat
// §1.12) and last_alert_sent_at (the cooldown anchor, compat §5). Part of mysql::EventStore's
// IncidentStore implementation; not in the event transactions because these are plain
// single-row UPDATEs keyed by jetpack_monitor_site_id that change a few times per site per
// year (certificate renewals, alerts).
//
// Updates are coalesced per site (the last value wins; last_alert_sent_at never moves back)
// and written on a thread of their own (WriterThread) through the shared pool; while the
// database is away they wait in memory and are retried with the pool's backoff.
//
// Threads: sslExpiryDate(), lastAlertSent() and backlog() only take a short mutex (any thread);
// drain() blocks.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <optional>

#include "io/mysql/writer_thread.h"

namespace tidewatch {
class Metrics;
}

namespace tidewatch::mysql {

class Pool;

class SiteRuntimeWriter final : public WriterThread {
 public:
  SiteRuntimeWriter(std::shared_ptr<Pool> pool, Metrics* metrics);
  ~SiteRuntimeWriter() override;  // stops without writing what is left: drain() first

  void sslExpiryDate(std::uint64_t site_id, std::int64_t day);  // days since the epoch
  void lastAlertSent(std::uint64_t site_id, std::int64_t unix_ms);
  std::size_t backlog() const;

 private:
  struct Update {
    std::optional<std::int64_t> ssl_day;
    std::optional<std::int64_t> last_alert_ms;
  };
  bool take(Clock::time_point& wake_at) override;
  Attempt write() override;
  bool idle() const override { return pending_.empty() && batch_.empty(); }
  // Newer values win over a batch that has not been written yet.
  static void merge(std::map<std::uint64_t, Update>& into, std::map<std::uint64_t, Update>& from);

  std::shared_ptr<Pool> pool_;
  Metrics* metrics_;
  std::map<std::uint64_t, Update> pending_;  // under mu()
  std::map<std::uint64_t, Update> batch_;    // in hand: taken under mu(), written without it
};

}  // namespace tidewatch::mysql
