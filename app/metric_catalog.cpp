#include "app/metric_catalog.h"

namespace tidewatch::app {

namespace {

using Labels = std::vector<std::string>;
using Consts = std::vector<std::pair<std::string, std::string>>;

MetricDoc counter(std::string pattern, std::string family, std::string help, std::string healthy = "",
                  std::string action = "", Labels labels = {}, Consts consts = {}, double scale = 1) {
  MetricDoc d;
  d.pattern = std::move(pattern);
  d.family = std::move(family);
  d.type = MetricType::kCounter;
  d.help = std::move(help);
  d.healthy = std::move(healthy);
  d.action = std::move(action);
  d.labels = std::move(labels);
  d.const_labels = std::move(consts);
  d.scale = scale;
  return d;
}

MetricDoc gauge(std::string pattern, std::string family, std::string help, std::string healthy = "",
                std::string action = "", Labels labels = {}, Consts consts = {}, double scale = 1) {
  MetricDoc d = counter(std::move(pattern), std::move(family), std::move(help), std::move(healthy), std::move(action),
                        std::move(labels), std::move(consts), scale);
  d.type = MetricType::kGauge;
  return d;
}

// A gauge in milliseconds exported in seconds, sent to StatsD as a timer.
MetricDoc timer(std::string pattern, std::string family, std::string help, std::string healthy = "",
                std::string action = "", Labels labels = {}) {
  MetricDoc d = gauge(std::move(pattern), std::move(family), std::move(help), std::move(healthy), std::move(action),
                      std::move(labels), {}, 0.001);
  d.statsd_timer = true;
  return d;
}

MetricDoc histogram(std::string pattern, std::string family, std::string help, std::string healthy = "",
                    std::string action = "", Labels labels = {}, Consts consts = {}) {
  MetricDoc d = counter(std::move(pattern), std::move(family), std::move(help), std::move(healthy), std::move(action),
                        std::move(labels), std::move(consts));
  d.type = MetricType::kHistogram;
  return d;
}

// StatsD only: Jetmon's names kept for operators' dashboards; Prometheus has them as labels.
MetricDoc statsd(std::string pattern, std::string help) {
  MetricDoc d;
  d.pattern = std::move(pattern);
  d.help = std::move(help);
  return d;
}

std::vector<MetricDoc> scheduler() {
  const std::string behind = "Behind: see tidewatch_dispatch_paused_seconds_total and tidewatch_control_mode; "
                             "docs/operations.md \"When the monitor falls behind\".";
  return {
      gauge("scheduler.streaming.targets.count", "tidewatch_targets", "Targets (sites) in the owned fleet.",
            "The number of active rows in your buckets.", "Lower than expected: check source.mysql load errors."),
      gauge("scheduler.streaming.required_rate.count", "tidewatch_required_checks_per_second",
            "Checks per second the fleet needs (sum of 1/cadence).", "Steady.", ""),
      gauge("scheduler.streaming.sps.count", "tidewatch_checks_per_second",
            "Checks completed per second over the last summary interval.",
            "At or above tidewatch_required_checks_per_second.", behind),
      gauge("scheduler.streaming.worker_target.count", "tidewatch_tokens_target",
            "In-flight limit the controller set (tokens).", "Well below tidewatch_tokens_max.",
            "Pinned at the maximum: the controller should have stopped that; look at tidewatch_control_mode."),
      gauge("scheduler.tokens.max", "tidewatch_tokens_max", "Hard in-flight maximum (tokens.max or the file limit).",
            "", ""),
      gauge("scheduler.streaming.inflight.count", "tidewatch_in_flight_checks", "Checks in flight now.",
            "About required rate × latency.", ""),
      gauge("scheduler.streaming.pending.count", "tidewatch_pending_checks",
            "Checks due and not yet dispatched (dispatcher list and graph due queue).",
            "Near zero, brief bursts at ticks.", behind),
      gauge("scheduler.streaming.queue_depth.count", "tidewatch_due_queue_checks",
            "Checks waiting for a token (pending minus in flight, at least 0).", "Near zero.", behind),
      gauge("scheduler.streaming.result_depth.count", "tidewatch_result_backlog_checks",
            "Checks completed and not yet routed (result backlog).", "Near zero.",
            "Growing: the TBB arena is starved of CPU; dispatch pauses at the threshold."),
      gauge("scheduler.streaming.side_effect_queue_depth.count", "tidewatch_side_effect_backlog_rows",
            "Side effects queued after routing (sinks, writers, event store, notifier).", "Small and flat.",
            "Growing: the database or WordPress.com is slow or down; dispatch pauses at each stage's bound."),
      gauge("scheduler.side_effect.fill_permille", "tidewatch_side_effect_fill_ratio",
            "The fullest stage's share of its own queue bound (rows or bytes).", "Below 0.5.",
            "At 0.8 dispatch pauses until it falls below 0.5: fix the database or endpoint first.", {}, {}, 0.001),
      gauge("scheduler.paused.*", "tidewatch_dispatch_paused", "1 while dispatch is held, by cause.", "0.", behind,
            {"cause"}),
      counter("scheduler.streaming.result_backpressure_pause.count", "tidewatch_dispatch_pauses_total",
              "Times dispatch paused, by cause.", "Rare.", behind, {}, {{"cause", "result_backlog"}}),
      counter("scheduler.streaming.side_effect_backpressure_pause.count", "tidewatch_dispatch_pauses_total",
              "Times dispatch paused, by cause.", "Rare.", behind, {}, {{"cause", "side_effect_backlog"}}),
      counter("scheduler.pause.*.total_ms", "tidewatch_dispatch_paused_seconds_total",
              "Time dispatch spent paused, by cause.", "Flat.", behind, {"cause"}, {}, 0.001),
      counter("scheduler.streaming.dispatch_budget_limited.count", "tidewatch_dispatch_budget_limited_total",
              "Ticks that left due checks pending because of the per-tick budget.",
              "Grows slowly (a tick's due burst leaves over the next ticks).",
              "Grows every tick for minutes: the fleet needs more than the machine gives; see capacity."),
      gauge("scheduler.control_mode.*", "tidewatch_control_mode", "1 for the controller's current mode.",
            "steady.", "saturated or monitor_pressure for long: see docs/operations.md \"Token target\".", {"mode"}),
      gauge("scheduler.monitor_pressure", "tidewatch_monitor_pressure",
            "1 while the monitor is losing checks of its own (resolver drops, local limits, loop lag).", "0.",
            "1: failures keep their normal cadence and tokens shrink; find the cause in tidewatch_monitor_faults_total."),
      counter("scheduler.monitor_faults.count", "tidewatch_monitor_faults_total",
              "Losses that are the monitor's own: resolver drops, our DNS timeouts, local resource errors.", "0.",
              "Raise net.core.rmem_max, the open-files limit, or give tidewatch more CPU."),
      counter("scheduler.token_changes.count", "tidewatch_token_changes_total", "Times the token target moved.",
              "", ""),
      timer("scheduler.loop_lag.time", "tidewatch_event_loop_lag_seconds",
            "Worst lateness of the dispatcher's timer over the last control period.", "Below 0.05 s.",
            "Above 0.25 s is monitor pressure: the I/O threads are starved of CPU."),
      timer("scheduler.streaming.avg_latency.time", "tidewatch_success_latency_seconds",
            "Mean latency of successful checks over the last control period.", "", ""),
      timer("scheduler.streaming.max_lag.time", "tidewatch_max_lag_seconds",
            "Worst dispatch lateness past due over the summary interval.", "A second or two.", behind),
      histogram("scheduler.lateness", "tidewatch_lateness_seconds",
                "Dispatch time minus due time of every check.", "p99 under a few seconds.", behind),
      histogram("check.latency.*", "tidewatch_check_phase_seconds",
                "Check latency by phase (dns, connect, tls, ttfb, total).", "", "", {"phase"}),
      counter("checks.*.*.count", "tidewatch_checks_total",
              "Checks completed, by outcome (status_type or monitor_fault) and Jetmon error code.", "", "",
              {"outcome", "error_code"}),
      statsd("scheduler.streaming.check.success.count", "Successful checks (Jetmon name)."),
      statsd("scheduler.streaming.check.failure.count", "Failed checks (Jetmon name)."),
      statsd("scheduler.streaming.check.error.*.count", "Failed checks by Jetmon error kind."),
      MetricDoc{"freshness.age", "tidewatch_target_age_seconds", MetricType::kSummary, {}, 1,
                "Age of every target's last completed check (the last full pass over the fleet).",
                "p99 below the interval (5-minute sites: below 300 s).", behind},
      timer("freshness.age_max.time", "tidewatch_target_age_max_seconds", "Oldest target's age in the last pass.",
            "Below the longest interval + 30 s.", behind),
      gauge("freshness.stale.count", "tidewatch_stale_targets", "Targets whose age exceeds their interval.", "0.",
            behind),
      gauge("freshness.never_checked.count", "tidewatch_never_checked_targets",
            "Targets that joined and have not been checked yet.", "0 once one cadence has passed after a load.", behind),
  };
}

std::vector<MetricDoc> detection() {
  const std::string classed = "tidewatch_detection_by_status_type_total";
  const std::string classed_help = "Detection events by Jetmon status_type.";
  std::vector<MetricDoc> d = {
      counter("detection.failure.count", "tidewatch_detection_failures_total", "Failed checks the engine processed."),
      counter("detection.seems_down.open.count", "tidewatch_seems_down_opened_total", "Seems Down events opened."),
      counter("detection.down.confirmed.count", "tidewatch_down_confirmed_total", "Sites confirmed Down.",
              "Matches real outages.", "A burst across unrelated sites: check tidewatch_monitor_suspect."),
      counter("detection.down.still_down.count", "tidewatch_down_still_failing_total",
              "Failures of sites already confirmed Down."),
      counter("detection.probe_cleared.count", "tidewatch_seems_down_cleared_total",
              "Seems Down closed by a local success before verification."),
      counter("detection.verifier_cleared.count", "tidewatch_down_recovered_total", "Down events recovered."),
      counter("detection.verifier.escalation.count", "tidewatch_verifier_escalations_total",
              "Escalations to the verifiers."),
      counter("detection.verifier.false_alarm.count", "tidewatch_false_alarms_total",
              "Escalations the verifiers disagreed with.", "Rare.",
              "Frequent: a network problem near this host; compare vantage points."),
      counter("detection.verifier.deferred.count", "tidewatch_verifier_deferrals_total",
              "Escalations deferred for lack of healthy verifiers.", "0.",
              "Check tidewatch_verifier_rpc_total{result=\"error\"} and the verifiers' /status."),
      counter("detection.verifier.no_clients.count", "tidewatch_verifier_unconfigured_confirmations_total",
              "Confirmations without verification (no verifier configured)."),
      counter("detection.verifier.quorum_met.count", "tidewatch_verifier_quorum_met_total", "Quorums reached."),
      counter("detection.verifier.insufficient_healthy.count", "tidewatch_verifier_insufficient_healthy_total",
              "Escalations with too few healthy verifiers."),
      counter("detection.verifier.cooldown_skipped.count", "tidewatch_verifier_cooldown_skipped_total",
              "Verifier asks skipped because that verifier was cooling down."),
      counter("detection.verifier.deferred_retry_skipped.count", "tidewatch_verifier_deferred_retry_skipped_total",
              "Deferred escalations not yet due for a retry."),
      counter("detection.verifier.parallel_escalation.count", "tidewatch_parallel_escalations_total",
              "Escalations started in parallel with the last local check."),
      counter("detection.verifier.parallel_discarded.count", "tidewatch_parallel_escalations_discarded_total",
              "Parallel verdicts discarded because the last local check succeeded."),
      counter("detection.verifier.parallel_expired.count", "tidewatch_parallel_escalations_expired_total",
              "Parallel verdicts too old to use."),
      counter("detection.verifier.parallel_parked.count", "tidewatch_parallel_verdicts_parked_total",
              "Parallel verdicts that arrived before the last local check and waited for it."),
      counter("detection.verifier.stale_verdict.count", "tidewatch_stale_verdicts_total",
              "Verdicts that arrived after the site's state moved on."),
      counter("detection.maintenance.swallowed.count", "tidewatch_maintenance_swallowed_total",
              "Failures ignored inside a maintenance window."),
      counter("detection.low_confidence_dns.count", "tidewatch_low_confidence_dns_total",
              "DNS timeouts/SERVFAILs held until verifiers confirm."),
      counter("detection.low_confidence_dns.cleared.count", "tidewatch_low_confidence_dns_cleared_total",
              "Low-confidence DNS failures cleared by a success."),
      counter("detection.held.cleared.count", "tidewatch_held_failures_cleared_total",
              "First failures held for the correlation window and cleared."),
      counter("detection.post_recovery_transient_suppressed.count", "tidewatch_post_recovery_suppressed_total",
              "Transient failures right after a recovery, not reopened."),
      counter("detection.recovery.cooldown_suppressed.count", "tidewatch_recovery_alerts_cooldown_suppressed_total",
              "Recovery notifications suppressed by the alert cooldown."),
      counter("detection.down.cooldown_suppressed.count", "tidewatch_down_alerts_cooldown_suppressed_total",
              "Down notifications suppressed by the alert cooldown."),
      counter("detection.notify.down.count", "tidewatch_notifications_requested_total",
              "Notifications the engine asked for.", "", "", {}, {{"status", "down"}}),
      counter("detection.notify.running.count", "tidewatch_notifications_requested_total",
              "Notifications the engine asked for.", "", "", {}, {{"status", "running"}}),
      counter("detection.notify.delivered.count", "tidewatch_notifications_confirmed_total",
              "Notifications the notifier reported delivered.", "", "", {}, {{"result", "delivered"}}),
      counter("detection.notify.undelivered.count", "tidewatch_notifications_confirmed_total",
              "Notifications the notifier reported undelivered.", "0.",
              "WordPress.com unreachable: see tidewatch_wpcom_notifications_total.", {}, {{"result", "undelivered"}}),
      counter("detection.tls_expiry.open.count", "tidewatch_tls_advisories_opened_total",
              "TLS advisories opened.", "", "", {}, {{"kind", "expiry"}}),
      counter("detection.tls_deprecated.open.count", "tidewatch_tls_advisories_opened_total",
              "TLS advisories opened.", "", "", {}, {{"kind", "deprecated"}}),
      gauge("detection.monitor_suspect", "tidewatch_monitor_suspect",
            "1 while failures are correlated across unrelated sites (Unknown, not Down).", "0.",
            "1: the monitor or its resolver is the problem; nobody is paged meanwhile."),
      counter("detection.monitor_suspect.entered.count", "tidewatch_monitor_suspect_episodes_total",
              "Suspect episodes entered."),
      counter("detection.monitor_suspect.left.count", "tidewatch_monitor_suspect_episodes_left_total",
              "Suspect episodes left."),
      counter("detection.unknown.suppressed.count", "tidewatch_unknown_suppressed_total",
              "Failures held as Unknown while the monitor was suspect."),
      counter("detection.unknown.site_audit.count", "tidewatch_unknown_site_audits_total",
              "Per-site audit rows written during suspect episodes."),
      counter("detection.unknown.site_audit_skipped.count", "tidewatch_unknown_site_audits_skipped_total",
              "Per-site audit rows beyond the per-episode cap."),
      gauge("detection.verifier.healthy.count", "tidewatch_verifier_healthy_last",
            "Healthy verifiers in the last escalation."),
      gauge("detection.verifier.confirmations.count", "tidewatch_verifier_confirmations_last",
            "Down votes in the last escalation."),
      gauge("detection.verifier.quorum.count", "tidewatch_verifier_quorum_last", "Quorum of the last escalation."),
      gauge("detection.*.last_ms", "tidewatch_detection_last_duration_seconds",
            "Duration of the last detection step of each kind.", "", "", {"step"}, {}, 0.001),
      counter("detection.*.total_ms", "tidewatch_detection_duration_seconds_total",
              "Total time spent in each detection step (divide by the samples).", "", "", {"step"}, {}, 0.001),
      counter("detection.*.samples", "tidewatch_detection_duration_samples_total",
              "Detection steps measured, by kind.", "", "", {"step"}),
      gauge("incidents.backlog", "tidewatch_incident_queue_checks",
            "Results queued for the incident state machine.", "Near zero.", "Growing: state-machine workers starved."),
      gauge("incidents.recovered_open_events", "tidewatch_incident_recovered_open_events",
            "Open events loaded at the last restart."),
      counter("incidents.resumed_failure_counts", "tidewatch_incident_resumed_failure_counts_total",
              "Seems Down failure counts continued after a restart."),
      counter("incidents.runtime_write.count", "tidewatch_site_runtime_writes_total",
              "Site runtime columns written (site_status, last_alert_sent_at, ssl_expiry_date)."),
      counter("incidents.runtime_write.error", "tidewatch_site_runtime_write_errors_total",
              "Site runtime writes that failed (retried).", "0.", "Check the database."),
  };
  // Per-class variants of the classed counters (compat §3.7).
  for (const char* e : {"failure", "seems_down.open", "down.confirmed", "down.still_down", "probe_cleared",
                        "verifier_cleared", "verifier.false_alarm", "verifier.deferred", "maintenance.swallowed",
                        "low_confidence_dns"}) {
    d.push_back(counter(std::string("detection.") + e + ".*.count", classed, classed_help, "", "", {"status_type"},
                        {{"event", e}}));
  }
  return d;
}

std::vector<MetricDoc> verifierClient() {
  return {
      counter("verifier.rpc.success.count", "tidewatch_verifier_rpcs_total", "Verifier RPCs, all verifiers.", "", "",
              {}, {{"result", "success"}}),
      counter("verifier.rpc.error.count", "tidewatch_verifier_rpcs_total", "Verifier RPCs, all verifiers.", "",
              "Errors: see the per-verifier family.", {}, {{"result", "error"}}),
      timer("verifier.rpc.duration", "tidewatch_verifier_rpc_last_seconds", "Duration of the last verifier RPC."),
      counter("verifier.vote.confirm_down.count", "tidewatch_verifier_votes_total", "Votes received.", "", "", {},
              {{"vote", "down"}}),
      counter("verifier.vote.disagree.count", "tidewatch_verifier_votes_total", "Votes received.", "", "", {},
              {{"vote", "up"}}),
      counter("verifier.vote.duplicate_identity.count", "tidewatch_verifier_duplicate_votes_total",
              "Votes dropped because two verifiers share a vantage."),
      counter("verifier.vote.non_vote.count", "tidewatch_verifier_non_votes_total",
              "Replies that were not votes (timeout, probe error, overload)."),
      counter("verifier.host.*.rpc.success.count", "tidewatch_verifier_rpc_total", "RPCs per verifier.", "", "",
              {"verifier"}, {{"result", "success"}}),
      counter("verifier.host.*.rpc.error.count", "tidewatch_verifier_rpc_total", "RPCs per verifier.", "0 errors.",
              "Check that verifier's /status and the network to it.", {"verifier"}, {{"result", "error"}}),
      counter("verifier.host.*.vote.confirm_down.count", "tidewatch_verifier_host_votes_total", "Votes per verifier.",
              "", "", {"verifier"}, {{"vote", "down"}}),
      counter("verifier.host.*.vote.disagree.count", "tidewatch_verifier_host_votes_total", "Votes per verifier.", "",
              "", {"verifier"}, {{"vote", "up"}}),
      counter("verifier.host.*.cooldown.count", "tidewatch_verifier_cooldowns_total",
              "Times a verifier was put on its error cooldown.", "0.", "Check that verifier.", {"verifier"}),
      gauge("verifier.host.*.rpc.duration", "tidewatch_verifier_host_rpc_last_seconds",
            "Duration of the last RPC per verifier.", "", "", {"verifier"}, {}, 0.001),
  };
}

std::vector<MetricDoc> verifierService() {
  return {
      counter("verifier.checks.received.count", "tidewatch_verifier_service_checks_received_total",
              "Checks received by this verifier service."),
      counter("verifier.checks.completed.count", "tidewatch_verifier_service_checks_completed_total",
              "Checks this verifier service completed."),
      counter("verifier.checks.rejected.count", "tidewatch_verifier_service_checks_shed_total",
              "Checks shed as agent_overloaded.", "0.", "Raise verifier.max_concurrency or add verifiers."),
      counter("verifier.checks.duration.total_ms", "tidewatch_verifier_service_check_seconds_total",
              "Time spent checking.", "", "", {}, {}, 0.001),
      counter("verifier.auth.rejected.count", "tidewatch_verifier_service_auth_rejected_total",
              "Requests with a wrong token.", "0.", "Someone has the wrong token, or is probing the port."),
      counter("verifier.requests.bad.count", "tidewatch_verifier_service_bad_requests_total",
              "Malformed requests.", "0.", ""),
  };
}

std::vector<MetricDoc> notifications() {
  const std::string down = "WordPress.com unreachable or refusing: check the endpoint and token.";
  return {
      counter("wpcom.notification.attempt.count", "tidewatch_wpcom_notifications_total",
              "WordPress.com notification attempts and results.", "", "", {}, {{"result", "attempt"}}),
      counter("wpcom.notification.delivered.count", "tidewatch_wpcom_notifications_total",
              "WordPress.com notification attempts and results.", "", "", {}, {{"result", "delivered"}}),
      counter("wpcom.notification.error.count", "tidewatch_wpcom_notifications_total",
              "WordPress.com notification attempts and results.", "0.", down, {}, {{"result", "error"}}),
      counter("wpcom.notification.retry.count", "tidewatch_wpcom_notifications_total",
              "WordPress.com notification attempts and results.", "", "", {}, {{"result", "retry"}}),
      counter("wpcom.notification.retry.delivered.count", "tidewatch_wpcom_notifications_total",
              "WordPress.com notification attempts and results.", "", "", {}, {{"result", "retry_delivered"}}),
      counter("wpcom.notification.failed.count", "tidewatch_wpcom_notifications_total",
              "WordPress.com notification attempts and results.", "0.", down, {}, {{"result", "failed"}}),
      counter("wpcom.notification.queued.count", "tidewatch_wpcom_notifications_total",
              "WordPress.com notification attempts and results.", "", "", {}, {{"result", "queued"}}),
      counter("wpcom.notification.dropped.count", "tidewatch_wpcom_notifications_total",
              "WordPress.com notification attempts and results.", "0.", down, {}, {{"result", "dropped"}}),
      counter("wpcom.notification.permanent_failure.count", "tidewatch_wpcom_notifications_total",
              "WordPress.com notification attempts and results.", "0.", "404/410: the endpoint is wrong.", {},
              {{"result", "permanent_failure"}}),
      counter("wpcom.notification.disabled.count", "tidewatch_wpcom_notifications_total",
              "WordPress.com notification attempts and results.", "", "", {}, {{"result", "disabled"}}),
      counter("wpcom.notification.status.*.*.count", "tidewatch_wpcom_notifications_by_status_total",
              "WordPress.com notifications by status and result.", "", "", {"status", "result"}),
      counter("wpcom.notification.http.*.permanent_failure.count", "tidewatch_wpcom_permanent_failures_total",
              "Permanent failures by HTTP code.", "0.", "404/410: the endpoint is wrong.", {"code"}),
  };
}

std::vector<MetricDoc> store() {
  const std::string db = "Check the database (connectivity, locks, disk).";
  return {
      counter("mysql.connect.count", "tidewatch_mysql_connects_total", "Database connections opened."),
      counter("mysql.connect.error", "tidewatch_mysql_connect_errors_total", "Database connection failures.", "0.",
              db),
      counter("mysql.projection.rows", "tidewatch_projection_rows_total",
              "last_checked_at rows written (coarse freshness projection)."),
      counter("mysql.projection.error", "tidewatch_projection_errors_total", "Projection batches that failed.", "0.",
              db),
      counter("mysql.projection.retry", "tidewatch_projection_retries_total", "Projection batches retried."),
      gauge("mysql.projection.pending", "tidewatch_projection_pending_rows",
            "Targets whose projection is due and not yet written.", "", ""),
      timer("mysql.projection.flush_ms", "tidewatch_projection_last_flush_seconds", "Duration of the last flush."),
      counter("mysql.history.rows", "tidewatch_history_rows_total", "jetmon_check_history rows written."),
      counter("mysql.history.error", "tidewatch_history_errors_total", "History batches that failed.", "0.", db),
      counter("mysql.history.dropped", "tidewatch_history_dropped_rows_total",
              "History rows dropped beyond the buffer while the database was down.", "0.", db),
      gauge("mysql.history.backlog", "tidewatch_history_backlog_rows", "History rows queued.", "Small.", db),
      counter("eventstore.mutation.retry.count", "tidewatch_event_mutation_retries_total",
              "Event mutations retried after a deadlock or lock wait timeout."),
      counter("eventstore.mutation.reconnect.count", "tidewatch_event_mutation_reconnects_total",
              "Event mutations that waited for the database to come back."),
      counter("eventstore.mutation.abandoned", "tidewatch_event_mutations_abandoned_total",
              "Event mutations abandoned at shutdown.", "0.", "A shutdown with the database down; see the log."),
      gauge("eventstore.backlog", "tidewatch_event_store_backlog_mutations", "Event mutations queued.", "Near zero.",
            db),
      counter("source.mysql.load.count", "tidewatch_fleet_loads_total", "Fleet loads from jetpack_monitor_sites."),
      counter("source.mysql.load.error", "tidewatch_fleet_load_errors_total", "Fleet loads that failed.", "0.", db),
      counter("source.mysql.reload.deferred", "tidewatch_fleet_reloads_deferred_total",
              "Periodic reloads deferred because the scheduler was under pressure."),
      timer("source.mysql.load_ms", "tidewatch_fleet_last_load_seconds", "Duration of the last fleet load."),
      gauge("source.mysql.targets", "tidewatch_fleet_loaded_targets", "Targets in the last load."),
      counter("sink.null.consumed", "tidewatch_null_sink_consumed_total", "Checks sink.null consumed."),
  };
}

}  // namespace

const MetricCatalog& metricCatalog() {
  static const MetricCatalog catalog = [] {
    std::vector<MetricDoc> all;
    for (auto&& group : {scheduler(), detection(), verifierClient(), verifierService(), notifications(), store()})
      all.insert(all.end(), group.begin(), group.end());
    return MetricCatalog(std::move(all));
  }();
  return catalog;
}

}  // namespace tidewatch::app
