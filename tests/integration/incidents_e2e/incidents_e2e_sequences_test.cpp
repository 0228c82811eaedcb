// End to end, the scenarios.md §4 rows that need several vantages or a sequence in time, each
// on its own site, all running at once against one fixture, MariaDB and three verifiers that
// probe from their own addresses (127.0.0.2/3/4 = regions loop-1/2/3):
//
//   monitor A (buckets 0–9), probing from 127.0.0.6, peer_offline_limit 2:
//     row 3  geo 503: for the monitor's and one verifier's region ⇒ 1 of 3 votes < quorum 2 ⇒
//            false alarm, regional outcome recorded; for two verifiers' regions too ⇒ Down;
//            for a region without the monitor ⇒ nothing (not comparable);
//     row 2  503 at rate 0.4 (cooldown 30 min) ⇒ incidents per the confirmation rules, no
//            notification storm;
//     row 30 maintenance window ending while the 503 goes on ⇒ Down as soon as it ends;
//     row 32 layered (DNS slow, then 503 added), replacement (503 → refused while Down) and
//            recurrence (fail / gap / fail ⇒ two incidents);
//     row 17 DNS 300 ms slower (the layered site's first phase) ⇒ slow but up;
//     row 18 one of two nameservers silent (trap) ⇒ the resolver falls back, nothing opens;
//   monitor E (bucket 40): Seems Down held by dead verifiers, then restarted with live ones ⇒
//     each incident finishes exactly once (Down, or probe_cleared when it recovered meanwhile);
//   monitor F (bucket 50): row 33 in small — 25 of 200 sites fail together ⇒ 25/25 Down and
//     notified, 25/25 recovered, nothing on the 175 others.
//
// Each scenario is a list of steps (wait for a condition in the database, the mock WPCOM or the
// metrics, then act); all scenarios advance together, so the run takes as long as the longest.
#include "tests/integration/incidents_e2e/e2e_harness.h"

namespace tidewatch::e2e {
namespace {

// One site's http events as of the last poll.
struct SiteEvents {
  int total = 0;
  int down = 0;  // reached Down (severity 4)
  int open = 0;
  std::string reasons;  // resolution reasons in event order, "open" for the open one
  int count(const std::string& reason) const {
    int n = 0;
    for (std::size_t at = reasons.find(reason); at != std::string::npos;
         at = reasons.find(reason, at + 1))
      ++n;
    return n;
  }
};

struct Step {
  std::string what;
  std::function<bool()> ready;
  std::function<void()> then;
  int limit_s;
};

struct Sequence {
  std::string name;
  std::vector<Step> steps;
  std::size_t at = 0;
  Clock::time_point since{};
  std::string failed;
  bool done() const { return at >= steps.size() || !failed.empty(); }
};

class IncidentsE2ESequences : public IncidentsE2E {
 protected:
  void snapshot() {
    events_.clear();
    std::istringstream rows(
        q("SELECT endpoint_id, COUNT(*), SUM(severity = 4), SUM(ended_at IS NULL), "
          "GROUP_CONCAT(COALESCE(resolution_reason, 'open') ORDER BY id) FROM jetmon_events "
          "WHERE check_type = 'http' GROUP BY endpoint_id"));
    std::string line;
    while (std::getline(rows, line)) {
      std::istringstream f(line);
      std::uint64_t id = 0;
      SiteEvents e;
      f >> id >> e.total >> e.down >> e.open >> e.reasons;
      events_[id] = e;
    }
    notes_ = notifications();
  }

