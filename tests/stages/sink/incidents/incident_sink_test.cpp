// The incident state machine (compat §3–§7 and the deliberate fixes of §14) with a fake
// verifier, a recording notifier, a fake clock and the in-memory IncidentStore: no database.
#include <gtest/gtest.h>

#include <chrono>
#include <cstdio>
#include <set>
#include <thread>

#include "pipeline/due_wheel.h"
#include "pipeline/runner.h"
#include "tests/stages/sink/incidents/incident_test_support.h"

namespace tidewatch::stages::test {
namespace {

// A site with its jetpack_monitor_sites row, and the target the source loads for it.
TargetPtr siteOf(Engine& e, TargetSpec spec = {}) {
  e.addSite(spec.id);
  return target(spec);
}

// `n` failures on the retry cadence (10 s apart; the clock moves on after each).
void fail(Engine& e, const TargetPtr& t, int n, CheckPtr (*make)(const TargetPtr&, std::int64_t) = http503) {
  for (int i = 0; i < n; ++i) {
    e.feed(make(t, e.now));
    e.advance(10 * kSec);
  }
}
// Three failures: Seems Down, then escalation.
void failThrice(Engine& e, const TargetPtr& t, CheckPtr (*make)(const TargetPtr&, std::int64_t) = http503) {
  fail(e, t, 3, make);
}

// Polls (without waiting for the engine to be idle, which it is not while a verdict is out).
void waitForCalls(Engine& e, int calls) {
  for (int i = 0; i < 4000 && e.verifier->calls.load() < calls; ++i) std::this_thread::sleep_for(std::chrono::milliseconds(5));
}

// How many audit rows of `type` say exactly `detail`.
long long auditsSaying(const Engine& e, const std::string& type, const std::string& detail) {
  return countWhere(auditsOf(e, type), [&](const Audit& a) { return a.detail == detail; });
}

// The first event's metadata.
nlohmann::json eventMeta(const Engine& e) {
  auto events = e.fake->events();
  return events.empty() ? nlohmann::json() : meta(events.front().metadata);
}

TEST(Incident, FirstFailureOpensSeemsDownWithTransitionProjectionAndAudit) {
  Engine e;
  auto t = siteOf(e);
  EXPECT_TRUE(e.feed(http503(t, e.now)));
  EXPECT_EQ(httpEvents(e), "Seems Down/3/open");
  EXPECT_EQ(reasons(e), "opened");
  EXPECT_EQ(siteStatus(e, 1), 0);
  EXPECT_EQ(details(e, "retry_dispatched"), "retry 1 of 3");
  EXPECT_EQ(countWhere(e.fake->audits(), [](const Audit& a) { return a.event_id != 0; }), 1);
  // Evidence: the local result and the rule that fired.
  EXPECT_EQ(eventMeta(e)["http_code"], 503);
  EXPECT_EQ(eventMeta(e)["rule"], "first_failure");
  EXPECT_EQ(eventMeta(e)["method"], "GET");
  EXPECT_EQ(e.notifier.all().size(), 0u);
  EXPECT_EQ(e.verifier->calls.load(), 0);
  EXPECT_TRUE(e.sink->allowFollowUp(*http503(t, e.now)));
}

TEST(Incident, HealthyChecksOfRunningSitesAreNotWanted) {
  Engine e;
  auto t = target({.id = 2});
  EXPECT_FALSE(e.sink->wants(*ok(t, e.now)));
  EXPECT_TRUE(e.sink->wants(*http503(t, e.now)));
  auto down = target({.id = 3, .status = SiteStatus::kDown});
  EXPECT_TRUE(e.sink->wants(*ok(down, e.now)));
}

TEST(Incident, RouteFilterCostsLittleForHealthyChecks) {
  Engine e;
  constexpr int kSites = 4096;
  std::vector<CheckPtr> checks;
  for (int i = 0; i < kSites; ++i) checks.push_back(ok(target({.id = static_cast<std::uint64_t>(i + 1)}), e.now));
  constexpr int kRounds = 250;  // ~1 M routed results
  int wanted = 0;
  auto start = std::chrono::steady_clock::now();
  for (int r = 0; r < kRounds; ++r)
    for (const auto& c : checks) wanted += e.sink->wants(*c);
  double ns = std::chrono::duration<double, std::nano>(std::chrono::steady_clock::now() - start).count() /
              (kRounds * kSites);
  std::printf("wants() on a healthy check of a healthy site: %.1f ns\n", ns);
  EXPECT_EQ(wanted, 0);
  EXPECT_LT(ns, 2000);  // DESIGN.md §7: routing has ≤ 5 µs per check in all
}

TEST(Incident, ThreeFailuresEscalateAndConfirmationPromotesToDownAndNotifies) {
  Engine e;
  auto t = siteOf(e);
  failThrice(e, t);
  EXPECT_EQ(e.verifier->calls.load(), 1);
  EXPECT_EQ(httpEvents(e), "Down/4/open");
  EXPECT_EQ(reasons(e), "opened,verifier_confirmed");
  EXPECT_EQ(siteStatus(e, 1), 2);
  EXPECT_EQ(audits(e, "retry_dispatched"), 2);
  EXPECT_EQ(auditsOf(e, "veriflier_sent").front().detail, "escalating to 3 verifiers");
  EXPECT_EQ(audits(e, "veriflier_sent"), 4);  // escalation + one per reply
  EXPECT_EQ(countWhere(auditsOf(e, "veriflier_sent"), [](const Audit& a) { return a.source == "127.0.0.2"; }), 1);
  EXPECT_EQ(audits(e, "wpcom_sent"), 1);
  auto sent = e.notifier.all();
  ASSERT_EQ(sent.size(), 1u);
  EXPECT_EQ(sent[0].status_id, 2);
  EXPECT_EQ(sent[0].blog_id, Engine::blogOf(1));
  EXPECT_EQ(sent[0].status_type, StatusType::kServer);
  ASSERT_EQ(sent[0].checks.size(), 4u);  // local + one per healthy verifier
  EXPECT_EQ(sent[0].checks[0].type, 1);
  EXPECT_EQ(sent[0].checks[0].code, 503);
  EXPECT_EQ(sent[0].checks[1].type, 2);
  // Evidence on the promotion: votes, quorum and the rule.
  auto promoted = transitionMeta(e, "verifier_confirmed");
  EXPECT_EQ(promoted["verifier_quorum"], 3);
  EXPECT_EQ(promoted["votes"].size(), 3u);
  EXPECT_EQ(promoted["rule"], "verifier_quorum");
  EXPECT_EQ(promoted["verifier_results"][0]["success"], false);
  // Confirmed down: back to the normal cadence.
  EXPECT_FALSE(e.sink->allowFollowUp(*http503(t, e.now)));
  // last_alert_sent_at written for the cooldown anchor.
  EXPECT_TRUE(e.fake->site(1)->last_alert_ms.has_value());
}

TEST(Incident, VerifierDisagreementClosesAsFalseAlarmAndRecordsFalsePositive) {
  Engine e;
  auto t = siteOf(e);
  e.verifier->decide = [](const TargetPtr&) { return FakeVerifier::disagreed(); };
  failThrice(e, t);
  EXPECT_EQ(httpEvents(e), "Seems Down/3/false_alarm");
  EXPECT_EQ(reasons(e), "opened,false_alarm");
  EXPECT_EQ(siteStatus(e, 1), 1);
  auto fps = e.fake->falsePositives();
  ASSERT_EQ(fps.size(), 1u);
  EXPECT_EQ(fps[0].blog_id, 5001u);
  EXPECT_EQ(fps[0].http_code, 503);
  EXPECT_EQ(fps[0].error_code, 0);
  EXPECT_EQ(fps[0].rtt_ms, 120);
  EXPECT_EQ(e.notifier.all().size(), 0u);
  EXPECT_EQ(transitionMeta(e, "false_alarm")["disagreed"], 3);
}

TEST(Incident, VerifierOutageDefersInsteadOfFalseAlarm) {
  Engine e;
  auto t = siteOf(e);
  e.verifier->decide = [](const TargetPtr&) { return FakeVerifier::deferred(15'000); };
  failThrice(e, t);
  // B3: no verdict is not a false alarm.
  EXPECT_EQ(httpEvents(e), "Seems Down/3/open");
  EXPECT_EQ(falsePositives(e), 0);
  EXPECT_EQ(siteStatus(e, 1), 0);
  EXPECT_EQ(auditsWithDetail(e, "verifier retry deferred"), 1);
  EXPECT_EQ(e.verifier->calls.load(), 1);
  // A failure inside the back-off does not escalate; the first one after it does.
  e.advance(2 * kSec);  // 12 s after the deferral... minus the 10 s already advanced
  e.feed(http503(t, e.now));
  EXPECT_EQ(e.verifier->calls.load(), 1);
  e.advance(10 * kSec);
  e.verifier->decide = [](const TargetPtr&) { return FakeVerifier::confirmed(); };
  e.feed(http503(t, e.now));
  EXPECT_EQ(e.verifier->calls.load(), 2);
  EXPECT_EQ(httpEvents(e), "Down/4/open");
  EXPECT_EQ(e.notifier.count(2), 1);
}

TEST(Incident, RecoveryFromSeemsDownClosesWithoutNotification) {
  Engine e;
  auto t = siteOf(e);
  fail(e, t, 1);
  e.feed(ok(t, e.now));
  EXPECT_EQ(httpEvents(e), "Seems Down/3/probe_cleared");
  EXPECT_EQ(siteStatus(e, 1), 1);
  // B5a: the owner never heard about this incident, so no "back up" either.
  EXPECT_EQ(e.notifier.all().size(), 0u);
  EXPECT_EQ(audits(e, "wpcom_sent"), 0);
}

TEST(Incident, RecoveryFromDownNotifiesWithTheLocalResult) {
  IncidentOptions o = Engine::defaults();
  o.alert_cooldown_minutes = 0;
  Engine e(o);
  auto t = siteOf(e);
  failThrice(e, t);
  e.feed(ok(t, e.now));
  EXPECT_EQ(httpEvents(e), "Down/4/verifier_cleared");
  EXPECT_EQ(reasons(e), "opened,verifier_confirmed,verifier_cleared");
  EXPECT_EQ(siteStatus(e, 1), 1);
  auto sent = e.notifier.all();
  ASSERT_EQ(sent.size(), 2u);
  EXPECT_EQ(sent[1].status_id, 1);
  ASSERT_EQ(sent[1].checks.size(), 1u);
  EXPECT_EQ(sent[1].checks[0].code, 200);
  EXPECT_EQ(sent[1].checks[0].status, 1);
}

TEST(Incident, RecoveryInsideTheCooldownIsSuppressedAndAudited) {
  Engine e;  // 30-minute default cooldown, which the reference applies to recoveries too
  auto t = siteOf(e);
  failThrice(e, t);
  e.feed(ok(t, e.now));
  EXPECT_EQ(e.notifier.count(2), 1);
  EXPECT_EQ(e.notifier.count(1), 0);
  // B5b: the reference dropped it silently.
  EXPECT_EQ(auditsSaying(e, "alert_suppressed", "recovery cooldown active"), 1);
}

TEST(Incident, MaintenanceWindowFullyCoveringTheFailureSwallowsIt) {
  Engine e;
  std::int64_t now_s = e.now / 1000;
  auto t = siteOf(e, {.id = 1, .maintenance_start = now_s - 60, .maintenance_end = now_s + 600});
  for (int i = 0; i < 6; ++i) {
    e.feed(http503(t, e.now));
    e.advance(20 * kSec);
  }
  e.feed(ok(t, e.now));
  EXPECT_EQ(eventCount(e), 0);
  EXPECT_EQ(siteStatus(e, 1), 1);
  EXPECT_EQ(audits(e, "maintenance_active"), 6);
  EXPECT_EQ(e.verifier->calls.load(), 0);
  EXPECT_EQ(e.notifier.all().size(), 0u);
}

TEST(Incident, FailureOutlivingMaintenanceAlertsAsSoonAsTheWindowCloses) {
  Engine e;
  std::int64_t now_s = e.now / 1000;
  auto t = siteOf(e, {.id = 1, .maintenance_start = now_s - 60, .maintenance_end = now_s + 100});
  // An incident already open when the window starts is swallowed too.
  auto plain = target({.id = 1});
  e.feed(http503(plain, e.now - 30 * kSec));
  EXPECT_EQ(httpEvents(e), "Seems Down/3/open");
  for (int i = 0; i < 4; ++i) {  // t = 0, 30, 60, 90 s: inside
    e.feed(http503(t, e.now));
    e.advance(30 * kSec);
  }
  EXPECT_EQ(httpEvents(e), "Seems Down/3/maintenance_swallowed");
  EXPECT_EQ(siteStatus(e, 1), 1);
  // t = 120 s: the window closed at 100 s and the site still fails: Down at once, because the
  // swallowed failures were consecutive local evidence.
  e.feed(http503(t, e.now));
  EXPECT_EQ(e.verifier->calls.load(), 1);
  EXPECT_EQ(httpEvents(e), "Seems Down/3/maintenance_swallowed | Down/4/open");
  EXPECT_EQ(e.notifier.count(2), 1);
}

TEST(Incident, CooldownSuppressesTheSecondOutageAndAuditsIt) {
  Engine e;
  auto t = siteOf(e, {.id = 1, .cooldown_minutes = 30});
  failThrice(e, t);
  e.feed(ok(t, e.now));
  e.advance(10 * kMin);
  failThrice(e, t);
  EXPECT_EQ(httpEvents(e), "Down/4/verifier_cleared | Down/4/open");
  EXPECT_EQ(e.notifier.count(2), 1);
  EXPECT_EQ(auditsSaying(e, "alert_suppressed", "cooldown active"), 1);
}

TEST(Incident, CooldownZeroNotifiesBothOutages) {
  Engine e;
  auto t = siteOf(e, {.id = 1, .cooldown_minutes = 0});
  failThrice(e, t);
  e.feed(ok(t, e.now));
  e.advance(10 * kMin);
  failThrice(e, t);
  EXPECT_EQ(e.notifier.count(2), 2);
  EXPECT_EQ(e.notifier.count(1), 1);
  EXPECT_EQ(audits(e, "alert_suppressed"), 0);
}

TEST(Incident, AnUndeliveredAlertDoesNotHoldBackTheNextOne) {
  Engine e;
  auto t = siteOf(e, {.id = 1, .cooldown_minutes = 30});
  e.notifier.deliver = false;
  failThrice(e, t);
  e.feed(ok(t, e.now));
  e.advance(5 * kMin);
  e.notifier.deliver = true;
  failThrice(e, t);
  // The first alert never arrived, so the second is not inside its cooldown.
  EXPECT_EQ(e.notifier.count(2), 2);
}

TEST(Incident, CooldownIsMeasuredFromTheLoadedLastAlert) {
  Engine e;
  auto t = siteOf(e, {.id = 1, .last_alert_sent_at = e.now / 1000 - 5 * 60});
  failThrice(e, t);
  EXPECT_EQ(httpEvents(e), "Down/4/open");
  EXPECT_EQ(e.notifier.count(2), 0);
  EXPECT_EQ(audits(e, "alert_suppressed"), 1);
}

TEST(Incident, FlappingAtFortyPercentFailuresDoesNotStormNotifications) {
  Engine e;
  // The verifiers see the same 40 % flapping: mostly up.
  e.verifier->decide = [](const TargetPtr&) { return FakeVerifier::disagreed(); };
  auto t = siteOf(e, {.id = 1, .interval_s = 60});
  const char* pattern = "FSFFSSFSSFFFSSFSFSSSFFSFSSFSFFFSSSFSSFSFF";  // 40 % F, with runs of three
  int failures = 0;
  for (const char* p = pattern; *p; ++p) {
    e.feed(*p == 'F' ? check(t, e.now, 502 + (failures++ % 3)) : ok(t, e.now), false);
    e.idle();
    e.advance(20 * kSec);
  }
  EXPECT_EQ(e.notifier.all().size(), 0u);
  EXPECT_GT(e.verifier->calls.load(), 0);
  EXPECT_EQ(countWhere(e.fake->events(), [](const Event& ev) { return ev.open && ev.severity == Severity::kDown; }), 0);
  // With confirming verifiers, the cooldown bounds the alerts of one flapping site to one.
  e.verifier->decide = [](const TargetPtr&) { return FakeVerifier::confirmed(); };
  for (int round = 0; round < 4; ++round) {
    failThrice(e, t);
    e.feed(ok(t, e.now));
    e.advance(3 * kMin);
  }
  EXPECT_EQ(e.notifier.count(2), 1);
  EXPECT_EQ(e.notifier.count(1), 0);
}

TEST(Incident, ConfirmedDownSiteThatKeepsFailingIsNotReescalated) {
  Engine e;
  auto t = siteOf(e, {.id = 1, .cooldown_minutes = 0});
  failThrice(e, t);
  e.verifier->decide = [](const TargetPtr&) { return FakeVerifier::disagreed(); };
  for (int i = 0; i < 9; ++i) {
    e.feed(http503(t, e.now));
    e.advance(60 * kSec);
  }
  // B4: no second escalation, no second alert, and never a false alarm on a Down event.
  EXPECT_EQ(e.verifier->calls.load(), 1);
  EXPECT_EQ(e.notifier.count(2), 1);
  EXPECT_EQ(httpEvents(e), "Down/4/open");
  EXPECT_EQ(falsePositives(e), 0);
  EXPECT_EQ(e.metrics.counter("detection.down.still_down.count").load(), 9u);
}

TEST(Incident, TransientConnectFailureJustAfterRecoveryIsSuppressed) {
  Engine e;
  auto t = siteOf(e, {.id = 1, .interval_s = 60});
  fail(e, t, 1);
  e.feed(ok(t, e.now));
  e.advance(30 * kSec);
  e.feed(refused(t, e.now));  // inside clamp(60 s, 1, 5 min) of the recovery
  EXPECT_EQ(eventCount(e), 1);
  EXPECT_EQ(details(e, "alert_suppressed"), "post-recovery transient failure suppressed");
  // An HTTP answer is never "transient": it opens at once.
  e.feed(http503(t, e.now));
  EXPECT_EQ(openEventCount(e), 1);
  e.feed(ok(t, e.now));
  // After the window, a connect failure opens as usual.
  e.advance(2 * kMin);
  e.feed(timeout(t, e.now));
  EXPECT_EQ(openEventCount(e), 1);
}

TEST(Incident, TransientFailureAfterFalseAlarmIsSuppressed) {
  Engine e;
  e.verifier->decide = [](const TargetPtr&) { return FakeVerifier::disagreed(); };
  auto t = siteOf(e, {.id = 1, .interval_s = 60});
  failThrice(e, t, timeout);
  e.advance(3 * kMin);  // inside clamp(2 × 60 s, 5, 10 min)
  e.feed(timeout(t, e.now));
  EXPECT_EQ(eventCount(e), 1);
  EXPECT_EQ(details(e, "alert_suppressed"), "post-false-alarm transient failure suppressed");
}

CheckPtr tlsCheck(const TargetPtr& t, std::int64_t now, std::uint16_t version, std::int64_t not_after_s) {
  auto c = ok(t, now);
  c->result.tls.version = version;
  c->result.tls.cipher = "ECDHE-RSA-AES128-GCM-SHA256";
  c->result.tls.cipher_id = 0xc02f;
  c->result.tls.cert_not_after = not_after_s;
  c->verdict = classifyJetmon(c->result);
  return c;
}

std::string stateOf(const Event& ev) { return ev.state + "/" + std::to_string(static_cast<int>(ev.severity)); }

TEST(Incident, TlsExpiryWarnsAtThirtyDaysDegradesAtSevenAndDeescalatesOnRenewal) {
  Engine e;
  auto t = siteOf(e);
  std::int64_t now_s = e.now / 1000;
  constexpr std::int64_t kDay = 86400;
  // 90 days: the date is new (written), nothing opens.
  EXPECT_TRUE(e.feed(tlsCheck(t, e.now, 0x0304, now_s + 90 * kDay)));
  EXPECT_EQ(eventCount(e), 0);
  EXPECT_EQ(e.fake->site(1)->ssl_expiry_day.value_or(-1), (now_s + 90 * kDay) / kDay);
  // The same date again: not even wanted.
  EXPECT_FALSE(e.sink->wants(*tlsCheck(t, e.now, 0x0304, now_s + 90 * kDay)));
  // A certificate expiring in 20 days: Warning.
  e.feed(tlsCheck(t, e.now, 0x0304, now_s + 20 * kDay + 3600));
  ASSERT_EQ(eventsOf(e, "tls_expiry").size(), 1u);
  EXPECT_EQ(stateOf(eventsOf(e, "tls_expiry")[0]), "Warning/1");
  EXPECT_EQ(eventMeta(e)["days_until"], 20);
  // 14 days later it has 6 days left: Degraded.
  e.advance(14 * kDay * 1000);
  e.feed(tlsCheck(t, e.now, 0x0304, now_s + 20 * kDay + 3600));
  EXPECT_EQ(stateOf(eventsOf(e, "tls_expiry")[0]), "Degraded/2");
  // Renewed to 25 days from now: back to Warning; then to 60 days: closed.
  e.feed(tlsCheck(t, e.now, 0x0304, e.now / 1000 + 25 * kDay));
  e.feed(tlsCheck(t, e.now, 0x0304, e.now / 1000 + 60 * kDay));
  EXPECT_EQ(reasons(e, "tls_expiry"), "opened,severity_escalation,severity_deescalation,probe_cleared");
  EXPECT_EQ(openEventCount(e), 0);
  // Advisories never touch site_status and never notify.
  EXPECT_EQ(siteStatus(e, 1), 1);
  EXPECT_EQ(e.notifier.all().size(), 0u);
}

TEST(Incident, TlsDeprecatedOpensWhileTls11AndClosesOnTls12) {
  Engine e;
  auto t = siteOf(e);
  std::int64_t later = e.now / 1000 + 200 * 86400;
  auto c = tlsCheck(t, e.now, 0x0302, later);
  EXPECT_TRUE(c->verdict.success);
  EXPECT_TRUE(e.feed(c));
  e.feed(tlsCheck(t, e.now, 0x0302, later));  // still 1.1: no second event
  ASSERT_EQ(eventCount(e), 1);
  EXPECT_EQ(eventsOf(e, "tls_deprecated").size(), 1u);
  EXPECT_EQ(stateOf(e.fake->events()[0]), "Warning/1");
  EXPECT_EQ(eventMeta(e)["tls_version"], "TLS 1.1");
  EXPECT_EQ(eventMeta(e)["tls_version_code"], "0x0302");
  // A 1.2 handshake is wanted because the advisory is open, and closes it.
  auto modern = tlsCheck(t, e.now, 0x0303, later);
  EXPECT_TRUE(e.feed(modern));
  EXPECT_EQ(reasons(e, "tls_deprecated"), "opened,probe_cleared");
  EXPECT_EQ(siteStatus(e, 1), 1);
  EXPECT_EQ(e.notifier.all().size(), 0u);
  EXPECT_FALSE(e.sink->wants(*tlsCheck(t, e.now, 0x0303, later)));
}

// ---- Unknown, not Down: correlated failures -------------------------------------------------

// A correlation window of 10 s that decides on 40 results: a 60-site fleet fills it in one
// second. Each test sets its own thresholds on top.
IncidentOptions smallWindow() {
  IncidentOptions o = Engine::defaults();
  o.correlation.window_s = 10;
  o.correlation.min_results = 40;
  return o;
}

std::vector<TargetPtr> fleetOf(std::uint64_t n) {
  std::vector<TargetPtr> fleet;
  for (std::uint64_t id = 1; id <= n; ++id) fleet.push_back(target({.id = id}));
  return fleet;
}
// `seconds` seconds in which every site of the fleet answers; the engine ticks after each.
void healthySeconds(Engine& e, const std::vector<TargetPtr>& fleet, int seconds) {
  for (int sec = 0; sec < seconds; ++sec) {
    for (auto& t : fleet) e.feed(ok(t, e.now), false);
    e.idle();
    e.advance(1 * kSec);
    e.tick();
  }
}
long long suspectRows(const Engine& e, const std::string& detail_prefix) {
  return countWhere(e.fake->audits(), [&](const Audit& a) {
    return a.blog_id == 0 && a.event_type == "alert_suppressed" && a.detail.rfind(detail_prefix, 0) == 0;
  });
}

TEST(Incident, CorrelatedFailuresOpenNothingAndLeaveTheConditionWithHysteresis) {
  IncidentOptions o = smallWindow();
  o.correlation.enter_ratio = 0.25;
  o.correlation.exit_ratio = 0.10;
  o.correlation.exit_windows = 2;
  o.correlation.hold_ms = 3000;
  Engine e(o);
  for (std::uint64_t id = 1; id <= 60; ++id) e.addSite(id);
  auto fleet = fleetOf(60);
  // Healthy second: 60 results.
  for (auto& t : fleet) e.feed(ok(t, e.now), false);
  e.advance(1 * kSec);
  e.tick();
  EXPECT_FALSE(e.sink->monitorSuspect());
  // The monitor's network goes: every check times out or cannot connect (no HTTP code).
  // HTTP answers still count as the sites' own: they open Seems Down as usual.
  for (int round = 0; round < 3; ++round) {
    for (std::size_t i = 0; i < fleet.size(); ++i) {
      // Two sites answer with a real 503 in the first second, then recover.
      auto c = i < 2 ? (round == 0 ? http503(fleet[i], e.now) : ok(fleet[i], e.now))
                     : (i % 2 ? timeout(fleet[i], e.now) : refused(fleet[i], e.now));
      e.feed(c, false);
      e.sink->allowFollowUp(*c);
    }
    e.idle();
    e.advance(1 * kSec);
    e.tick();
  }
  EXPECT_TRUE(e.sink->monitorSuspect());
  EXPECT_FALSE(e.sink->allowFollowUp(*timeout(fleet[5], e.now)));
  EXPECT_TRUE(e.sink->allowFollowUp(*http503(fleet[0], e.now)));
  e.advance(3 * kSec);
  e.tick();  // held first failures are released into the suspect condition: dropped
  EXPECT_EQ(eventsOf(e, "http").size(), 2u);  // the two 503s
  EXPECT_EQ(e.verifier->calls.load(), 0);
  EXPECT_EQ(suspectRows(e, "monitor suspect"), 1);
  EXPECT_EQ(e.metrics.gauge("detection.monitor_suspect").load(), 1);
  EXPECT_GT(e.metrics.counter("detection.unknown.suppressed.count").load(), 0u);
  // The network is back. One healthy window is not enough to leave (hysteresis: 2 windows).
  healthySeconds(e, fleet, 12);
  EXPECT_TRUE(e.sink->monitorSuspect());
  healthySeconds(e, fleet, 20);
  EXPECT_FALSE(e.sink->monitorSuspect());
  EXPECT_EQ(e.metrics.gauge("detection.monitor_suspect").load(), 0);
  // Nothing was opened for the infrastructure failures, nobody was paged.
  EXPECT_EQ(eventsOf(e, "http").size(), 2u);
  EXPECT_EQ(e.notifier.all().size(), 0u);
  // Back to normal: a lone site's timeout opens Seems Down once its hold expires.
  e.feed(timeout(fleet[10], e.now));
  EXPECT_EQ(openEventCount(e), 0);
  e.advance(3 * kSec);
  e.tick();
  EXPECT_EQ(openEventCount(e), 1);
}

TEST(Incident, ResolverFailingAcrossSitesMakesTheMonitorTheSuspect) {
  IncidentOptions o = smallWindow();
  o.correlation.enter_ratio = 0.5;  // the infrastructure share alone would not trip
  o.correlation.dns_min_failures = 10;
  o.correlation.dns_enter_ratio = 0.1;
  o.correlation.hold_ms = 2000;
  Engine e(o);
  auto fleet = fleetOf(60);
  for (std::size_t i = 0; i < fleet.size(); ++i) {
    auto c = i < 15 ? check(fleet[i], e.now, 0, ErrorCode::kConnect, DnsErrorKind::kServFail) : ok(fleet[i], e.now);
    e.feed(c, false);
  }
  e.idle();
  e.tick();
  EXPECT_TRUE(e.sink->monitorSuspect());
  e.advance(2 * kSec);
  e.tick();
  EXPECT_EQ(eventCount(e), 0);
}

TEST(Incident, SuppressedSitesWhileSuspectGetOneAuditRowEachUpToTheEpisodeLimit) {
  IncidentOptions o = smallWindow();
  o.correlation.exit_windows = 1;
  o.suspect_site_audits = 5;
  Engine e(o);
  auto fleet = fleetOf(60);
  // Half the fleet fails at once: not yet the suspect, so the first ones open incidents.
  for (auto& t : fleet) e.feed(t->id <= 30 ? refused(t, e.now) : ok(t, e.now), false);
  e.idle();
  e.tick();
  ASSERT_TRUE(e.sink->monitorSuspect());
  long long open_before = eventCount(e);
  // Three more rounds of failures while suspect: suppressed, one row per site, five sites.
  for (int round = 0; round < 3; ++round) {
    e.advance(1 * kSec);
    for (std::size_t i = 0; i < 30; ++i) e.feed(timeout(fleet[i], e.now), false);
    e.idle();
  }
  auto siteRows = [&] {
    return where(e.fake->audits(), [](const Audit& a) {
      return a.blog_id != 0 && a.event_type == "alert_suppressed" &&
             a.detail == "monitor suspect: failure treated as Unknown, not Down";
    });
  };
  auto rows = siteRows();
  EXPECT_EQ(rows.size(), 5u);
  std::set<std::uint64_t> blogs;
  for (const auto& a : rows) blogs.insert(a.blog_id);
  EXPECT_EQ(blogs.size(), 5u);
  // A row for a site with an open incident is linked to it.
  EXPECT_EQ(countWhere(rows, [](const Audit& a) { return a.event_id == 0; }), open_before > 0 ? 0 : 5);
  EXPECT_EQ(eventCount(e), open_before);
  EXPECT_EQ(e.metrics.counter("detection.unknown.suppressed.count").load(), 90u);
  // Leaving: the fleet-wide row carries the totals, including what got no row of its own.
  for (int sec = 0; sec < 40 && e.sink->monitorSuspect(); ++sec) healthySeconds(e, fleet, 1);
  ASSERT_FALSE(e.sink->monitorSuspect());
  auto left = where(e.fake->audits(), [](const Audit& a) {
    return a.blog_id == 0 && a.detail.rfind("monitor no longer", 0) == 0;
  });
  ASSERT_EQ(left.size(), 1u);
  EXPECT_EQ(meta(left[0].metadata)["suppressed_failures"], 90);
  EXPECT_EQ(meta(left[0].metadata)["site_audit_rows"], 5);
  EXPECT_EQ(meta(left[0].metadata)["suppressed_failures_without_site_row"], 75);
  // A new episode (after the healthy window has aged out) starts a new sample.
  e.advance(11 * kSec);
  for (auto& t : fleet) e.feed(t->id <= 30 ? refused(t, e.now) : ok(t, e.now), false);
  e.idle();
  e.tick();
  ASSERT_TRUE(e.sink->monitorSuspect());
  e.advance(1 * kSec);
  for (std::size_t i = 0; i < 30; ++i) e.feed(timeout(fleet[i], e.now), false);
  e.idle();
  EXPECT_EQ(siteRows().size(), 10u);
}

TEST(Incident, FollowUpsThatFailWhileTheFirstFailureIsHeldCountTowardEscalation) {
  IncidentOptions o = Engine::defaults();
  o.correlation.hold_ms = 3000;
  Engine e(o);
  auto t = siteOf(e);
  e.feed(timeout(t, e.now));
  e.advance(2 * kSec);
  e.feed(timeout(t, e.now));  // the follow-up, still inside the hold
  EXPECT_EQ(eventCount(e), 0);
  e.advance(1 * kSec);
  e.tick();
  EXPECT_EQ(httpEvents(e), "Seems Down/3/open");
  EXPECT_EQ(details(e, "retry_dispatched"), "retry 2 of 3");
  e.advance(2 * kSec);
  e.feed(timeout(t, e.now));
  EXPECT_EQ(e.verifier->calls.load(), 1);
  EXPECT_EQ(httpEvents(e), "Down/4/open");
}

TEST(Incident, ASuccessDuringTheHoldOpensNothing) {
  IncidentOptions o = Engine::defaults();
  o.correlation.hold_ms = 3000;
  Engine e(o);
  auto t = siteOf(e);
  e.feed(refused(t, e.now));
  e.advance(1 * kSec);
  EXPECT_TRUE(e.feed(ok(t, e.now)));
  e.advance(5 * kSec);
  e.tick();
  EXPECT_EQ(eventCount(e), 0);
}

// ---- restart ------------------------------------------------------------------------------

// A process restart; the engine has read the open events back once it is idle.
void restartAndRecover(Engine& e) {
  e.restart();
  ASSERT_TRUE(e.sink->waitIdle(std::chrono::seconds(20)));
  EXPECT_TRUE(e.sink->recovered());
}

TEST(Incident, RestartInTheMiddleOfSeemsDownFinishesTheIncidentExactlyOnce) {
  Engine e;
  auto t1 = siteOf(e, {.id = 1});
  auto t2 = siteOf(e, {.id = 2});
  e.feed(http503(t1, e.now));
  e.feed(http503(t2, e.now));
  restartAndRecover(e);
  EXPECT_EQ(e.metrics.gauge("incidents.recovered_open_events").load(), 2);
  // Reloaded from the database: the projection says 0 now.
  auto r1 = target({.id = 1, .status = SiteStatus::kDown});
  auto r2 = target({.id = 2, .status = SiteStatus::kDown});
  // Site 1 recovers: closed once, with probe_cleared.
  e.advance(10 * kSec);
  EXPECT_TRUE(e.feed(ok(r1, e.now)));
  e.feed(ok(r1, e.now));
  EXPECT_EQ(reasonsOfSite(e, 1), "opened,probe_cleared");
  // Site 2 keeps failing: the resumed incident is escalated and confirmed, not reopened.
  e.feed(http503(r2, e.now));
  e.advance(10 * kSec);
  e.feed(http503(r2, e.now));
  EXPECT_EQ(e.verifier->calls.load(), 1);
  EXPECT_EQ(reasonsOfSite(e, 2), "opened,verifier_confirmed");
  EXPECT_EQ(eventCount(e), 2);
  EXPECT_EQ(siteStatus(e, 1), 1);
  EXPECT_EQ(siteStatus(e, 2), 2);
  EXPECT_EQ(e.notifier.count(2), 1);
}

TEST(Incident, RestartWithAnOpenTlsAdvisoryClosesItOnTheFirstModernHandshake) {
  Engine e;
  auto t = siteOf(e);
  std::int64_t later = e.now / 1000 + 200 * 86400;
  e.feed(tlsCheck(t, e.now, 0x0301, later));
  restartAndRecover(e);
  auto reloaded = target({.id = 1, .ssl_expiry_date = (later / 86400) * 86400});
  EXPECT_TRUE(e.feed(tlsCheck(reloaded, e.now, 0x0304, later)));
  EXPECT_EQ(reasons(e, "tls_deprecated"), "opened,probe_cleared");
}

TEST(Incident, RestartContinuesTheFailureCountOfASeemsDown) {
  Engine e;
  auto t = siteOf(e);
  fail(e, t, 1);
  e.feed(http503(t, e.now));  // two of three
  int calls_before = e.verifier->calls.load();  // the parallel escalation's verdict dies with the process
  restartAndRecover(e);
  auto r = target({.id = 1, .status = SiteStatus::kDown});
  e.advance(30 * kSec);
  e.feed(http503(r, e.now));  // the third consecutive failure: escalate now, not after two more
  EXPECT_EQ(e.verifier->calls.load(), calls_before + 1);
  EXPECT_EQ(e.metrics.counter("incidents.resumed_failure_counts").load(), 1u);
  // Finished exactly once: promoted (not reopened), then cleared.
  e.feed(ok(r, e.now));
  EXPECT_EQ(reasons(e), "opened,verifier_confirmed,verifier_cleared");
  EXPECT_EQ(eventCount(e), 1);
  EXPECT_EQ(e.notifier.count(2), 1);
}

TEST(Incident, RestartAfterALongOutageStartsTheCountAgain) {
  Engine e;
  auto t = siteOf(e);
  fail(e, t, 1);
  e.feed(http503(t, e.now));
  int calls_before = e.verifier->calls.load();
  restartAndRecover(e);
  // The monitor was away for an hour: those two failures are not "consecutive" with this one.
  e.advance(60 * kMin);
  auto r = target({.id = 1, .status = SiteStatus::kDown});
  e.feed(http503(r, e.now));
  EXPECT_EQ(lastDetail(e, "retry_dispatched"), "retry 2 of 3");
  EXPECT_EQ(e.metrics.counter("incidents.resumed_failure_counts").load(), 0u);
  e.advance(10 * kSec);
  e.feed(http503(r, e.now));
  EXPECT_EQ(reasons(e), "opened,verifier_confirmed");
  EXPECT_EQ(e.verifier->calls.load(), calls_before + 1);
}

// ---- verdicts from other threads, late and missing ------------------------------------------

// Two failures on the retry cadence; the second escalates in parallel with the third local
// check, and the verifiers' verdict stays parked until the test releases it.
TargetPtr escalatedInParallel(Engine& e) {
  e.verifier->park = true;
  auto t = siteOf(e);
  fail(e, t, 1);
  e.feed(http503(t, e.now), false);
  waitForCalls(e, 1);
  return t;
}

TEST(Incident, RecoveryRacingAnEscalationIgnoresTheLateVerdict) {
  Engine e;
  auto t = escalatedInParallel(e);
  e.advance(10 * kSec);
  e.feed(http503(t, e.now), false);  // the local evidence is complete; the verdict is still out
  EXPECT_EQ(e.verifier->calls.load(), 1);
  EXPECT_FALSE(e.sink->waitIdle(std::chrono::milliseconds(50)));  // a verdict is outstanding
  e.feed(ok(t, e.now), false);  // queued on the site's shard before the verdict
  e.verifier->releaseAll(FakeVerifier::confirmed());
  e.idle();
  EXPECT_EQ(httpEvents(e), "Seems Down/3/probe_cleared");
  EXPECT_EQ(e.notifier.all().size(), 0u);
  EXPECT_EQ(e.metrics.counter("detection.verifier.stale_verdict.count").load(), 1u);
}

TEST(Incident, AVerdictFromAnotherThreadIsProcessedPromptlyWhileTheTickerRuns) {
  IncidentOptions o = Engine::defaults();
  o.tick_ms = 10;  // the ticker waits beside the worker: a wake-up must never go to it
  o.workers = 1;
  Engine e(o);
  e.verifier->park = true;
  auto t = siteOf(e);
  e.feed(http503(t, e.now));
  e.feed(http503(t, e.now), false);  // escalates (in parallel with the third check)
  e.feed(http503(t, e.now), false);
  waitForCalls(e, 1);
  std::this_thread::sleep_for(std::chrono::milliseconds(100));  // the worker is asleep again
  std::thread io([&] { e.verifier->releaseAll(FakeVerifier::deferred(15'000)); });
  io.join();
  EXPECT_TRUE(e.sink->waitIdle(std::chrono::seconds(2)));
  EXPECT_EQ(auditsWithDetail(e, "verifier retry deferred"), 1);
}

TEST(Incident, NoVerifiersConfiguredConfirmsAtOnce) {
  Engine e;
  e.verifier->count = 0;
  auto t = siteOf(e);
  failThrice(e, t);
  EXPECT_EQ(e.verifier->calls.load(), 0);
  EXPECT_EQ(httpEvents(e), "Down/4/open");
  EXPECT_EQ(transitionMeta(e, "verifier_confirmed")["rule"], "no_verifiers_configured");
  EXPECT_EQ(e.notifier.count(2), 1);
}

// ---- detection latency: parallel escalation ----------------------------------------------

TEST(Incident, ParallelEscalationStartsWithTheLastLocalCheckAndCountsOnlyOnceItFails) {
  Engine e;
  auto t = escalatedInParallel(e);
  // Two local failures: the verifiers are already asked, in parallel with the third check.
  EXPECT_EQ(e.verifier->calls.load(), 1);
  e.verifier->releaseAll(FakeVerifier::confirmed());
  e.idle();
  // Their confirmation alone decides nothing: Jetmon's three local failures come first.
  EXPECT_EQ(httpEvents(e), "Seems Down/3/open");
  EXPECT_EQ(siteStatus(e, 1), 0);
  EXPECT_EQ(e.notifier.all().size(), 0u);
  EXPECT_EQ(e.metrics.counter("detection.verifier.parallel_parked.count").load(), 1u);
  e.advance(10 * kSec);
  e.feed(http503(t, e.now));
  EXPECT_EQ(httpEvents(e), "Down/4/open");
  EXPECT_EQ(reasons(e), "opened,verifier_confirmed");
  EXPECT_EQ(siteStatus(e, 1), 2);
  EXPECT_EQ(e.verifier->calls.load(), 1);
  EXPECT_EQ(e.notifier.count(2), 1);
  auto escalation = where(auditsOf(e, "veriflier_sent"), [](const Audit& a) { return a.detail.rfind("escalating", 0) == 0; });
  ASSERT_EQ(escalation.size(), 1u);
  EXPECT_EQ(meta(escalation[0].metadata)["rule"], "parallel_escalation");
  // The local evidence on the promotion is the third failure.
  EXPECT_EQ(transitionMeta(e, "verifier_confirmed")["http_code"], 503);
}

TEST(Incident, ParallelEscalationWaitsForAVerdictThatArrivesAfterTheLastLocalFailure) {
  Engine e;
  auto t = escalatedInParallel(e);
  e.advance(10 * kSec);
  e.feed(http503(t, e.now), false);  // the third failure comes before the verdict
  EXPECT_FALSE(e.sink->waitIdle(std::chrono::milliseconds(50)));
  EXPECT_EQ(e.verifier->calls.load(), 1);
  e.verifier->releaseAll(FakeVerifier::confirmed());
  e.idle();
  EXPECT_EQ(httpEvents(e), "Down/4/open");
  EXPECT_EQ(e.verifier->calls.load(), 1);
  EXPECT_EQ(e.notifier.count(2), 1);
}

TEST(Incident, ParallelEscalationIsDiscardedWithoutFalseAlarmWhenTheLastLocalCheckSucceeds) {
  Engine e;
  e.verifier->decide = [](const TargetPtr&) { return FakeVerifier::disagreed(); };
  auto t = siteOf(e);
  fail(e, t, 2);
  EXPECT_EQ(e.verifier->calls.load(), 1);
  e.feed(ok(t, e.now));
  // The verifiers disagreed, but the site recovered before the third local failure: a
  // probe_cleared recovery, not a false alarm.
  EXPECT_EQ(httpEvents(e), "Seems Down/3/probe_cleared");
  EXPECT_EQ(falsePositives(e), 0);
  EXPECT_EQ(e.metrics.counter("detection.verifier.parallel_discarded.count").load(), 1u);
  // The discarded verdict is gone: a new outage needs its own escalation.
  e.advance(10 * kMin);
  e.verifier->decide = [](const TargetPtr&) { return FakeVerifier::confirmed(); };
  failThrice(e, t);
  EXPECT_EQ(e.verifier->calls.load(), 2);
  EXPECT_EQ(httpEvents(e), "Seems Down/3/probe_cleared | Down/4/open");
}

TEST(Incident, AStaleParallelVerdictIsReplacedByAFreshEscalation) {
  Engine e;
  e.verifier->decide = [](const TargetPtr&) { return FakeVerifier::disagreed(); };
  auto t = siteOf(e);
  fail(e, t, 1);
  e.feed(http503(t, e.now));  // parallel escalation: "up" (parked)
  // The third check comes a whole interval later (no follow-up): those votes are too old.
  e.advance(60 * kSec);
  e.verifier->decide = [](const TargetPtr&) { return FakeVerifier::confirmed(); };
  e.feed(http503(t, e.now));
  EXPECT_EQ(e.verifier->calls.load(), 2);
  EXPECT_EQ(httpEvents(e), "Down/4/open");
  EXPECT_EQ(falsePositives(e), 0);
  EXPECT_EQ(e.metrics.counter("detection.verifier.parallel_expired.count").load(), 1u);
}

// The worst case the issue sets the target for, replayed on the fake clock with the runner's
// own follow-up rule (followUpDue) and the real cadence: a 60 s site starts timing out just
// after a good check; every local check and every verifier spends the 10 s deadline.
// Down must come within 60 + 30 s of the failure starting.
TEST(Incident, TimeoutsAtASixtySecondIntervalAreDownWithinNinetySeconds) {
  IncidentOptions o = Engine::defaults();
  o.correlation.hold_ms = 3000;  // the production hold of a first timeout
  Engine e(o);
  e.verifier->park = true;
  auto t = siteOf(e, {.id = 1, .interval_s = 60});
  constexpr std::int64_t kDeadlineS = 10, kRetryS = 10;
  const std::int64_t t0 = e.now;  // the failure starts right after a good check
  auto at = [&](std::int64_t s) { e.now = t0 + s * kSec; };
  // Check 1: the next regular one, one cadence (57 s) later.
  std::int64_t dispatched = DueWheel::cadenceFor(60);
  at(dispatched + kDeadlineS);
  e.feed(timeout(t, e.now));
  // Check 2: followed up from check 1's dispatch, i.e. as soon as it timed out.
  std::int64_t next = followUpDue(dispatched * kSec + t0, (t0 / kSec) + dispatched + kDeadlineS, kRetryS) - t0 / kSec;
  EXPECT_EQ(next, dispatched + kDeadlineS);
  dispatched = next;
  at(dispatched + 3);  // the hold of check 1's failure ends 3 s after it: Seems Down
  e.tick();
  EXPECT_EQ(httpEvents(e), "Seems Down/3/open");
  at(dispatched + kDeadlineS);
  e.feed(timeout(t, e.now), false);  // second failure: the verifiers start now
  waitForCalls(e, 1);
  ASSERT_EQ(e.verifier->calls.load(), 1);
  const std::int64_t escalated = dispatched + kDeadlineS;
  // Check 3, dispatched as check 2 ends; the verifiers' own probes time out meanwhile.
  next = followUpDue(dispatched * kSec + t0, (t0 / kSec) + dispatched + kDeadlineS, kRetryS) - t0 / kSec;
  dispatched = next;
  const std::int64_t verdict_at = escalated + kDeadlineS;
  at(verdict_at);
  e.verifier->releaseAll(FakeVerifier::confirmed());
  e.idle();
  EXPECT_EQ(httpEvents(e), "Seems Down/3/open");
  at(dispatched + kDeadlineS);
  e.feed(timeout(t, e.now));
  EXPECT_EQ(httpEvents(e), "Down/4/open");
  const std::int64_t down_s = (e.now - t0) / kSec;
  std::printf("timeout at a 60 s interval: Down %lld s after the failure started\n", static_cast<long long>(down_s));
  EXPECT_EQ(down_s, 57 + 3 * kDeadlineS);
  EXPECT_LE(down_s, 60 + 30);
  EXPECT_EQ(e.notifier.count(2), 1);
}

// ---- low-confidence DNS (compat §3.8) -----------------------------------------------------

CheckPtr dnsFailure(const TargetPtr& t, std::int64_t now, DnsErrorKind kind, ErrorCode error = ErrorCode::kConnect) {
  return check(t, now, 0, error, kind);
}

TEST(Incident, LowConfidenceDnsFailuresOpenNothingUntilTheVerifiersConfirmThenDownOpensDirectly) {
  Engine e;
  auto t = siteOf(e);
  e.feed(dnsFailure(t, e.now, DnsErrorKind::kTimeout, ErrorCode::kTimeout));
  e.advance(10 * kSec);
  e.feed(dnsFailure(t, e.now, DnsErrorKind::kServFail));
  // No Seems Down, no projection; the retries are counted and audited.
  EXPECT_EQ(eventCount(e), 0);
  EXPECT_EQ(siteStatus(e, 1), 1);
  EXPECT_EQ(details(e, "retry_dispatched"), "retry 1 of 3,retry 2 of 3");
  EXPECT_EQ(countWhere(e.fake->audits(),
                       [](const Audit& a) {
                         auto j = meta(a.metadata);
                         return j.is_object() && j.value("low_confidence_dns_failure", false);
                       }),
            3);
  EXPECT_EQ(e.sink->allowFollowUp(*dnsFailure(t, e.now, DnsErrorKind::kServFail)), true);
  e.advance(10 * kSec);
  e.feed(dnsFailure(t, e.now, DnsErrorKind::kResolverError));
  EXPECT_EQ(httpEvents(e), "Down/4/open");
  EXPECT_EQ(reasons(e), "opened");
  EXPECT_EQ(siteStatus(e, 1), 2);
  EXPECT_EQ(eventMeta(e)["opened_after_verifier_confirmation"], true);
  EXPECT_EQ(eventMeta(e)["low_confidence_dns_failure"], true);
  EXPECT_EQ(eventMeta(e)["verifier_quorum"], 3);
  EXPECT_EQ(e.notifier.count(2), 1);
  // From here it is an ordinary Down.
  e.feed(ok(t, e.now));
  EXPECT_EQ(reasons(e), "opened,verifier_cleared");
  EXPECT_EQ(siteStatus(e, 1), 1);
}

TEST(Incident, NxdomainIsADefiniteAnswerAndOpensSeemsDownAtOnce) {
  Engine e;
  auto t = siteOf(e);
  e.feed(dnsFailure(t, e.now, DnsErrorKind::kNxDomain));
  EXPECT_EQ(httpEvents(e), "Seems Down/3/open");
  EXPECT_EQ(siteStatus(e, 1), 0);
}

TEST(Incident, LowConfidenceDnsDisagreementOrRecoveryLeavesNoEvent) {
  Engine e;
  e.verifier->decide = [](const TargetPtr&) { return FakeVerifier::disagreed(); };
  auto t1 = siteOf(e, {.id = 1});
  auto t2 = siteOf(e, {.id = 2});
  failThrice(e, t1, [](const TargetPtr& t, std::int64_t now) { return dnsFailure(t, now, DnsErrorKind::kTimeout); });
  // The verifiers reached it: a false positive of the local check, nothing to close.
  EXPECT_EQ(eventCount(e), 0);
  EXPECT_EQ(falsePositives(e), 1);
  EXPECT_EQ(siteStatus(e, 1), 1);
  // Site 2 resolves again before the third check: nothing was opened, nothing is written.
  e.feed(dnsFailure(t2, e.now, DnsErrorKind::kServFail));
  e.feed(ok(t2, e.now));
  EXPECT_EQ(eventCount(e), 0);
  EXPECT_EQ(siteStatus(e, 2), 1);
  EXPECT_EQ(e.notifier.all().size(), 0u);
  // Healthy again: its next healthy check is not even wanted.
  EXPECT_FALSE(e.sink->wants(*ok(t2, e.now)));
}

TEST(Incident, ADefiniteFailureAfterLowConfidenceDnsOpensSeemsDownAndKeepsTheCount) {
  Engine e;
  auto t = siteOf(e);
  e.feed(dnsFailure(t, e.now, DnsErrorKind::kTimeout, ErrorCode::kTimeout));
  e.advance(10 * kSec);
  e.feed(http503(t, e.now));  // the site answers after all: a 503 is its own word
  EXPECT_EQ(httpEvents(e), "Seems Down/3/open");
  EXPECT_EQ(eventMeta(e)["rule"], "failure_after_low_confidence_dns");
  EXPECT_EQ(lastDetail(e, "retry_dispatched"), "retry 2 of 3");
  e.advance(10 * kSec);
  e.feed(http503(t, e.now));
  EXPECT_EQ(reasons(e), "opened,verifier_confirmed");
  EXPECT_EQ(e.verifier->calls.load(), 1);
}

// ---- the store away: decisions go on, writes wait ---------------------------------------------

TEST(Incident, AStoreOutageDelaysTheWritesButNotTheDecisionsAndLosesNothing) {
  Engine e;
  auto t = siteOf(e);
  e.idle();  // the open events of the previous run are read (none)
  e.fake->setAvailable(false);
  // Three failures and a confirmation while the database is away: the engine decides and
  // pages at once; the store only queues.
  for (int i = 0; i < 3; ++i) {
    e.feed(http503(t, e.now), false);
    e.advance(10 * kSec);
  }
  for (int i = 0; i < 2000 && e.notifier.count(2) == 0; ++i) std::this_thread::sleep_for(std::chrono::milliseconds(5));
  EXPECT_EQ(e.notifier.count(2), 1);
  EXPECT_EQ(e.verifier->calls.load(), 1);
  EXPECT_FALSE(e.sink->waitIdle(std::chrono::milliseconds(100)));  // the writes wait
  EXPECT_GT(e.store->backlog(), 0u);
  EXPECT_EQ(eventCount(e), 0);
  // Back: everything is written once, in the order it was decided.
  e.fake->setAvailable(true);
  e.idle();
  EXPECT_EQ(httpEvents(e), "Down/4/open");
  EXPECT_EQ(reasons(e), "opened,verifier_confirmed");
  EXPECT_EQ(details(e, "retry_dispatched"), "retry 1 of 3,retry 2 of 3");
  EXPECT_EQ(siteStatus(e, 1), 2);
  EXPECT_TRUE(e.fake->site(1)->last_alert_ms.has_value());
}

TEST(Incident, RestartWhileTheStoreIsAwayWaitsForTheOpenEventsBeforeDeciding) {
  Engine e;
  auto t = siteOf(e);
  e.feed(http503(t, e.now));
  e.fake->setAvailable(false);
  e.restart();
  // Nothing is decided before the open events are back: a result queues.
  auto r = target({.id = 1, .status = SiteStatus::kDown});
  e.advance(10 * kSec);
  e.feed(ok(r, e.now), false);
  EXPECT_FALSE(e.sink->waitIdle(std::chrono::milliseconds(300)));
  EXPECT_FALSE(e.sink->recovered());
  e.fake->setAvailable(true);
  e.idle();
  EXPECT_TRUE(e.sink->recovered());
  // The resumed Seems Down is closed, not left open or reopened.
  EXPECT_EQ(reasons(e), "opened,probe_cleared");
  EXPECT_EQ(siteStatus(e, 1), 1);
}

}  // namespace
}  // namespace tidewatch::stages::test
