#include "stages/sink/incidents/recovery.h"

#include <algorithm>
#include <chrono>
#include <string>
#include <thread>

#include <spdlog/spdlog.h>

namespace tidewatch::stages {
namespace {

// How long a restart may take and still continue a Seems Down's failure count: the next
// check after a restart comes one cadence after the last one plus the downtime.
constexpr std::int64_t kResumeSlackMs = 120'000;

}  // namespace

bool loadOpenEvents(IncidentStore& store, const std::atomic<bool>& stop, std::vector<OpenEvent>& out) {
  for (int attempt = 0;; ++attempt) {
    std::string err;
    if (store.listOpenEvents(out, &err)) return true;
    if (attempt == 0) spdlog::warn("sink.incidents: cannot read open events yet ({}); retrying", err);
    for (int i = 0; i < 10 && !stop.load(); ++i) std::this_thread::sleep_for(std::chrono::milliseconds(100));
    if (stop.load()) return false;
  }
}

bool resumeOpenEvent(SiteState& st, const OpenEvent& e) {
  st.blog_id = e.identity.blog_id;
  if (e.identity.check_type == "http") {
    if (e.severity >= Severity::kDown) {
      st.phase = Phase::kDown;
      st.projected = SiteStatus::kConfirmedDown;
      st.down_notified = true;  // a confirmed Down was alerted unless suppressed; assume it was
      st.down_ms = e.started_at_ms;
    } else {
      st.phase = Phase::kSeemsDown;
      st.projected = SiteStatus::kDown;
      // The event proves one failure; the previous process's count (from its audit rows) is
      // taken over on the first result if it is recent (continueFailureCount()).
      st.fail_count = 1;
      st.resumed_failures = e.local_failures;
      st.resumed_failures_at_ms = e.local_failures_at_ms;
    }
    st.opened_ms = st.first_fail_ms = e.started_at_ms;
    return true;
  }
  if (e.identity.check_type == "tls_expiry") {
    st.tls_expiry_sev = e.severity >= Severity::kDegraded ? 2 : 1;
    return true;
  }
  if (e.identity.check_type == "tls_deprecated") {
    st.tls_deprecated_open = true;
    return true;
  }
  return false;
}

bool continueFailureCount(SiteState& st, const Target& t, std::int64_t now) {
  bool resumed = false;
  if (st.resumed_failures > 0 && st.phase == Phase::kSeemsDown &&
      now - st.resumed_failures_at_ms <= static_cast<std::int64_t>(t.interval_s) * 1000 + kResumeSlackMs) {
    st.fail_count = std::max(st.fail_count, st.resumed_failures);
    resumed = true;
  }
  st.resumed_failures = 0;
  return resumed;
}

}  // namespace tidewatch::stages