  // Advances every sequence until all are done; a step that is not ready within its limit
  // fails its sequence (the others go on).
  void run(std::vector<Sequence>& seqs, Clock::time_point t0) {
    for (auto& s : seqs) s.since = Clock::now();
    for (;;) {
      snapshot();
      bool all = true;
      for (auto& s : seqs) {
        while (!s.done() && s.steps[s.at].ready()) {
          std::printf("[%6.1fs] %-28s %s\n",
                      std::chrono::duration<double>(Clock::now() - t0).count(), s.name.c_str(),
                      s.steps[s.at].what.c_str());
          std::fflush(stdout);
          if (s.steps[s.at].then) s.steps[s.at].then();
          ++s.at;
          s.since = Clock::now();
          snapshot();
        }
        if (!s.done() && Clock::now() - s.since > std::chrono::seconds(s.steps[s.at].limit_s)) {
          s.failed = s.steps[s.at].what;
          ADD_FAILURE() << s.name << ": not within " << s.steps[s.at].limit_s << " s: " << s.failed
                        << " (events: " << describe() << ")";
        }
        all = all && s.done();
      }
      if (all) return;
      std::this_thread::sleep_for(std::chrono::seconds(1));
    }
  }

  std::string describe() {
    std::string out;
    for (const auto& [id, e] : events_) out += std::to_string(id) + ":" + e.reasons + " ";
    return out;
  }
  std::string transitions(std::uint64_t site) {
    return q(
        "SELECT GROUP_CONCAT(t.reason ORDER BY t.id) FROM jetmon_event_transitions t JOIN "
        "jetmon_events e ON "
        "e.id = t.event_id WHERE e.check_type = 'http' AND t.endpoint_id = " +
        std::to_string(site));
  }
  // A field of the metadata of the first transition with `reason` ("" when absent).
  std::string transitionMeta(std::uint64_t site, const std::string& reason,
                             const std::string& path) {
    std::string v =
        q("SELECT JSON_UNQUOTE(JSON_EXTRACT(t.metadata, '" + path +
          "')) FROM jetmon_event_transitions t "
          "JOIN jetmon_events e ON e.id = t.event_id WHERE e.check_type = 'http' AND t.reason = '" +
          reason + "' AND t.endpoint_id = " + std::to_string(site) + " ORDER BY t.id LIMIT 1");
    return v == "NULL" ? "" : v;
  }
  long long audit(std::uint64_t site, const std::string& where) {
    return qi("SELECT COUNT(*) FROM jetmon_audit_log WHERE blog_id = " +
              std::to_string(100000 + site) + " AND " + where);
  }
  int note(std::uint64_t site, int status) { return notes_[{site, status}]; }

