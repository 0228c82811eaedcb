#include "stages/sink/incidents/state_machine.h"

#include <algorithm>

#include "stages/sink/incidents/correlation.h"
#include "stages/sink/incidents/recovery.h"
#include "stages/sink/incidents/slot_flags.h"

namespace tidewatch::stages {
namespace {

using nlohmann::json;

// compat §3.8 "low-confidence DNS": a connect or timeout failure whose DNS lookup got no
// answer at all. NXDOMAIN is excluded on purpose: it is an authoritative answer that the name
// does not exist, as definite as a 503 (docs/incidents.md).
bool isLowConfidenceDns(const Check& c) {
  if (!c.verdict.failure || c.result.http_code != 0) return false;
  if (c.result.error != ErrorCode::kConnect && c.result.error != ErrorCode::kTimeout) return false;
  DnsErrorKind k = c.result.dns_error;
  return k == DnsErrorKind::kTimeout || k == DnsErrorKind::kServFail || k == DnsErrorKind::kResolverError;
}

std::int64_t postRecoveryWindowMs(std::int64_t interval_ms) {
  return std::clamp<std::int64_t>(interval_ms, 60'000, 300'000);
}
std::int64_t postFalseAlarmWindowMs(std::int64_t interval_ms) {
  return std::clamp<std::int64_t>(2 * interval_ms, 300'000, 600'000);
}

}  // namespace

StateMachine::StateMachine(const IncidentOptions& options, int num_of_checks, std::string source,
                           std::size_t notifiers, Metrics& metrics)
    : o_(options), num_of_checks_(num_of_checks), m_(metrics), alerts_(options, std::move(source), notifiers),
      tls_(options) {}

// ---- inputs -------------------------------------------------------------------------------

void StateMachine::onResult(SiteState& st, bool fresh, const CheckPtr& check, const Moment& at, Effects& out) {
  prepare(st, fresh, *check, at.now);
  tls_.onResult(st, *check, at.now, out, m_);
  if (check->verdict.failure) {
    onFailure(st, check, at, false, out);
  } else if (check->verdict.success) {
    onSuccess(st, *check, at, out);
  }
  // Neither (probe safety): not a verdict on the site (compat §2.11).
}

bool StateMachine::onHeldReleased(SiteState& st, std::uint32_t generation, const CheckPtr& check, const Moment& at,
                                  Effects& out) {
  if (!st.held || st.held_generation != generation) return false;
  st.held = false;
  if (at.suspect) {
    st.held_failures = 0;
    unknown(st, check, out);
  } else {
    onFailure(st, check, at, true, out);
  }
  return true;
}

void StateMachine::onVerified(SiteState& st, std::uint32_t generation, const Verification& v, const Moment& at,
                              Effects& out) {
  verdict(st, generation, v, at.now, out);
}

void StateMachine::onDelivered(SiteState* st, bool delivered, std::int64_t handoff_ms, std::int64_t previous_ms,
                               const Moment& at, Effects& out) {
  alerts_.delivered(st, delivered, handoff_ms, previous_ms, at.now, out, m_);
}

StateMachine::Settled StateMachine::settle(const SiteState& st, std::int64_t now) const {
  Settled s;
  bool attention = st.phase != Phase::kUp || st.projected != SiteStatus::kRunning || st.fail_count > 0 || st.held ||
                   st.verifying || st.tls_deprecated_open || st.maint_streak > 0;
  s.flags = (attention ? SlotFlags::kAttention : 0) | (st.phase == Phase::kDown ? SlotFlags::kNoFollowUp : 0);
  if (attention || st.tls_expiry_sev != 0 || !st.target) return s;
  std::int64_t interval_ms = static_cast<std::int64_t>(st.target->interval_s) * 1000;
  bool windows = (st.recovered_ms != 0 && now - st.recovered_ms < postRecoveryWindowMs(interval_ms)) ||
                 (st.false_alarm_ms != 0 && now - st.false_alarm_ms < postFalseAlarmWindowMs(interval_ms));
  bool alert_unpublished = st.last_alert_ms > st.target->last_alert_sent_at * 1000;
  // Until the source publishes a target with the status we projected, a fresh state would
  // start from the stale one (and, for a stale 2, alert a second recovery).
  bool stale_target = st.target->site_status != st.projected;
  s.drop = !(windows || alert_unpublished || stale_target);
  return s;
}

// The state meets the result's target: a fresh state starts from what the source loaded; a
// state resumed from the store (no target yet) continues its failure count.
void StateMachine::prepare(SiteState& st, bool fresh, const Check& c, std::int64_t now) {
  const TargetPtr& t = c.request.target;
  if (fresh) {
    st.projected = t->site_status;
    // A site loaded as not running with no open event (e.g. an event closed by hand): the
    // next success projects 1 again. Loaded confirmed-down implies a down alert went out.
    st.down_notified = t->site_status == SiteStatus::kConfirmedDown;
    if (t->ssl_expiry_date != 0) st.ssl_day = dayOf(t->ssl_expiry_date);
  } else if (!st.target) {
    // Recovered from the database: the projection follows the event we resumed.
    if (t->ssl_expiry_date != 0) st.ssl_day = dayOf(t->ssl_expiry_date);
    if (continueFailureCount(st, *t, now)) m_.add("incidents.resumed_failure_counts");
  }
  st.target = t;
  st.blog_id = t->blog_id;
  st.slot = c.request.slot;
}

// ---- success ------------------------------------------------------------------------------

void StateMachine::onSuccess(SiteState& st, const Check& c, const Moment& at, Effects& out) {
  const std::int64_t now = at.now;
  st.maint_streak = 0;
  st.held_failures = 0;
  if (st.held) {
    st.held = false;  // the held failure was a blip: nothing to open
    m_.add("detection.held.cleared.count");
  }
  st.fail_count = 0;
  st.deferred_until_ms = 0;
  if (st.early_verdict || (st.verifying && st.parallel_escalation)) {
    // The last local check succeeded: the parallel escalation's votes count for nothing,
    // whatever they say (no false alarm, no Down).
    st.early_verdict.reset();
    m_.add("detection.verifier.parallel_discarded.count");
  }
  if (st.phase == Phase::kUnconfirmed) {
    // Low-confidence DNS failures that never opened anything: nothing to close.
    st.phase = Phase::kUp;
    st.verifying = false;
    ++st.generation;
    st.last_failure.reset();
    st.first_fail_ms = 0;
    m_.add("detection.low_confidence_dns.cleared.count");
  }
  if (st.phase == Phase::kUp && st.projected == SiteStatus::kRunning) return;
  const Phase was = st.phase;
  const char* reason = was == Phase::kDown ? "verifier_cleared" : "probe_cleared";
  json meta = evidence::local(c);
  meta["rule"] = was == Phase::kDown      ? "recovery_from_down"
                 : was == Phase::kSeemsDown ? "recovery_from_seems_down"
                                            : "projection_cleared";
  if (st.first_fail_ms != 0)
    meta["observation"] = {{"first_failed_at", evidence::rfc3339(st.first_fail_ms)},
                           {"first_recovered_at", evidence::rfc3339(now)}};
  out.submit(EventMutation::close(identityOf(st), reason, evidence::dump(meta), SiteStatus::kRunning));
  if (was == Phase::kDown) {
    m_.count("detection.verifier_cleared", &c);
    m_.timer("detection.down_to_recovery", now - st.down_ms);
  } else if (was == Phase::kSeemsDown) {
    m_.count("detection.probe_cleared", &c);
    m_.timer("detection.seems_down_to_probe_cleared", now - st.opened_ms);
  }
  if (was != Phase::kUp) st.recovered_ms = now;
  st.phase = Phase::kUp;
  st.projected = SiteStatus::kRunning;
  st.verifying = false;
  ++st.generation;
  st.last_failure.reset();
  st.first_fail_ms = 0;
  alerts_.recovery(st, c, now, out, m_);
}

// ---- failure ------------------------------------------------------------------------------

void StateMachine::onFailure(SiteState& st, const CheckPtr& cp, const Moment& at, bool released_from_hold,
                             Effects& out) {
  const Check& c = *cp;
  const std::int64_t now = at.now;
  m_.count("detection.failure", &c);
  const bool infra = isInfrastructureFailure(c);

  // F0: maintenance swallows the failure before any event work (compat §4).
  if (alerts_.inMaintenance(st, now)) {
    ++st.maint_streak;
    st.held = false;
    st.held_failures = 0;
    json meta = evidence::local(c);
    meta["rule"] = "maintenance";
    meta["maintenance_start"] = evidence::rfc3339(st.target->config->maintenance_start * 1000);
    meta["maintenance_end"] = evidence::rfc3339(st.target->config->maintenance_end * 1000);
    if (st.phase == Phase::kSeemsDown || st.phase == Phase::kDown || st.projected != SiteStatus::kRunning) {
      out.submit(EventMutation::close(identityOf(st), "maintenance_swallowed", evidence::dump(meta),
                                      SiteStatus::kRunning));
    }
    out.audit(st, "maintenance_active", "failure swallowed during maintenance", meta);
    m_.count("detection.maintenance.swallowed", &c);
    st.phase = Phase::kUp;
    st.projected = SiteStatus::kRunning;
    st.fail_count = 0;
    st.verifying = false;
    st.early_verdict.reset();
    st.down_notified = false;
    ++st.generation;
    return;
  }

  // B4: a confirmed-down site that keeps failing is just still down.
  if (st.phase == Phase::kDown) {
    st.fail_count = 0;
    st.maint_streak = 0;
    m_.count("detection.down.still_down", &c);
    return;
  }

  // Unknown, not Down: while the monitor is the suspect, its connect/timeout/DNS failures
  // say nothing about the site. Nothing opens, nothing escalates, nothing is counted.
  if (infra && at.suspect) {
    unknown(st, cp, out);
    return;
  }
  if (infra && postRecoveryTransient(st, c, now, out)) return;
  if (!released_from_hold && infra && hold(st, cp, now, out)) return;
  countLocalFailure(st, cp, at, released_from_hold, out);
}

// Post-recovery / post-false-alarm transient suppression (compat §3.8).
bool StateMachine::postRecoveryTransient(SiteState& st, const Check& c, std::int64_t now, Effects& out) {
  if (!o_.post_recovery_suppression || st.fail_count != 0 || st.phase != Phase::kUp || !st.target) return false;
  std::int64_t interval_ms = static_cast<std::int64_t>(st.target->interval_s) * 1000;
  const char* detail = nullptr;
  if (st.recovered_ms != 0 && now - st.recovered_ms < postRecoveryWindowMs(interval_ms)) {
    detail = "post-recovery transient failure suppressed";
  } else if (st.false_alarm_ms != 0 && now - st.false_alarm_ms < postFalseAlarmWindowMs(interval_ms)) {
    detail = "post-false-alarm transient failure suppressed";
    st.false_alarm_ms = now;  // refreshed on each suppression, as the reference does
  }
  if (!detail) return false;
  json meta = evidence::local(c);
  meta["rule"] = "post_recovery_transient";
  out.audit(st, "alert_suppressed", detail, meta);
  m_.add("detection.post_recovery_transient_suppressed.count");
  return true;
}

// A healthy site's first connect/timeout/DNS failure waits hold_ms for the correlation
// window's verdict: the first seconds of a monitor-side storm must open nothing.
bool StateMachine::hold(SiteState& st, const CheckPtr& cp, std::int64_t now, Effects& out) {
  if (!o_.correlation.enabled || o_.correlation.hold_ms <= 0 || st.phase != Phase::kUp || st.fail_count != 0 ||
      st.maint_streak != 0) {
    return false;
  }
  bool first = !st.held;
  st.held = true;
  if (st.held_failures < 255) ++st.held_failures;
  if (first) {
    ++st.held_generation;
    out.hold = HeldRelease{now + o_.correlation.hold_ms, st.held_generation, cp};
  }
  return true;
}

void StateMachine::countLocalFailure(SiteState& st, const CheckPtr& cp, const Moment& at, bool released_from_hold,
                                     Effects& out) {
  const Check& c = *cp;
  const std::int64_t now = at.now;
  st.held = false;
  // Follow-ups that failed while the first failure was held are local evidence too.
  int extra = released_from_hold && st.held_failures > 1 ? st.held_failures - 1 : 0;
  st.held_failures = 0;

  // F1/F2: the retry entry and Seems Down.
  st.fail_count += 1 + extra;
  st.last_failure = cp;
  if (st.fail_count == 1) st.first_fail_ms = c.result.finished_at_ms != 0 ? std::min(now, c.result.finished_at_ms) : now;
  if (st.maint_streak > 0) {
    // The site was failing when its maintenance window closed: those failures are local
    // evidence too, so it alerts as soon as the window is over (scenarios §2.3).
    st.fail_count = std::max(st.fail_count, std::min(st.maint_streak + 1, num_of_checks_));
    st.maint_streak = 0;
  }
  const bool low_confidence = o_.low_confidence_dns && isLowConfidenceDns(c);
  if (st.phase == Phase::kUp && low_confidence) {
    // compat §3.8: the resolver gave no answer, which may be our own resolver's fault. Count
    // the failure, open nothing; the verifiers decide.
    st.phase = Phase::kUnconfirmed;
    ++st.generation;
    st.down_notified = false;
    m_.count("detection.low_confidence_dns", &c);
  } else if (st.phase == Phase::kUp || (st.phase == Phase::kUnconfirmed && !low_confidence)) {
    // A first failure, or the first definite one after low-confidence DNS failures (whose
    // count carries on; a verification in flight stays valid, so no generation bump).
    const bool after_dns = st.phase == Phase::kUnconfirmed;
    json meta = evidence::local(c);
    meta["rule"] = after_dns ? "failure_after_low_confidence_dns" : "first_failure";
    if (after_dns) meta["local_failures"] = st.fail_count;
    out.submit(EventMutation::open(identityOf(st), Severity::kSeemsDown, "Seems Down", evidence::dump(meta),
                                   SiteStatus::kDown));
    st.phase = Phase::kSeemsDown;
    st.projected = SiteStatus::kDown;
    st.opened_ms = now;
    if (!after_dns) ++st.generation;
    st.down_notified = false;
    m_.count("detection.seems_down.open", &c);
    m_.timer("detection.first_failure_to_seems_down", now - st.first_fail_ms);
  }
  // F3: more local evidence first.
  if (st.fail_count < num_of_checks_) {
    json meta{{"attempt", st.fail_count}, {"of", num_of_checks_}, {"http_code", c.result.http_code},
              {"error_code", static_cast<int>(c.result.error)}, {"rule", "local_retry"},
              {"local_failures", st.fail_count}, {"at_ms", now}};
    if (st.phase == Phase::kUnconfirmed) meta["low_confidence_dns_failure"] = true;
    out.audit(st, "retry_dispatched",
              "retry " + std::to_string(st.fail_count) + " of " + std::to_string(num_of_checks_), meta);
    // The next local check is the last one: ask the verifiers now, in parallel with it.
    if (st.fail_count == num_of_checks_ - 1 && o_.parallel_escalation && !st.verifying && !st.early_verdict &&
        st.deferred_until_ms <= now && at.verifiers > 0) {
      escalate(st, cp, at, true, out);
    }
    return;
  }
  // F4: the local evidence is complete. A parallel escalation's verdict that is already in
  // applies now; one still in flight applies when it arrives — unless it started so long
  // ago (the last local check came late, e.g. on the normal cadence) that its votes are
  // stale: then it is dropped and the verifiers are asked afresh.
  const std::int64_t max_age_ms = static_cast<std::int64_t>(o_.parallel_escalation_max_age_s) * 1000;
  if (st.early_verdict) {
    std::shared_ptr<Verification> v = std::move(st.early_verdict);
    if (now - st.escalated_ms <= max_age_ms) {
      applyVerdict(st, *v, now, out);
      return;
    }
    m_.add("detection.verifier.parallel_expired.count");
  } else if (st.verifying) {
    if (!st.parallel_escalation || now - st.escalated_ms <= max_age_ms) return;
    m_.add("detection.verifier.parallel_expired.count");
    st.verifying = false;  // escalate() bumps the generation: the old verdict will be stale
  }
  if (st.deferred_until_ms > now) {
    m_.add("detection.verifier.deferred_retry_skipped.count");
    return;
  }
  escalate(st, cp, at, false, out);
}

void StateMachine::unknown(const SiteState& st, const CheckPtr& cp, Effects& out) const {
  out.unknown = UnknownFailure{identityOf(st), cp, st.fail_count};
}

// ---- verification -------------------------------------------------------------------------

void StateMachine::escalate(SiteState& st, const CheckPtr& cp, const Moment& at, bool parallel, Effects& out) {
  const std::int64_t now = at.now;
  m_.count("detection.verifier.escalation", nullptr);
  if (parallel) m_.add("detection.verifier.parallel_escalation.count");
  m_.timer("detection.first_failure_to_verification", now - st.first_fail_ms);
  st.verifying = true;
  st.parallel_escalation = parallel;
  st.escalated_ms = now;
  std::uint32_t gen = ++st.generation;
  if (at.verifiers == 0) {
    // No verifiers configured: confirm without verification (compat §6.2).
    m_.add("detection.verifier.no_clients.count");
    Verification v;
    v.decision = Verification::Decision::kNoVerifiers;
    verdict(st, gen, v, now, out);
    return;
  }
  json meta{{"rule", parallel ? "parallel_escalation" : "escalation"},
            {"failures", st.fail_count},
            {"local", evidence::local(*cp)},
            {"local_failures", st.fail_count},
            {"at_ms", now}};
  if (parallel) meta["parallel_with_local_check"] = num_of_checks_;
  if (st.phase == Phase::kUnconfirmed) meta["low_confidence_dns_failure"] = true;
  out.audit(st, "veriflier_sent", "escalating to " + std::to_string(at.verifiers) + " verifiers", meta);
  out.escalation = Escalation{st.target, cp, gen};
}

void StateMachine::verdict(SiteState& st, std::uint32_t gen, const Verification& v, std::int64_t now, Effects& out) {
  if (!st.verifying || gen != st.generation || (st.phase != Phase::kSeemsDown && st.phase != Phase::kUnconfirmed)) {
    // The site recovered (or was swallowed) while the verifiers were looking.
    m_.add("detection.verifier.stale_verdict.count");
    return;
  }
  st.verifying = false;
  if (st.fail_count < num_of_checks_) {
    // A parallel escalation answered before the last local check: its votes wait for it.
    st.early_verdict = std::make_shared<Verification>(v);
    m_.add("detection.verifier.parallel_parked.count");
    return;
  }
  applyVerdict(st, v, now, out);
}

// The decision, once both the local evidence (num_of_checks failures) and the verdict are in.
void StateMachine::applyVerdict(SiteState& st, const Verification& v, std::int64_t now, Effects& out) {
  for (const VerifierVote& vote : v.votes) {
    std::string what = vote.isVote() ? (vote.outcome == VerifierVote::Outcome::kDown ? "down" : "up")
                                     : std::string(toString(vote.outcome));
    out.audit(st, "veriflier_sent",
              "reply from " + vote.verifier + ": " + what + " http_code=" + std::to_string(vote.http_code),
              {{"vote", evidence::vote(vote)}}, vote.host.empty() ? vote.verifier : vote.host);
  }
  m_.raw().gauge("detection.verifier.healthy.count").store(v.healthy);
  m_.raw().gauge("detection.verifier.confirmations.count").store(v.confirmations);
  m_.raw().gauge("detection.verifier.quorum.count").store(v.quorum);
  switch (v.decision) {
    case Verification::Decision::kConfirmed:
    case Verification::Decision::kNoVerifiers:
      confirm(st, v, now, out);
      return;
    case Verification::Decision::kDisagreed:
      falseAlarm(st, v, now, out);
      return;
    case Verification::Decision::kDeferred: {
      // B3: too few healthy verifiers is no verdict. Stay Seems Down and escalate again on
      // the first failure after the back-off (capped at the site's interval).
      std::int64_t back_off = v.retry_after_ms > 0 ? v.retry_after_ms : 15'000;
      if (st.target) back_off = std::min<std::int64_t>(back_off, static_cast<std::int64_t>(st.target->interval_s) * 1000);
      st.deferred_until_ms = now + back_off;
      json meta = evidence::decision(v);
      meta["votes"] = evidence::votes(v);
      meta["rule"] = "verifier_deferred";
      out.audit(st, "veriflier_sent", "verifier retry deferred: " + std::to_string(v.healthy) + " healthy", meta);
      m_.count("detection.verifier.deferred", st.last_failure.get());
      return;
    }
  }
}

void StateMachine::confirm(SiteState& st, const Verification& v, std::int64_t now, Effects& out) {
  const Check* local = st.last_failure.get();
  json meta = local ? evidence::local(*local) : json::object();
  meta.update(evidence::decision(v));
  meta["votes"] = evidence::votes(v);
  meta["verifier_results"] = evidence::verifierResults(v);
  meta["verifier_confirmed"] = true;
  meta["rule"] = v.decision == Verification::Decision::kNoVerifiers ? "no_verifiers_configured" : "verifier_quorum";
  const bool unconfirmed = st.phase == Phase::kUnconfirmed;
  if (alerts_.inMaintenance(st, now)) {
    if (!unconfirmed || st.projected != SiteStatus::kRunning)
      out.submit(EventMutation::close(identityOf(st), "maintenance_swallowed", evidence::dump(meta),
                                      SiteStatus::kRunning));
    out.audit(st, "maintenance_active", "downtime suppressed during maintenance", {{"rule", "maintenance"}});
    st.phase = Phase::kUp;
    st.projected = SiteStatus::kRunning;
    st.fail_count = 0;
    ++st.generation;
    return;
  }
  if (unconfirmed) {
    // compat §3.8: nothing was open for low-confidence DNS failures; the verifiers' word
    // opens Down directly (transition `opened`, severity 4) and projects 2.
    meta["opened_after_verifier_confirmation"] = true;
    meta["low_confidence_dns_failure"] = true;
    meta["local_failures"] = st.fail_count;
    out.submit(EventMutation::open(identityOf(st), Severity::kDown, "Down", evidence::dump(meta),
                                   SiteStatus::kConfirmedDown));
    st.opened_ms = now;
  } else {
    out.submit(EventMutation::promote(identityOf(st), Severity::kDown, "Down", "verifier_confirmed",
                                      evidence::dump(meta), SiteStatus::kConfirmedDown));
  }
  st.phase = Phase::kDown;
  st.projected = SiteStatus::kConfirmedDown;
  st.down_ms = now;
  st.fail_count = 0;
  ++st.generation;
  m_.count("detection.down.confirmed", local);
  m_.timer("detection.seems_down_to_down", now - st.opened_ms);
  m_.timer("detection.first_failure_to_down", now - st.first_fail_ms);
  alerts_.down(st, local, v, now, out, m_);
}

void StateMachine::falseAlarm(SiteState& st, const Verification& v, std::int64_t now, Effects& out) {
  const Check* local = st.last_failure.get();
  if (local) {
    out.submit(EventMutation::falsePositive(identityOf(st), local->result.http_code,
                                            static_cast<int>(local->result.error),
                                            static_cast<int>(local->result.timings.rtt_ms)));
  }
  json meta = evidence::decision(v);
  meta["votes"] = evidence::votes(v);
  meta["rule"] = "verifier_disagreed";
  if (local) meta["local"] = evidence::local(*local);
  // Low-confidence DNS failures opened nothing, so there is nothing to close (unless the
  // projection was off on its own).
  if (st.phase != Phase::kUnconfirmed || st.projected != SiteStatus::kRunning)
    out.submit(EventMutation::close(identityOf(st), "false_alarm", evidence::dump(meta), SiteStatus::kRunning));
  m_.count("detection.verifier.false_alarm", local);
  if (st.phase == Phase::kSeemsDown) m_.timer("detection.seems_down_to_false_alarm", now - st.opened_ms);
  st.phase = Phase::kUp;
  st.projected = SiteStatus::kRunning;
  st.fail_count = 0;
  st.false_alarm_ms = now;
  st.first_fail_ms = 0;
  ++st.generation;
  st.last_failure.reset();
}

}  // namespace tidewatch::stages
