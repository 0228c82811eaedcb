// End to end: three in-process monitors (the daemon's Runner, built from YAML through the
// registry) with source.mysql + probe.http + classify.jetmon + sink.incidents + notify.wpcom,
// against tidewatch-fixture (fleet, DNS, mock WordPress.com), a private MariaDB and three
// `tidewatch verifier` processes on 127.0.0.2/3/4. The scenarios.md §4 rows that are one failure
// from the start (rows 1, 4–8, 10–16, 19–31; not 9: the probe has no response-time assertion)
// run at once, each on its own site of one fleet; the rows that need a sequence or several
// vantages are in incidents_e2e_sequences_test.cpp:
//
//   monitor A (buckets 0–9):  the scenario rows, live verifiers;
//   monitor B (bucket 20):    its verifiers are all down ⇒ deferred, never a false alarm;
//   monitor C (bucket 30):    its resolver (fixture ns2) times out for everyone ⇒ the monitor
//                             is the suspect and opens nothing.
//
// Short timings: sites load with check_interval 1 minute and the test's source wrapper runs
// them every 20 s; retry 2 s; probe deadline 3 s. Detection latencies (failure start → Seems
// Down → Down, failure end → recovery) are printed for docs/benchmarks.md.
#include "tests/integration/incidents_e2e/e2e_harness.h"

