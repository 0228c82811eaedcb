#include "stages/sink/incidents/alerts.h"

#include <algorithm>

namespace tidewatch::stages {

bool AlertPolicy::inMaintenance(const SiteState& st, std::int64_t now_ms) const {
  if (!st.target || !st.target->config) return false;
  const SiteConfig& c = *st.target->config;
  if (c.maintenance_start == 0 || c.maintenance_end == 0) return false;
  std::int64_t now_s = now_ms / 1000;
  // Strictly inside (compat §4), at the engine's clock in milliseconds.
  return c.maintenance_start * 1000 < now_ms && now_ms < c.maintenance_end * 1000 && now_s >= 0;
}

std::int64_t AlertPolicy::cooldownMs(const SiteState& st) const {
  int minutes = o_.alert_cooldown_minutes;
  if (st.target && st.target->config && st.target->config->alert_cooldown_minutes >= 0)
    minutes = st.target->config->alert_cooldown_minutes;
  return minutes <= 0 ? 0 : static_cast<std::int64_t>(minutes) * 60'000;
}

bool AlertPolicy::inCooldown(const SiteState& st, std::int64_t now) const {
  std::int64_t cd = cooldownMs(st);
  if (cd == 0) return false;
  std::int64_t last = std::max(st.last_alert_ms, st.target ? st.target->last_alert_sent_at * 1000 : 0);
  return last > 0 && now - last < cd;
}

StatusChange AlertPolicy::statusChange(const SiteState& st, const Check& local, int status_id,
                                       std::int64_t now) const {
  StatusChange s;
  s.blog_id = st.blog_id;
  s.target_id = siteId(st);
  s.monitor_url = st.target ? st.target->url : "";
  s.status_id = status_id;
  s.last_check = (local.result.finished_at_ms != 0 ? local.result.finished_at_ms : now) / 1000;
  s.last_status_change = now / 1000;
  s.status_type = local.verdict.status_type;
  StatusChange::CheckEntry e;
  e.type = 1;
  e.host = source_;
  e.status = local.verdict.success ? 1 : 0;
  e.rtt_ms = local.result.timings.rtt_ms;
  e.code = local.result.http_code;
  s.checks.push_back(std::move(e));
  return s;
}

void AlertPolicy::send(SiteState& st, StatusChange change, std::int64_t now, Effects& out, EngineMetrics& m) const {
  // The in-memory cooldown anchor moves when the alert leaves the engine, so a burst of
  // decisions cannot alert twice while the first is still being delivered; the delivery
  // report moves the stored anchor (and undoes ours if the notifier gave up).
  const int status_id = change.status_id;
  const std::size_t checks = change.checks.size();
  const std::string status_type(toString(change.status_type));
  out.alerts.push_back({std::move(change), siteId(st), now, st.last_alert_ms});
  st.last_alert_ms = now;
  out.audit(st, "wpcom_sent",
            "status_id " + std::to_string(status_id) + " sent to " + std::to_string(notifiers_) + " notifier(s)",
            {{"status_id", status_id}, {"status_type", status_type}, {"checks", checks}});
  m.count(status_id == 2 ? "detection.notify.down" : "detection.notify.running", nullptr);
}

void AlertPolicy::down(SiteState& st, const Check* local, const Verification& v, std::int64_t now, Effects& out,
                       EngineMetrics& m) const {
  if (inCooldown(st, now)) {
    out.audit(st, "alert_suppressed", "cooldown active",
              {{"rule", "cooldown"}, {"cooldown_minutes", cooldownMs(st) / 60'000}, {"status_id", 2}});
    m.count("detection.down.cooldown_suppressed", nullptr);
    return;
  }
  if (!local) return;
  StatusChange change = statusChange(st, *local, 2, now);
  for (const VerifierVote& vote : v.votes) {
    if (!vote.isVote()) continue;
    StatusChange::CheckEntry e;
    e.type = 2;
    e.host = vote.host.empty() ? vote.verifier : vote.host;
    e.status = vote.outcome == VerifierVote::Outcome::kUp ? 1 : 0;
    e.rtt_ms = vote.rtt_ms;
    e.code = vote.http_code;
    change.checks.push_back(std::move(e));
  }
  send(st, std::move(change), now, out, m);
  st.down_notified = true;
}

void AlertPolicy::recovery(SiteState& st, const Check& local, std::int64_t now, Effects& out, EngineMetrics& m) const {
  // B5a: only an incident that produced a down alert gets a recovery alert.
  if (!st.down_notified) return;
  st.down_notified = false;
  if (inMaintenance(st, now)) {
    out.audit(st, "maintenance_active", "recovery suppressed during maintenance", {{"rule", "maintenance"}});
    return;
  }
  if (o_.recovery_cooldown && inCooldown(st, now)) {
    // B5b: the reference dropped these silently.
    out.audit(st, "alert_suppressed", "recovery cooldown active",
              {{"rule", "cooldown"}, {"cooldown_minutes", cooldownMs(st) / 60'000}, {"status_id", 1}});
    m.count("detection.recovery.cooldown_suppressed", nullptr);
    return;
  }
  send(st, statusChange(st, local, 1, now), now, out, m);
}

void AlertPolicy::delivered(SiteState* st, bool delivered, std::int64_t handoff_ms, std::int64_t previous_ms,
                            std::int64_t now, Effects& out, EngineMetrics& m) const {
  if (delivered) {
    // compat §5/§7.4: last_alert_sent_at is the delivery time.
    out.last_alert_sent_ms = now;
    m.add("detection.notify.delivered.count");
    return;
  }
  m.add("detection.notify.undelivered.count");
  if (st && st->last_alert_ms == handoff_ms) st->last_alert_ms = previous_ms;
}

}  // namespace tidewatch::stages
