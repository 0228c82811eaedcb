#include "stages/sink/incidents/incident_options.h"

namespace tidewatch::stages {

IncidentOptions parseIncidentOptions(ConfigMap& m) {
  IncidentOptions o;
  o.shards = static_cast<int>(m.getSize("shards", 0));
  o.workers = static_cast<int>(m.getSize("workers", 0));
  o.store_workers = static_cast<int>(m.getSize("store_workers", 0));
  o.alert_cooldown_minutes = static_cast<int>(m.getInt("alert_cooldown_minutes", 30, -1, 100000));
  o.recovery_cooldown = m.getBool("recovery_cooldown", true);
  o.num_of_checks = static_cast<int>(m.getSize("num_of_checks", 0));
  o.tls_warning_days = static_cast<int>(m.getInt("tls_warning_days", 30, 1, 3650));
  o.tls_degraded_days = static_cast<int>(m.getInt("tls_degraded_days", 7, 0, 3650));
  if (o.tls_degraded_days > o.tls_warning_days)
    m.diagnostics().error(m.pathOf("tls_degraded_days"), "must be <= tls_warning_days");
  o.post_recovery_suppression = m.getBool("post_recovery_suppression", true);
  o.write_ssl_expiry = m.getBool("write_ssl_expiry", true);
  o.tick_ms = static_cast<int>(m.getInt("tick_ms", 250, 10, 10000));
  o.parallel_escalation = m.getBool("parallel_escalation", true);
  o.parallel_escalation_max_age_s = static_cast<int>(m.getInt("parallel_escalation_max_age_s", 30, 1, 3600));
  o.low_confidence_dns = m.getBool("low_confidence_dns", true);
  o.suspect_site_audits = static_cast<int>(m.getInt("suspect_site_audits", 1000, 0, 10'000'000));
  o.source = m.getString("source", "");
  ConfigMap c = m.child("correlation");
  CorrelationOptions& k = o.correlation;
  k.enabled = c.getBool("enabled", true);
  k.window_s = static_cast<int>(c.getInt("window_s", 60, 1, 3600));
  k.min_results = c.getInt("min_results", 1000, 1);
  k.enter_ratio = c.getDouble("enter_ratio", 0.25);
  k.exit_ratio = c.getDouble("exit_ratio", 0.10);
  k.exit_windows = static_cast<int>(c.getInt("exit_windows", 2, 1, 100));
  k.dns_min_failures = c.getInt("dns_min_failures", 50, 1);
  k.dns_enter_ratio = c.getDouble("dns_enter_ratio", 0.05);
  k.hold_ms = static_cast<int>(c.getInt("hold_ms", 3000, 0, 600000));
  if (k.enter_ratio <= 0 || k.enter_ratio > 1)
    c.diagnostics().error(c.pathOf("enter_ratio"), "must be in (0, 1]");
  if (k.exit_ratio < 0 || k.exit_ratio > k.enter_ratio)
    c.diagnostics().error(c.pathOf("exit_ratio"), "must be in [0, enter_ratio]");
  if (k.dns_enter_ratio <= 0 || k.dns_enter_ratio > 1)
    c.diagnostics().error(c.pathOf("dns_enter_ratio"), "must be in (0, 1]");
  c.finish();
  return o;
}

}  // namespace tidewatch::stages
