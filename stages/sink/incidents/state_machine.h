// The incident state machine (reference/jetmon-compat.md §3–§7, docs/incidents.md) as a pure
// engine: (a site's state, one input, the moment) → the state's next value and the effects
// to carry out. Seems Down on the first failure, local follow-ups, escalation to the
// verifiers after NUM_OF_CHECKS failures (in parallel with the last one), Down on
// confirmation, a false alarm on disagreement, a deferral when too few verifiers are healthy
// (B3), recovery, maintenance swallowing, low-confidence DNS, the hold of a first
// connect/timeout/DNS failure and "Unknown, not Down" while the monitor is the suspect.
// Alerts and cooldown (alerts.h) and TLS advisories (tls_advisories.h) are its parts.
//
// No I/O, no threads, no clock: the caller passes the time, says whether the monitor is the
// suspect and how many verifiers there are, and carries out the Effects. Counting into
// Metrics is its only side effect. The caller owns the SiteState and serialises the inputs of
// one site (shard_executor.h); different sites may be decided concurrently.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "stages/sink/incidents/alerts.h"
#include "stages/sink/incidents/effects.h"
#include "stages/sink/incidents/incident_options.h"
#include "stages/sink/incidents/site_state.h"
#include "stages/sink/incidents/tls_advisories.h"

namespace tidewatch::stages {

// What the engine needs to know about the world for one input.
struct Moment {
  std::int64_t now = 0;       // the engine's clock, unix ms
  bool suspect = false;       // the monitor itself is the suspect (correlation.h)
  std::size_t verifiers = 0;  // verifiers configured (0: confirm without verification)
};

class StateMachine {
 public:
  // `num_of_checks` local failures make the evidence complete; `source` names the local
  // check in alerts; `notifiers` is how many receive each alert.
  StateMachine(const IncidentOptions& options, int num_of_checks, std::string source, std::size_t notifiers,
               Metrics& metrics);

  // A check result of the site. `fresh`: the state was just created for it.
  void onResult(SiteState& st, bool fresh, const CheckPtr& check, const Moment& at, Effects& out);
  // A held first failure comes due. False if the hold was already over (the site answered,
  // or a newer hold replaced it): nothing changed.
  bool onHeldReleased(SiteState& st, std::uint32_t generation, const CheckPtr& check, const Moment& at,
                      Effects& out);
  // The verifiers' verdict on the escalation of `generation`.
  void onVerified(SiteState& st, std::uint32_t generation, const Verification& v, const Moment& at, Effects& out);
  // A notifier's delivery report on an alert (st: null when the site's state is gone).
  void onDelivered(SiteState* st, bool delivered, std::int64_t handoff_ms, std::int64_t previous_ms,
                   const Moment& at, Effects& out);

  // After each input: the site's hot-path flags (slot_flags.h) and whether its state can be
  // dropped (quiet again, and nothing left that a fresh state would get wrong).
  struct Settled {
    std::uint8_t flags = 0;
    bool drop = false;
  };
  Settled settle(const SiteState& st, std::int64_t now) const;

  int numOfChecks() const { return num_of_checks_; }

 private:
  void prepare(SiteState& st, bool fresh, const Check& c, std::int64_t now);
  void onSuccess(SiteState& st, const Check& c, const Moment& at, Effects& out);
  void onFailure(SiteState& st, const CheckPtr& cp, const Moment& at, bool released_from_hold, Effects& out);
  bool postRecoveryTransient(SiteState& st, const Check& c, std::int64_t now, Effects& out);
  bool hold(SiteState& st, const CheckPtr& cp, std::int64_t now, Effects& out);
  void countLocalFailure(SiteState& st, const CheckPtr& cp, const Moment& at, bool released_from_hold, Effects& out);
  void escalate(SiteState& st, const CheckPtr& cp, const Moment& at, bool parallel, Effects& out);
  void verdict(SiteState& st, std::uint32_t gen, const Verification& v, std::int64_t now, Effects& out);
  void applyVerdict(SiteState& st, const Verification& v, std::int64_t now, Effects& out);
  void confirm(SiteState& st, const Verification& v, std::int64_t now, Effects& out);
  void falseAlarm(SiteState& st, const Verification& v, std::int64_t now, Effects& out);
  void unknown(const SiteState& st, const CheckPtr& cp, Effects& out) const;

  const IncidentOptions& o_;
  int num_of_checks_;
  EngineMetrics m_;
  AlertPolicy alerts_;
  TlsAdvisories tls_;
};

}  // namespace tidewatch::stages
