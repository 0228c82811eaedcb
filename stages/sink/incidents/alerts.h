// Alerts and their rules (compat §4, §5, §7): maintenance windows, the per-site alert cooldown
// (ALERT_COOLDOWN_MINUTES, anchored on the last alert handed off or delivered), the WPCOM
// status change of a down or recovery alert, and delivery reports. Pure: decisions go into
// Effects, counts into EngineMetrics; callers own the SiteState (one worker at a time).
#pragma once

#include <cstdint>
#include <string>

#include "pipeline/verification.h"
#include "stages/sink/incidents/effects.h"
#include "stages/sink/incidents/incident_options.h"
#include "stages/sink/incidents/site_state.h"

namespace tidewatch::stages {

class AlertPolicy {
 public:
  // `source` names the local check in the alert (the host); `notifiers` is how many get it.
  AlertPolicy(const IncidentOptions& options, std::string source, std::size_t notifiers)
      : o_(options), source_(std::move(source)), notifiers_(notifiers) {}

  // Strictly inside the site's maintenance window, at the engine's clock (compat §4).
  bool inMaintenance(const SiteState& st, std::int64_t now_ms) const;
  // The site's own cooldown when it has one, else the global; 0 = none.
  std::int64_t cooldownMs(const SiteState& st) const;
  bool inCooldown(const SiteState& st, std::int64_t now_ms) const;

  // A confirmed Down: the down alert with the local result and one entry per verifier vote,
  // unless the cooldown holds it back (audited). `local` may be null (nothing to report).
  void down(SiteState& st, const Check* local, const Verification& v, std::int64_t now, Effects& out,
            EngineMetrics& m) const;
  // A recovery: the "back up" alert, only after a down alert (B5a), never inside maintenance,
  // and audited when the cooldown holds it back (B5b).
  void recovery(SiteState& st, const Check& local, std::int64_t now, Effects& out, EngineMetrics& m) const;
  // A notifier's report on an alert (st: null when the site's state is gone). Delivered: the
  // stored cooldown anchor moves (compat §5/§7.4). Not delivered: the owner never heard, so
  // it must not hold back the next alert.
  void delivered(SiteState* st, bool delivered, std::int64_t handoff_ms, std::int64_t previous_ms,
                 std::int64_t now, Effects& out, EngineMetrics& m) const;

 private:
  StatusChange statusChange(const SiteState& st, const Check& local, int status_id, std::int64_t now) const;
  void send(SiteState& st, StatusChange change, std::int64_t now, Effects& out, EngineMetrics& m) const;

  const IncidentOptions& o_;
  std::string source_;
  std::size_t notifiers_;
};

}  // namespace tidewatch::stages