namespace tidewatch::e2e {
namespace {

TEST_F(IncidentsE2E, LoopbackScenariosVerifierOutageAndResolverStorm) {
  auto h = [&](std::uint64_t id) { return fx_->hostName(static_cast<std::uint32_t>(id)); };
  std::vector<Scenario> sc = {
      {"http-503", 1, false, {{"type", "http_status"}, {"status_code", 503}}, "down", ""},
      {"http-head-405-get-200 (trap)", 2, false, {{"type", "http_method_status"}, {"method", "HEAD"}, {"status_code", 405}}, "none", ""},
      {"http-head-200-get-timeout", 3, false, {{"type", "http_timeout"}, {"phase", "ttfb"}, {"delay", 35}, {"method", "GET"}}, "down", ""},
      {"http-partial", 4, false, {{"type", "http_partial"}, {"truncate_after_bytes", 100}}, "down", ""},
      {"http-redirect-loop", 5, false, {{"type", "http_redirect"}, {"variant", "loop"}}, "down", ""},
      {"tcp-refused", 6, false, {{"type", "tcp_refused"}}, "down", ""},
      {"dns-nxdomain", 7, false, {{"type", "dns_nxdomain"}}, "down", ""},
      {"tls-expired-30d", 8, true, {{"type", "tls_expired"}, {"days_expired", 30}}, "down", ""},
      {"tls-invalid-self-signed", 9, true, {{"type", "tls_invalid"}, {"variant", "self_signed"}}, "down", ""},
      {"tls-expiring-5d (advisory)", 10, true, {{"type", "tls_expiring"}, {"days_remaining", 5}}, "tls_expiry", ""},
      {"tls-deprecated-tls11 (advisory)", 11, true, {{"type", "tls_deprecated"}, {"variant", "TLS11"}}, "tls_deprecated", ""},
      {"content-keyword-missing", 12, false, {{"type", "http_body"}, {"variant", "keyword_missing"}}, "down",
       "check_keyword = 'uptime-bench-canary'"},
      {"content-keyword-injected", 13, false, {{"type", "http_body"}, {"variant", "keyword_injected"}, {"keyword", "HACKED"}},
       "down", "forbidden_keyword = 'HACKED'"},
      {"maintenance-http-503-full-cover", 14, false, {{"type", "http_status"}, {"status_code", 503}}, "maintenance",
       "maintenance_start = UTC_TIMESTAMP() - INTERVAL 1 MINUTE, maintenance_end = UTC_TIMESTAMP() + INTERVAL 30 MINUTE"},
      {"cooldown (second outage inside 30 min)", 15, false, {{"type", "http_status"}, {"status_code", 503}}, "cooldown",
       "alert_cooldown_minutes = 30, last_alert_sent_at = UTC_TIMESTAMP() - INTERVAL 5 MINUTE"},
      {"healthy control", 16, false, nullptr, "none", ""},
      {"healthy https control", 17, true, nullptr, "none", ""},
      {"http-head-200-get-503", 18, false, {{"type", "http_method_status"}, {"method", "GET"}, {"status_code", 503}}, "down", ""},
      {"http-head-timeout-get-200 (trap)", 19, false, {{"type", "http_timeout"}, {"phase", "ttfb"}, {"delay", 35}, {"method", "HEAD"}}, "none", ""},
      {"http-timeout-body", 20, false, {{"type", "http_timeout"}, {"phase", "body"}, {"delay", 35}}, "down", ""},
      {"http-timeout-total", 21, false, {{"type", "http_timeout"}, {"phase", "total"}, {"delay", 35}}, "down", ""},
      {"http-header-status", 22, false, {{"type", "http_header_status"}, {"header_name", "X-Uptime-Bench"}, {"header_value", "header-status"}, {"status_code", 503}},
       "down", "custom_headers = '{\"X-Uptime-Bench\": \"header-status\"}'"},
      {"http-head-200-get-redirect-loop", 23, false, {{"type", "http_redirect"}, {"variant", "loop"}, {"method", "GET"}}, "down", ""},
      {"http-redirect-chain", 24, false, {{"type", "http_redirect"}, {"variant", "chain"}}, "down", ""},
      {"tcp-timeout", 25, false, {{"type", "tcp_timeout"}, {"delay", 60}}, "down", ""},
      // Low-confidence DNS (compat §3.8): nothing opens until the verifiers confirm, then Down
      // opens directly.
      {"dns-servfail", 26, false, {{"type", "dns_servfail"}}, "down", "", "opened"},
      {"dns-timeout", 27, false, {{"type", "dns_timeout"}}, "down", "", "opened"},
      {"dns-cname-nxdomain", 28, false, {{"type", "dns_cname_nxdomain"}}, "down", ""},
      {"tls-invalid-hostname-mismatch", 29, true, {{"type", "tls_invalid"}, {"variant", "hostname_mismatch"}}, "down", ""},
      {"tls-handshake-version-mismatch", 30, true, {{"type", "tls_handshake"}, {"reason", "version_mismatch"}}, "down", ""},
      {"content-empty", 31, false, {{"type", "http_body"}, {"variant", "empty"}}, "down", "check_keyword = 'uptime-bench-canary'"},
      {"content-error-page", 32, false, {{"type", "http_body"}, {"variant", "error_page"}}, "down", "check_keyword = 'uptime-bench-canary'"},
      {"content-ransomware", 33, false, {{"type", "http_body"}, {"variant", "ransomware"}}, "down", "check_keyword = 'uptime-bench-canary'"},
      {"content-defacement", 34, false, {{"type", "http_body"}, {"variant", "defacement"}}, "down", "check_keyword = 'uptime-bench-canary'"},
      {"content-malicious-script (canary kept)", 35, false, {{"type", "http_body"}, {"variant", "malicious_script"}}, "down",
       "check_keyword = 'uptime-bench-canary', forbidden_keywords = '[\"evil-analytics\", \"coinhive\"]'"},
      {"content-spam-links (canary kept)", 36, false, {{"type", "http_body"}, {"variant", "spam_links"}}, "down",
       "check_keyword = 'uptime-bench-canary', forbidden_keywords = '[\"casino\", \"viagra\"]'"},
      {"wp-critical-error", 37, false, {{"type", "http_body"}, {"variant", "wp_critical_error"}}, "down", "check_keyword = 'uptime-bench-canary'"},
      {"healthy-fatal-article (trap)", 38, false, {{"type", "http_body"}, {"variant", "healthy_fatal_article"}}, "none",
       "check_keyword = 'uptime-bench-canary'"},
      {"http-head-200-get-partial", 39, false, {{"type", "http_partial"}, {"truncate_after_bytes", 100}, {"method", "GET"}}, "down", ""},
      {"wp-php-fatal", 40, false, {{"type", "http_body"}, {"variant", "wp_php_fatal"}}, "down", "check_keyword = 'uptime-bench-canary'"},
      {"hosting-suspended", 41, false, {{"type", "http_body"}, {"variant", "hosting_suspended"}}, "down", "check_keyword = 'uptime-bench-canary'"},
      {"nginx-default", 42, false, {{"type", "http_body"}, {"variant", "nginx_default"}}, "down", "check_keyword = 'uptime-bench-canary'"},
      {"http-timeout-ttfb (GET and HEAD)", 43, false, {{"type", "http_timeout"}, {"phase", "ttfb"}, {"delay", 35}}, "down", ""},
  };
  for (auto& s : sc) addSite(s, 0);
  Scenario deferred{"verifiers all down: http-503", 101, false, {{"type", "http_status"}, {"status_code", 503}}, "deferred", ""};
  addSite(deferred, 20);
  std::vector<Scenario> storm;
  for (std::uint64_t id = 201; id <= 212; ++id) {
    storm.push_back({"resolver storm", id, false, nullptr, "none", ""});
    addSite(storm.back(), 30);
  }

  std::string live = startVerifiers();
  std::string dead = deadVerifiers();

  // Failures start now, before any check: the first check of each site already fails.
  std::int64_t t0 = nowMs();
  std::map<std::uint64_t, std::string> ids;
  for (auto& s : sc) {
    if (s.failure.is_null()) continue;
    json f = s.failure;
    f["host"] = h(s.id);
    ids[s.id] = fx_->activate(f);
  }
  ids[deferred.id] = fx_->activate({{"type", "http_status"}, {"status_code", 503}, {"host", h(deferred.id)}});
  // Monitor C's resolver (fixture ns2) stops answering anyone.
  fx_->activate({{"type", "dns_ns_unavailable"}, {"host", "*"}, {"mode", "silent"}, {"instance", "ns2"}});

  loop_ = std::make_unique<io::AsioEventLoop>(2);
  loop_->start();
  startMonitor(monitorYaml(0, live, fx_->dnsPort(0), ""));
  startMonitor(monitorYaml(20, dead, fx_->dnsPort(0), ""));
  startMonitor(monitorYaml(30, live, fx_->dnsPort(1),
                           ", correlation: {window_s: 30, min_results: 6, enter_ratio: 0.25, exit_ratio: 0.1, "
                           "hold_ms: 15000}"));

  // ---- detection ----------------------------------------------------------------------
  auto downCount = [&] {
    return qi("SELECT COUNT(*) FROM jetmon_events WHERE check_type = 'http' AND severity = 4 AND ended_at IS NULL");
  };
  int expected_down = 0;
  for (auto& s : sc) expected_down += s.expect == "down" || s.expect == "cooldown";
  // Generous: a loaded 2-core box can stretch one check round; waiting longer only costs time
  // when something is wrong.
  bool all_down = waitFor([&] { return downCount() >= expected_down; }, std::chrono::seconds(kIntervalS * 4 + 60));
  std::int64_t detected_at = nowMs();
  EXPECT_TRUE(all_down) << downCount() << " of " << expected_down << " sites Down";
  // Advisories and traps had at least as long as the slowest detection; give the slow
  // scenarios one more interval so a late false outage would show.
  std::this_thread::sleep_for(std::chrono::seconds(kIntervalS / 2));

  for (auto& s : sc) {
    std::string site = std::to_string(s.id);
    long long http_events = qi("SELECT COUNT(*) FROM jetmon_events WHERE check_type = 'http' AND endpoint_id = " + site);
    long long down = qi("SELECT COUNT(*) FROM jetmon_events WHERE check_type = 'http' AND severity = 4 AND endpoint_id = " + site);
    long long status = qi("SELECT site_status FROM jetpack_monitor_sites WHERE jetpack_monitor_site_id = " + site);
    SCOPED_TRACE(s.name);
    if (s.expect == "down" || s.expect == "cooldown") {
      EXPECT_EQ(down, 1);
      EXPECT_EQ(status, 2);
      EXPECT_GE(qi("SELECT COUNT(*) FROM jetmon_audit_log WHERE event_type = 'retry_dispatched' AND blog_id = " +
                   std::to_string(100000 + s.id)), 1);
      EXPECT_GE(qi("SELECT COUNT(*) FROM jetmon_audit_log WHERE event_type = 'veriflier_sent' AND blog_id = " +
                   std::to_string(100000 + s.id)), 4);
      EXPECT_EQ(q("SELECT GROUP_CONCAT(t.reason ORDER BY t.id) FROM jetmon_event_transitions t JOIN jetmon_events e "
                  "ON e.id = t.event_id WHERE e.check_type = 'http' AND t.endpoint_id = " + site),
                s.transitions.empty() ? "opened,verifier_confirmed" : s.transitions);
    } else {
      EXPECT_EQ(down, 0);
      EXPECT_EQ(http_events, 0);
      EXPECT_EQ(status, 1);
    }
    if (s.expect == "tls_expiry") {
      EXPECT_EQ(q("SELECT CONCAT(state, '/', severity) FROM jetmon_events WHERE check_type = 'tls_expiry' AND endpoint_id = " + site),
                "Degraded/2");
    }
    if (s.expect == "tls_deprecated") {
      EXPECT_EQ(q("SELECT CONCAT(state, '/', severity) FROM jetmon_events WHERE check_type = 'tls_deprecated' AND endpoint_id = " + site),
                "Warning/1");
    }
    if (s.expect == "maintenance") {
      EXPECT_GE(qi("SELECT COUNT(*) FROM jetmon_audit_log WHERE event_type = 'maintenance_active' AND blog_id = " +
                   std::to_string(100000 + s.id)), 1);
    }
    if (s.expect == "cooldown") {
      EXPECT_EQ(qi("SELECT COUNT(*) FROM jetmon_audit_log WHERE event_type = 'alert_suppressed' AND detail = "
                   "'cooldown active' AND blog_id = " + std::to_string(100000 + s.id)), 1);
    }
  }

  // An expired certificate is a hard failure and also the worst TLS advisory.
  EXPECT_EQ(q("SELECT CONCAT(state, '/', severity) FROM jetmon_events WHERE check_type = 'tls_expiry' AND endpoint_id = 8"),
            "Degraded/2");

  // Monitor B: deferred, no false alarm, still Seems Down.
  EXPECT_EQ(q("SELECT CONCAT(state, '/', COALESCE(resolution_reason, 'open')) FROM jetmon_events WHERE endpoint_id = 101"),
            "Seems Down/open");
  EXPECT_EQ(qi("SELECT COUNT(*) FROM jetmon_false_positives"), 0);
  // The deferral needs the client to give up on every dead verifier (deadline timeout + 2 s).
  EXPECT_TRUE(waitFor([&] {
    return qi("SELECT COUNT(*) FROM jetmon_audit_log WHERE blog_id = 100101 AND detail LIKE 'verifier retry deferred%'") >= 1;
  }, std::chrono::seconds(kIntervalS)))
      << "escalations " << metrics_[1]->counter("detection.verifier.escalation.count").load() << ", deferred "
      << metrics_[1]->counter("detection.verifier.deferred.count").load() << ", store backlog "
      << metrics_[1]->gauge("eventstore.backlog").load() << ", audit rows: "
      << q("SELECT GROUP_CONCAT(CONCAT(event_type, ':', COALESCE(detail, '')) SEPARATOR ' | ') FROM jetmon_audit_log "
           "WHERE blog_id = 100101");
  EXPECT_EQ(q("SELECT CONCAT(state, '/', COALESCE(resolution_reason, 'open')) FROM jetmon_events WHERE endpoint_id = 101"),
            "Seems Down/open");
  EXPECT_EQ(qi("SELECT COUNT(*) FROM jetmon_false_positives"), 0);
  // Monitor C: the monitor is the suspect; its sites opened nothing.
  EXPECT_EQ(qi("SELECT COUNT(*) FROM jetmon_events WHERE endpoint_id BETWEEN 201 AND 212"), 0);
  EXPECT_EQ(qi("SELECT COUNT(*) FROM jetmon_audit_log WHERE blog_id IS NULL AND detail LIKE 'monitor suspect%'"), 1);
  EXPECT_EQ(metrics_[2]->gauge("detection.monitor_suspect").load(), 1);

  // ---- notifications so far: one down per alerted site ----------------------------------
  waitFor([&] {
    auto n = notifications();
    int downs = 0;
    for (auto& [k, v] : n) downs += k.second == 2;
    return downs >= expected_down - 1;
  }, std::chrono::seconds(30));
  auto n1 = notifications();
  for (auto& s : sc) {
    SCOPED_TRACE(s.name);
    int expect = s.expect == "down" ? 1 : 0;
    EXPECT_EQ((n1[{s.id, 2}]), expect);
  }
  EXPECT_EQ((n1[{deferred.id, 2}]), 0);

  // ---- recovery -----------------------------------------------------------------------
  std::int64_t t1 = nowMs();
  for (auto& s : sc)
    if (s.expect == "down" || s.expect == "cooldown") fx_->deactivate(ids[s.id]);
  auto recovered = [&] {
    return qi("SELECT COUNT(*) FROM jetmon_events WHERE check_type = 'http' AND resolution_reason = 'verifier_cleared'");
  };
  EXPECT_TRUE(waitFor([&] { return recovered() >= expected_down; }, std::chrono::seconds(kIntervalS * 3 + 30)))
      << recovered() << " of " << expected_down << " recovered";
  waitFor([&] {
    auto n = notifications();
    int ups = 0;
    for (auto& [k, v] : n) ups += k.second == 1;
    return ups >= expected_down - 1;
  }, std::chrono::seconds(30));
  auto n2 = notifications();
  for (auto& s : sc) {
    SCOPED_TRACE(s.name);
    if (s.expect == "down") EXPECT_EQ((n2[{s.id, 1}]), 1);   // alerted ⇒ "back up" (cooldown 0)
    if (s.expect == "cooldown") EXPECT_EQ((n2[{s.id, 1}]), 0);  // never alerted ⇒ no recovery (B5a)
    if (s.expect != "down" && s.expect != "cooldown") EXPECT_EQ((n2[{s.id, 1}]), 0);
  }

  // ---- latency --------------------------------------------------------------------------
  std::printf("\n%-40s %10s %10s %10s\n", "scenario", "seems_down", "down", "recovered");
  std::vector<double> downs;
  for (auto& s : sc) {
    if (s.expect != "down" && s.expect != "cooldown") continue;
    std::string site = std::to_string(s.id);
    auto at = [&](const std::string& reason) {
      return qi("SELECT ROUND(UNIX_TIMESTAMP(MIN(t.changed_at)) * 1000) FROM jetmon_event_transitions t JOIN "
                "jetmon_events e ON e.id = t.event_id WHERE e.check_type = 'http' AND t.reason = '" + reason +
                "' AND t.endpoint_id = " + site);
    };
    // A low-confidence DNS row opens straight at Down: no Seems Down of its own.
    const bool direct = s.transitions == "opened";
    double sd = (at("opened") - t0) / 1000.0, dn = (at(direct ? "opened" : "verifier_confirmed") - t0) / 1000.0,
           rc = (at("verifier_cleared") - t1) / 1000.0;
    downs.push_back(dn);
    if (direct) {
      std::printf("%-40s %10s %9.1fs %9.1fs\n", s.name.c_str(), "-", dn, rc);
    } else {
      std::printf("%-40s %9.1fs %9.1fs %9.1fs\n", s.name.c_str(), sd, dn, rc);
    }
  }
  std::sort(downs.begin(), downs.end());
  if (!downs.empty())
    std::printf("failure start -> Down: min %.1f s, median %.1f s, max %.1f s (interval %d s, retry 2 s, timeout 3 s)\n",
                downs.front(), downs[downs.size() / 2], downs.back(), kIntervalS);
  std::printf("all Down detected %.1f s after the failures started\n", (detected_at - t0) / 1000.0);
}

}  // namespace
}  // namespace tidewatch::e2e
