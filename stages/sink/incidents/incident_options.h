// sink.incidents' options (docs/configuration.md, `pipeline.sinks[]` of type sink.incidents)
// and their parsing from YAML: zero means "automatic", bad values are reported with their key
// path. Plain values; the engine, the executor and the correlation window read them.
#pragma once

#include <cstdint>
#include <string>

#include "pipeline/config_node.h"

namespace tidewatch::stages {

// "Unknown, not Down": the rule that makes the monitor itself the suspect.
struct CorrelationOptions {
  bool enabled = true;
  int window_s = 60;                // sliding window of results (one-second buckets)
  std::int64_t min_results = 1000;  // fewer results in the window decide nothing
  double enter_ratio = 0.25;        // share of connect/timeout/DNS failures that enters
  double exit_ratio = 0.10;         // below this for `exit_windows` whole windows leaves
  int exit_windows = 2;
  // Resolver rule: DNS timeouts/servfail/resolver errors across many sites.
  std::int64_t dns_min_failures = 50;
  double dns_enter_ratio = 0.05;
  // A first connect/timeout/DNS failure of a healthy site waits this long for the window's
  // verdict before it opens Seems Down, so the first seconds of a storm open nothing.
  int hold_ms = 3000;
};

struct IncidentOptions {
  int shards = 0;                   // 0 = clamp(cores × 4, 8, 256)
  int workers = 0;                  // state-machine threads; 0 = clamp(cores, 1, 4)
  int store_workers = 0;            // event-store writer threads; 0 = the store's default
  int alert_cooldown_minutes = 30;  // ALERT_COOLDOWN_MINUTES; ≤ 0 disables
  bool recovery_cooldown = true;    // cooldown applies to recovery alerts too (compat §5)
  int num_of_checks = 0;            // 0 = scheduler.num_of_checks
  int tls_warning_days = 30;
  int tls_degraded_days = 7;
  bool post_recovery_suppression = true;  // compat §3.8
  bool write_ssl_expiry = true;     // jetpack_monitor_sites.ssl_expiry_date on date change
  int tick_ms = 250;                // correlation + held-failure timer; 0 = caller ticks (tests)
  // Escalate to the verifiers in parallel with the last local confirmation check (when
  // num_of_checks − 1 failures are in): their verdict counts only once that check has failed
  // too, and only if it failed within `parallel_escalation_max_age_s` of the escalation; a
  // success in between discards it (no false alarm). docs/incidents.md "Detection latency".
  bool parallel_escalation = true;
  int parallel_escalation_max_age_s = 30;
  // compat §3.8 low-confidence DNS: connect/timeout failures whose DNS lookup got no answer
  // (DNS timeout, SERVFAIL, resolver error; not NXDOMAIN) count retries without opening Seems
  // Down; verifier confirmation opens Down directly.
  bool low_confidence_dns = true;
  // Per-site audit rows for failures suppressed while the monitor is the suspect: one per
  // site per suspect episode, at most this many per episode (0 = fleet-wide rows only).
  int suspect_site_audits = 1000;
  std::string source;               // transition/audit source; "" = runtime.host_id / hostname
  CorrelationOptions correlation;
};

// Parses and validates the options (the registered factory's parse step).
IncidentOptions parseIncidentOptions(ConfigMap& m);

}  // namespace tidewatch::stages
