#include "stages/sink/incidents/suspect_episode.h"

#include <spdlog/spdlog.h>

namespace tidewatch::stages {

using nlohmann::json;

SuspectEpisode::SuspectEpisode(const IncidentOptions& options, Metrics& metrics)
    : o_(options), m_(metrics), gauge_(&metrics.gauge("detection.monitor_suspect")) {}

std::optional<EventMutation> SuspectEpisode::suppressed(const UnknownFailure& u, std::int64_t now) {
  m_.add("detection.unknown.suppressed.count");
  if (o_.suspect_site_audits <= 0) return std::nullopt;
  {
    std::lock_guard lock(mu_);
    ++suppressed_;
    if (audited_.count(u.identity.endpoint_id) != 0) return std::nullopt;
    if (audited_.size() >= static_cast<std::size_t>(o_.suspect_site_audits)) {
      ++skipped_;
      m_.add("detection.unknown.site_audit_skipped.count");
      return std::nullopt;
    }
    audited_.insert(u.identity.endpoint_id);
  }
  json meta = evidence::local(*u.check);
  meta["rule"] = "monitor_suspect";
  meta["at"] = evidence::rfc3339(now);
  meta["local_failures"] = u.local_failures;  // frozen while the monitor is the suspect
  m_.add("detection.unknown.site_audit.count");
  return EventMutation::audit(u.identity, "alert_suppressed", "monitor suspect: failure treated as Unknown, not Down",
                              evidence::dump(meta));
}

EventMutation SuspectEpisode::changed(bool entered, const CorrelationWindow::Totals& t, std::int64_t now) {
  gauge_->store(entered ? 1 : 0);
  m_.add(entered ? "detection.monitor_suspect.entered.count" : "detection.monitor_suspect.left.count");
  json meta{{"rule", "correlated_failures"},
            {"window_s", o_.correlation.window_s},
            {"results", t.results},
            {"connect_timeout_dns_failures", t.infra},
            {"resolver_failures", t.resolver},
            {"enter_ratio", o_.correlation.enter_ratio},
            {"exit_ratio", o_.correlation.exit_ratio},
            {"at", evidence::rfc3339(now)}};
  if (entered) {
    meta["site_audit_limit"] = o_.suspect_site_audits;
  } else {
    // What the episode suppressed, including the sites past the per-site row limit.
    std::lock_guard lock(mu_);
    meta["suppressed_failures"] = suppressed_;
    meta["site_audit_rows"] = audited_.size();
    meta["suppressed_failures_without_site_row"] = skipped_;
    audited_.clear();
    suppressed_ = skipped_ = 0;
  }
  std::string detail = entered ? "monitor suspect: correlated connect/timeout/DNS failures across sites; "
                                 "such failures are Unknown, not Down"
                               : "monitor no longer suspect: failure share back under the exit threshold";
  if (entered) {
    spdlog::warn("sink.incidents: {} ({} of {} results in {} s, {} resolver)", detail, t.infra, t.results,
                 o_.correlation.window_s, t.resolver);
  } else {
    spdlog::info("sink.incidents: {}", detail);
  }
  // A fleet-wide row: no blog, no event.
  return EventMutation::audit(EventIdentity{}, "alert_suppressed", detail, evidence::dump(meta), false);
}

}  // namespace tidewatch::stages
