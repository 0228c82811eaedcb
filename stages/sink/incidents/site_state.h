// What the incident engine remembers about one site, and the small helpers every part of the
// engine uses on it. Plain values: a SiteState belongs to the shard its site hashes to and is
// touched by one worker at a time (shard_executor.h).
#pragma once

#include <climits>
#include <cstdint>
#include <memory>

#include "core/incident_store.h"
#include "core/target.h"
#include "pipeline/check.h"
#include "pipeline/verification.h"

namespace tidewatch::stages {

constexpr std::int32_t kUnknownDay = INT32_MIN;
constexpr std::int64_t kDayMs = 86'400'000;

inline std::int64_t floorDiv(std::int64_t a, std::int64_t b) {
  return a / b - ((a % b != 0) && ((a < 0) != (b < 0)));
}
// The calendar day (days since the epoch) of a unix time in seconds.
inline std::int32_t dayOf(std::int64_t unix_s) { return static_cast<std::int32_t>(floorDiv(unix_s, 86400)); }

// kUnconfirmed: low-confidence DNS failures are being counted but nothing is open and the
// projection still says 1 (compat §3.8); verifier confirmation opens Down directly.
enum class Phase : std::uint8_t { kUp, kUnconfirmed, kSeemsDown, kDown };

// Exists only for sites that needed attention (failures, open events, TLS advisories) and is
// dropped once the site is quiet again.
struct SiteState {
  TargetPtr target;                 // the latest seen (null for sites recovered from the DB)
  std::uint64_t blog_id = 0;
  std::uint32_t slot = kParkMarkerSlot;
  Phase phase = Phase::kUp;
  SiteStatus projected = SiteStatus::kRunning;  // what jetpack_monitor_sites says (or will)
  int fail_count = 0;               // consecutive local failures (the retry entry)
  int maint_streak = 0;             // consecutive failures swallowed by a maintenance window
  std::int64_t first_fail_ms = 0;
  std::int64_t opened_ms = 0;
  std::int64_t down_ms = 0;
  bool verifying = false;
  bool parallel_escalation = false; // the escalation in flight started before the last local check
  std::int64_t escalated_ms = 0;
  // A parallel escalation's verdict that arrived before the last local check: applied when
  // that check fails (within the max age), dropped when it succeeds.
  std::shared_ptr<Verification> early_verdict;
  std::uint32_t generation = 0;     // bumps on every phase change: stale verdicts are ignored
  std::int64_t deferred_until_ms = 0;
  bool down_notified = false;       // this incident produced a down alert (B5a)
  std::int64_t last_alert_ms = 0;
  std::int64_t recovered_ms = 0;
  std::int64_t false_alarm_ms = 0;
  bool held = false;
  std::uint8_t held_failures = 0;   // failures seen while held: all count once released
  std::uint32_t held_generation = 0;
  CheckPtr last_failure;
  std::uint8_t tls_expiry_sev = 0;  // 0 none open, 1 Warning, 2 Degraded
  bool tls_deprecated_open = false;
  std::int32_t ssl_day = kUnknownDay;
  // Restart recovery: the failure count the previous process audited for the open event, and
  // when (engine clock); applied on the first result if that is recent enough (recovery.h).
  int resumed_failures = 0;
  std::int64_t resumed_failures_at_ms = 0;
};

inline std::uint64_t siteId(const SiteState& st) { return st.target ? st.target->id : 0; }

// The event identity of this site for a check type (http, tls_expiry, tls_deprecated).
inline EventIdentity identityOf(const SiteState& st, const char* check_type = "http") {
  EventIdentity id;
  id.blog_id = st.blog_id;
  id.endpoint_id = siteId(st);
  id.check_type = check_type;
  return id;
}

}  // namespace tidewatch::stages