  std::map<std::uint64_t, SiteEvents> events_;
  std::map<std::pair<std::uint64_t, int>, int> notes_;
};

TEST_F(IncidentsE2ESequences, GeoEscalationsFlappingPartialMaintenanceAndRestart) {
  auto h = [&](std::uint64_t id) { return fx_->hostName(static_cast<std::uint32_t>(id)); };
  const std::uint64_t kGeoOne = 1, kGeoTwo = 2, kGeoElsewhere = 3, kFlapping = 4, kMaintenance = 5,
                      kLayered = 6, kReplaced = 7, kRecurring = 8, kHealthy = 9, kOneNsDown = 10;
  const std::uint64_t kRestartDown = 301, kRestartCleared = 302;
  const std::uint64_t kReplayFirst = 100, kReplaySites = 200;
  constexpr int kMaintenanceLeftS = 45;
  const int kDownLimit = 3 * kIntervalS + 60;  // a check, three failures, the verifiers; loaded box
  const int kRecoverLimit = 2 * kIntervalS + 40;  // the next check and the verifiers

  for (std::uint64_t id :
       {kGeoOne, kGeoTwo, kGeoElsewhere, kLayered, kReplaced, kRecurring, kHealthy, kOneNsDown})
    addSite({"", id, false, nullptr, "", ""}, 0);
  // The policy's cooldown (30 min) is what keeps a flapping site from notifying in a storm.
  addSite({"", kFlapping, false, nullptr, "", "alert_cooldown_minutes = 30"}, 0);
  addSite({"", kMaintenance, false, nullptr, "",
           "maintenance_start = UTC_TIMESTAMP() - INTERVAL 1 MINUTE, "
           "maintenance_end = UTC_TIMESTAMP() + INTERVAL " +
               std::to_string(kMaintenanceLeftS) + " SECOND"},
          0);
  const long long maintenance_end_ms =
      qi("SELECT ROUND(UNIX_TIMESTAMP(maintenance_end) * 1000) FROM "
         "jetpack_monitor_sites WHERE jetpack_monitor_site_id = " +
         std::to_string(kMaintenance));
  // Row 33 in small: 25 of 200 sites (monitor F) fail together, among 175 healthy ones.
  std::vector<std::uint64_t> replay_failing;
  {
    std::string rows;
    for (std::uint64_t id = kReplayFirst; id < kReplayFirst + kReplaySites; ++id) {
      if (!rows.empty()) rows += ", ";
      rows += "(" + std::to_string(id) + ", " + std::to_string(100000 + id) + ", 50, 'http://" +
              h(id) + ":" + std::to_string(fx_->httpPort()) + "/', 1, 0)";
      if ((id - kReplayFirst) % 8 == 3) replay_failing.push_back(id);
    }
    q("INSERT INTO jetpack_monitor_sites (jetpack_monitor_site_id, blog_id, bucket_no, "
      "monitor_url, check_interval, alert_cooldown_minutes) VALUES " +
      rows);
  }
  ASSERT_EQ(replay_failing.size(), 25u);
  addSite({"", kRestartDown, false, nullptr, "", ""}, 40);
  addSite({"", kRestartCleared, false, nullptr, "", ""}, 40);

  std::string live = startVerifiers();
  std::string dead = deadVerifiers();

  auto status503 = [&](std::uint64_t id) {
    return json{{"type", "http_status"}, {"host", h(id)}, {"status_code", 503}};
  };
  std::map<std::uint64_t, std::string> ids;
  // Regions: the monitor probes from 127.0.0.6, verifier N from 127.0.0.(N+1).
  json geo_one = status503(kGeoOne);
  geo_one["from"] = {"127.0.0.6/32", "127.0.0.2/32"};
  json geo_two = status503(kGeoTwo);
  geo_two["from"] = {"127.0.0.6/32", "127.0.0.2/32", "127.0.0.3/32"};
  json geo_elsewhere = status503(kGeoElsewhere);
  geo_elsewhere["from"] = {"127.0.0.4/32"};
  ids[kGeoOne] = fx_->activate(geo_one);
  ids[kGeoTwo] = fx_->activate(geo_two);
  fx_->activate(geo_elsewhere);
  // Seed 2 fails the first request, passes the next two (so the first Seems Down clears), then
  // flaps: F..F...FF.FF
  ids[kFlapping] = fx_->activate({{"type", "http_status"},
                                  {"host", h(kFlapping)},
                                  {"status_code", 503},
                                  {"rate", 0.4},
                                  {"seed", 2}});
  ids[kMaintenance] = fx_->activate(status503(kMaintenance));
  // 300 ms more per DNS query: slow, well inside the resolver's 500 ms try and the 3 s check.
  std::string layered_dns =
      fx_->activate({{"type", "dns_latency"}, {"host", h(kLayered)}, {"added_latency_ms", 300}});
  // Row 18 (trap): one of the monitor's two nameservers never answers for this host.
  fx_->activate({{"type", "dns_ns_unavailable"},
                 {"host", h(kOneNsDown)},
                 {"mode", "silent"},
                 {"instance", "ns1"}});
  ids[kReplaced] = fx_->activate(status503(kReplaced));
  ids[kRecurring] = fx_->activate(status503(kRecurring));
  ids[kRestartDown] = fx_->activate(status503(kRestartDown));
  ids[kRestartCleared] = fx_->activate(status503(kRestartCleared));

  for (std::uint64_t id : replay_failing) ids[id] = fx_->activate(status503(id));

  const auto t0 = Clock::now();
  const std::size_t a =
      startMonitor(monitorYaml(MonitorOptions{.bucket = 0,
                                              .verifiers = live,
                                              .dns_port = fx_->dnsPort(0),
                                              .dns_port2 = fx_->dnsPort(1),
                                              .probe_extra = ", source_address: '127.0.0.6'",
                                              .verification_extra = ", peer_offline_limit: 2"}));
  const MonitorOptions e_opts{.bucket = 40, .verifiers = dead, .dns_port = fx_->dnsPort(0)};
  std::size_t e = startMonitor(monitorYaml(e_opts));
  startMonitor(
      monitorYaml(MonitorOptions{.bucket = 50, .verifiers = live, .dns_port = fx_->dnsPort(0)}));

  auto ev = [&](std::uint64_t id) { return events_[id]; };
  auto replay = [&](auto pred) {
    int n = 0;
    for (std::uint64_t id : replay_failing) n += pred(ev(id));
    return n;
  };
  auto deactivate = [&](std::uint64_t id) { return [&, id] { fx_->deactivate(ids[id]); }; };
  auto siteStatus = [&](std::uint64_t id) {
    return qi("SELECT site_status FROM jetpack_monitor_sites WHERE jetpack_monitor_site_id = " +
              std::to_string(id));
  };
  // Down is projected with the promotion (one transaction): site_status 2 while it lasts.
  auto downThen = [&](std::uint64_t id) {
    return [&, id] {
      EXPECT_EQ(siteStatus(id), 2) << "site " << id << " Down but not projected";
      fx_->deactivate(ids[id]);
    };
  };
  std::uint64_t still_down_base = 0;
  std::int64_t maintenance_down_ms = 0;
  bool restarted = false;

  std::vector<Sequence> seqs;
  seqs.push_back(
      {"row 3 geo: monitor + 1 region",
       {{"false alarm (1 of 3 votes, quorum 2)",
         [&] { return ev(kGeoOne).count("false_alarm") >= 1; }, deactivate(kGeoOne), kDownLimit},
        {"no incident open", [&] { return ev(kGeoOne).open == 0; }, nullptr, kRecoverLimit}}});
  seqs.push_back({"row 3 geo: monitor + 2 regions",
                  {{"Down (2 of 3 votes)", [&] { return ev(kGeoTwo).down >= 1; }, downThen(kGeoTwo),
                    kDownLimit},
                   {"recovered", [&] { return ev(kGeoTwo).count("verifier_cleared") == 1; },
                    nullptr, kRecoverLimit}}});
  seqs.push_back(
      {"row 2 flapping 40%",
       {{"a Seems Down opened", [&] { return ev(kFlapping).total >= 1; }, nullptr, kDownLimit},
        {"flapped four intervals",
         [&] { return Clock::now() - t0 >= std::chrono::seconds(4 * kIntervalS); },
         deactivate(kFlapping), 5 * kIntervalS},
        {"settled", [&] { return ev(kFlapping).open == 0; }, nullptr, kRecoverLimit}}});
  seqs.push_back({"row 30 maintenance ends mid-failure",
                  {{"Down after the window",
                    [&] {
                      if (ev(kMaintenance).down < 1) return false;
                      maintenance_down_ms = nowMs();
                      return true;
                    },
                    downThen(kMaintenance), kMaintenanceLeftS + kDownLimit},
                   {"recovered", [&] { return ev(kMaintenance).count("verifier_cleared") == 1; },
                    nullptr, kRecoverLimit}}});
  seqs.push_back(
      {"row 32 layered: DNS slow + 503",
       {{"two checks with slow DNS, nothing opened",
         [&] {
           return fx_->observerSite(static_cast<std::uint32_t>(kLayered))["methods"]["GET"] >= 2;
         },
         [&] {
           EXPECT_EQ(ev(kLayered).total, 0) << "DNS 300 ms slower alone opened an incident";
           ids[kLayered] = fx_->activate(status503(kLayered));
         },
         3 * kIntervalS + 30},
        {"Down", [&] { return ev(kLayered).down >= 1; },
         [&] {
           fx_->deactivate(ids[kLayered]);
           fx_->deactivate(layered_dns);
         },
         kDownLimit},
        {"recovered", [&] { return ev(kLayered).count("verifier_cleared") == 1; }, nullptr,
         kRecoverLimit}}});
  seqs.push_back(
      {"row 32 replacement 503 -> refused",
       {{"Down (503)", [&] { return ev(kReplaced).down >= 1; },
         [&] {
           still_down_base =
               metrics_[a]->counter("detection.down.still_down.intermittent.count").load();
           fx_->deactivate(ids[kReplaced]);
           ids[kReplaced] = fx_->activate({{"type", "tcp_refused"}, {"host", h(kReplaced)}});
         },
         kDownLimit},
        {"refused while Down: still down, same incident",
         [&] {
           return metrics_[a]->counter("detection.down.still_down.intermittent.count").load() >
                  still_down_base;
         },
         deactivate(kReplaced), 2 * kIntervalS + 20},
        {"recovered", [&] { return ev(kReplaced).count("verifier_cleared") == 1; }, nullptr,
         kRecoverLimit}}});
  seqs.push_back(
      {"row 32 recurrence fail/gap/fail",
       {{"Down #1", [&] { return ev(kRecurring).down >= 1; }, downThen(kRecurring), kDownLimit},
        {"recovered #1",
         [&] { return ev(kRecurring).count("verifier_cleared") == 1 && ev(kRecurring).open == 0; },
         [&] { ids[kRecurring] = fx_->activate(status503(kRecurring)); }, kRecoverLimit},
        {"Down #2", [&] { return ev(kRecurring).down >= 2; }, downThen(kRecurring), kDownLimit},
        {"recovered #2", [&] { return ev(kRecurring).count("verifier_cleared") == 2; }, nullptr,
         kRecoverLimit}}});
  seqs.push_back({"restart mid Seems Down",
                  {{"Seems Down, verifiers unreachable (deferred)",
                    [&] {
                      return audit(kRestartDown, "detail LIKE 'verifier retry deferred%'") >= 1 &&
                             audit(kRestartCleared, "detail LIKE 'verifier retry deferred%'") >= 1;
                    },
                    [&] {
                      fx_->deactivate(ids[kRestartCleared]);  // recovers while the monitor is away
                      stopMonitor(e);
                      e = startMonitor(monitorYaml(MonitorOptions{
                          .bucket = 40, .verifiers = live, .dns_port = fx_->dnsPort(0)}));
                      restarted = true;
                    },
                    kDownLimit},
                   {"Down after the restart", [&] { return ev(kRestartDown).down >= 1; },
                    downThen(kRestartDown), kDownLimit},
                   {"recovered", [&] { return ev(kRestartDown).count("verifier_cleared") == 1; },
                    nullptr, kRecoverLimit}}});
  seqs.push_back({"restart: recovered meanwhile",
                  {{"probe_cleared after the restart",
                    [&] { return restarted && ev(kRestartCleared).count("probe_cleared") == 1; },
                    nullptr, kDownLimit + kRecoverLimit}}});

  seqs.push_back({"row 33 replay: 25 of 200",
                  {{"25/25 Down",
                    [&] { return replay([](const SiteEvents& x) { return x.down >= 1; }) == 25; },
                    [&] {
                      for (std::uint64_t id : replay_failing) fx_->deactivate(ids[id]);
                    },
                    kDownLimit},
                   {"25/25 recovered",
                    [&] {
                      return replay([](const SiteEvents& x) {
                               return x.count("verifier_cleared") == 1;
                             }) == 25;
                    },
                    nullptr, kRecoverLimit}}});

  run(seqs, t0);
  // Late effects (a second incident, a stray notification) get one more interval to show.
  std::this_thread::sleep_for(std::chrono::seconds(kIntervalS));
  snapshot();
  std::printf("run took %.1f s; events: %s\n",
              std::chrono::duration<double>(Clock::now() - t0).count(), describe().c_str());

  // ---- row 3 -------------------------------------------------------------------------------
  {
    SCOPED_TRACE("geo: monitor + 1 region");
    EXPECT_EQ(ev(kGeoOne).down, 0);
    EXPECT_GE(qi("SELECT COUNT(*) FROM jetmon_false_positives WHERE blog_id = " +
                 std::to_string(100000 + kGeoOne)),
              1);
    EXPECT_EQ(transitionMeta(kGeoOne, "false_alarm", "$.regional_outcome"),
              "confirmed in loop-1; up in loop-2; up in loop-3");
    EXPECT_EQ(transitionMeta(kGeoOne, "false_alarm", "$.confirmations"), "1");
    EXPECT_EQ(transitionMeta(kGeoOne, "false_alarm", "$.verifier_quorum"), "2");
    EXPECT_EQ(note(kGeoOne, 2) + note(kGeoOne, 1), 0);
  }
  {
    SCOPED_TRACE("geo: monitor + 2 regions");
    EXPECT_EQ(ev(kGeoTwo).total, 1);
    EXPECT_EQ(transitions(kGeoTwo), "opened,verifier_confirmed,verifier_cleared");
    EXPECT_EQ(transitionMeta(kGeoTwo, "verifier_confirmed", "$.regional_outcome"),
              "confirmed in loop-1; confirmed in loop-2; up in loop-3");
    EXPECT_EQ(note(kGeoTwo, 2), 1);
    EXPECT_EQ(note(kGeoTwo, 1), 1);
  }
  {
    SCOPED_TRACE("geo: a region without the monitor");
    EXPECT_EQ(ev(kGeoElsewhere).total, 0);
    EXPECT_EQ(qi("SELECT COUNT(*) FROM jetmon_false_positives WHERE blog_id = " +
                 std::to_string(100000 + kGeoElsewhere)),
              0);
  }
  // ---- row 2 -------------------------------------------------------------------------------
  {
    SCOPED_TRACE("flapping");
    const SiteEvents f = ev(kFlapping);
    std::printf("flapping: %d incidents (%s), %d down and %d recovery notifications\n", f.total,
                f.reasons.c_str(), note(kFlapping, 2), note(kFlapping, 1));
    EXPECT_GE(f.total, 1);
    EXPECT_EQ(f.open, 0);
    EXPECT_EQ(f.count("probe_cleared") + f.count("false_alarm") + f.count("verifier_cleared"),
              f.total)
        << f.reasons;
    // The first incident cleared on the passing retry (seed 2: F . .).
    EXPECT_EQ(f.reasons.substr(0, f.reasons.find(',')), "probe_cleared");
    EXPECT_LE(note(kFlapping, 2), 1);
    EXPECT_EQ(note(kFlapping, 1), 0);  // a recovery inside the cooldown is not notified
  }
  // ---- row 30 ------------------------------------------------------------------------------
  {
    SCOPED_TRACE("maintenance ends mid-failure");
    EXPECT_GE(audit(kMaintenance, "event_type = 'maintenance_active'"), 1);
    EXPECT_EQ(ev(kMaintenance).total, 1);
    EXPECT_EQ(transitions(kMaintenance), "opened,verifier_confirmed,verifier_cleared");
    long long opened_ms =
        qi("SELECT ROUND(UNIX_TIMESTAMP(MIN(changed_at)) * 1000) FROM jetmon_event_transitions "
           "WHERE reason = 'opened' AND endpoint_id = " +
           std::to_string(kMaintenance));
    EXPECT_GE(opened_ms, maintenance_end_ms - 1000) << "opened inside the window";
    std::printf("maintenance: window ended -> Seems Down %.1f s, -> Down seen %.1f s\n",
                (opened_ms - maintenance_end_ms) / 1000.0,
                (maintenance_down_ms - maintenance_end_ms) / 1000.0);
    EXPECT_EQ(note(kMaintenance, 2), 1);
    EXPECT_EQ(note(kMaintenance, 1), 1);
  }
  // ---- row 32 ------------------------------------------------------------------------------
  {
    SCOPED_TRACE("layered DNS slow + 503");
    EXPECT_EQ(ev(kLayered).total, 1);
    EXPECT_EQ(transitions(kLayered), "opened,verifier_confirmed,verifier_cleared");
    EXPECT_EQ(transitionMeta(kLayered, "opened", "$.http_code"), "503");
    EXPECT_EQ(transitionMeta(kLayered, "opened", "$.status_type"), "server");
    EXPECT_EQ(note(kLayered, 2), 1);
    EXPECT_EQ(note(kLayered, 1), 1);
  }
  {
    SCOPED_TRACE("replacement 503 -> refused");
    EXPECT_EQ(ev(kReplaced).total, 1);
    EXPECT_EQ(transitions(kReplaced), "opened,verifier_confirmed,verifier_cleared");
    EXPECT_EQ(transitionMeta(kReplaced, "opened", "$.status_type"), "server");
    EXPECT_EQ(note(kReplaced, 2), 1);  // the refusals while Down notify nobody again (B4)
    EXPECT_EQ(note(kReplaced, 1), 1);
  }
  {
    SCOPED_TRACE("recurrence fail / gap / fail");
    EXPECT_EQ(ev(kRecurring).total, 2);
    EXPECT_EQ(ev(kRecurring).down, 2);
    EXPECT_EQ(
        transitions(kRecurring),
        "opened,verifier_confirmed,verifier_cleared,opened,verifier_confirmed,verifier_cleared");
    EXPECT_EQ(note(kRecurring, 2), 2);
    EXPECT_EQ(note(kRecurring, 1), 2);
  }
  // ---- restart -----------------------------------------------------------------------------
  {
    SCOPED_TRACE("restart mid Seems Down");
    EXPECT_EQ(ev(kRestartDown).total, 1);
    EXPECT_EQ(transitions(kRestartDown), "opened,verifier_confirmed,verifier_cleared");
    EXPECT_EQ(note(kRestartDown, 2), 1);
    EXPECT_EQ(note(kRestartDown, 1), 1);
    EXPECT_EQ(ev(kRestartCleared).total, 1);
    EXPECT_EQ(transitions(kRestartCleared), "opened,probe_cleared");
    EXPECT_EQ(note(kRestartCleared, 2) + note(kRestartCleared, 1), 0);
    EXPECT_GE(metrics_[e]->gauge("incidents.recovered_open_events").load(), 2);
    EXPECT_EQ(qi("SELECT COUNT(*) FROM jetmon_false_positives WHERE blog_id IN (100301, 100302)"),
              0);
  }
  // Every escalation is audited: the retries, the escalation and one row per verifier reply.
  // (The maintenance site has no retries: the failures swallowed in the window are its local
  // evidence, so it escalates on its first check after the window.)
  for (std::uint64_t id :
       {kGeoOne, kGeoTwo, kMaintenance, kLayered, kReplaced, kRecurring, kRestartDown}) {
    SCOPED_TRACE("audit of site " + std::to_string(id));
    if (id != kMaintenance) EXPECT_GE(audit(id, "event_type = 'retry_dispatched'"), 1);
    EXPECT_GE(audit(id, "event_type = 'veriflier_sent'"), 4);
  }
  EXPECT_GE(audit(kReplaced, "event_type = 'wpcom_sent'"), 2);
  // Row 18: the resolver fell back to ns2; the observer saw the checks.
  EXPECT_EQ(ev(kOneNsDown).total, 0);
  EXPECT_GE(fx_->observerSite(static_cast<std::uint32_t>(kOneNsDown))["methods"]["GET"].get<int>(),
            3);
  // ---- row 33 ------------------------------------------------------------------------------
  {
    SCOPED_TRACE("replay 25 of 200");
    int incidents = 0, downs = 0, ups = 0;
    for (std::uint64_t id : replay_failing) {
      incidents += ev(id).total;
      downs += note(id, 2);
      ups += note(id, 1);
    }
    EXPECT_EQ(incidents, 25);
    EXPECT_EQ(downs, 25);
    EXPECT_EQ(ups, 25);
    EXPECT_EQ(qi("SELECT COUNT(*) FROM jetmon_events WHERE endpoint_id BETWEEN " +
                 std::to_string(kReplayFirst) + " AND " +
                 std::to_string(kReplayFirst + kReplaySites - 1)),
              25)
        << "the healthy sites of the batch opened something";
  }
  // The healthy control opened nothing; every site ends Up.
  EXPECT_EQ(ev(kHealthy).total, 0);
  EXPECT_EQ(qi("SELECT COUNT(*) FROM jetpack_monitor_sites WHERE site_status <> 1"), 0)
      << q("SELECT GROUP_CONCAT(CONCAT(jetpack_monitor_site_id, '=', site_status)) FROM "
           "jetpack_monitor_sites");
}

}  // namespace
}  // namespace tidewatch::e2e
