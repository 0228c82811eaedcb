// Detection latency at a real 60 s interval (not CI: one run takes about three minutes).
//
// One in-process monitor (the daemon's Runner, built from YAML through the registry) with
// source.mysql (check_interval 1 minute ⇒ 60 s, cadence 57 s), probe.http (deadline 10 s),
// scheduler.retry_interval_s 10, num_of_checks 3, sink.incidents with its production defaults
// (3 s hold, parallel escalation), against tidewatch-fixture, a private MariaDB and three
// `tidewatch verifier` processes on 127.0.0.2/3/4 (their probe deadline 10 s too).
//
// Worst case by construction: each site's failure is switched on right after the fixture has
// answered one of its (healthy) checks, so the next check is a whole cadence away. Latency =
// that moment → the transition that made the site Down (jetmon_event_transitions.changed_at).
//
//   latency_bench [--timeouts N] [--hard N] [--refused N]    (bench/incidents/latency.sh)
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "io/event_loop.h"
#include "io/mysql/migrate.h"
#include "io/mysql/session.h"
#include "pipeline/config.h"
#include "core/metrics.h"
#include "pipeline/registry.h"
#include "stages/register_all.h"
#include "pipeline/runner.h"
#include "tests/support/fixture_process.h"
#include "tests/support/private_mariadb.h"
#include "tests/support/verifier_process.h"

namespace {

using namespace tidewatch;
using nlohmann::json;
using Clock = std::chrono::steady_clock;

const std::string kToken = "latency-bench-token";

std::int64_t nowMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

struct Site {
  std::string kind;
  std::uint32_t id;
  json failure;
  std::int64_t requests_seen = -1;
  std::int64_t t0_ms = 0;  // failure switched on
};

int run(int timeouts, int hard, int refused) {
  testing::FixtureProcess fx({.fleet_count = 200});
  testing::PrivateMariaDb db;
  DatabaseConfig dbcfg = db.config("bench");
  {
    mysql::Session s(db.connection("bench"));
    std::ostringstream out;
    if (!s.connect().ok() || !mysql::applyMigrations(s, out).ok()) {
      std::fprintf(stderr, "migration failed: %s\n", out.str().c_str());
      return 2;
    }
  }
  std::vector<Site> sites;
  std::uint32_t next = 1;
  for (int i = 0; i < timeouts; ++i)
    sites.push_back({"timeout (GET hangs, 10 s deadline)", next++, {{"type", "http_timeout"}, {"phase", "ttfb"}, {"delay", 60}}});
  for (int i = 0; i < hard; ++i) sites.push_back({"http-503", next++, {{"type", "http_status"}, {"status_code", 503}}});
  for (int i = 0; i < refused; ++i) sites.push_back({"tcp-refused", next++, {{"type", "tcp_refused"}}});
  for (auto& s : sites) {
    s.failure["host"] = fx.hostName(s.id);
    db.query("INSERT INTO jetpack_monitor_sites (jetpack_monitor_site_id, blog_id, bucket_no, monitor_url, check_interval, "
             "alert_cooldown_minutes) VALUES (" + std::to_string(s.id) + ", " + std::to_string(100000 + s.id) +
                 ", 0, 'http://" + fx.hostName(s.id) + ":" + std::to_string(fx.httpPort()) + "/', 1, 0)",
             "bench");
  }

  std::vector<std::unique_ptr<testing::VerifierProcess>> verifiers;
  std::string vy;
  int vport = 20000 + static_cast<int>(::getpid() % 20000);
  for (int i = 0; i < 3; ++i) {
    const std::string extra = "probe: {allow_private_targets: true, default_timeout_s: 10}\n"
                              "resolver: {servers: ['127.0.0.1:" + std::to_string(fx.dnsPort(0)) + "']}\n"
                              "admin: {listen: ''}\n";
    verifiers.push_back(std::make_unique<testing::VerifierProcess>(
        fx.tempDir(), "127.0.0." + std::to_string(i + 2), static_cast<std::uint16_t>(vport), i + 1, kToken, extra,
        "bench-v"));
    vy += verifiers.back()->yaml();
  }
  std::ostringstream y;
  y << "database: {socket: '" << dbcfg.socket << "', user: root, name: bench}\n"
    << "resolver: {servers: ['127.0.0.1:" << fx.dnsPort(0) << "']}\n"
    << "probe: {allow_private_targets: true, default_timeout_s: 10}\n"
    << "scheduler: {retry_interval_s: 10, num_of_checks: 3, summary_interval_s: 600}\n"
    << "admin: {listen: ''}\n"
    << "runtime: {host_id: latency-bench}\n"
    << "verifiers:\n" << vy
    << "pipeline:\n"
    << "  source: {type: source.mysql}\n"
    << "  probe: {type: probe.http}\n"
    << "  sink: [{type: sink.incidents}]\n";
  ConfigDiagnostics diag;
  Config cfg = parseConfigString(y.str(), builtinStages(), diag);
  if (!diag.ok()) {
    std::fprintf(stderr, "config: %s\n%s", diag.firstError().c_str(), y.str().c_str());
    return 2;
  }
  io::AsioEventLoop loop(2);
  loop.start();
  Metrics metrics;
  Runner runner(cfg, builtinStages(), loop, metrics, &loop);
  runner.start();
  std::printf("monitor started; %zu sites at a 60 s interval (cadence 57 s)\n", sites.size());
  std::fflush(stdout);

  // Arm each failure right after a healthy check of its site has been answered.
  auto requests = [&](const Site& s) { return fx.observerSite(s.id).value("requests", std::int64_t{0}); };
  auto deadline = Clock::now() + std::chrono::seconds(150);
  std::size_t armed = 0;
  while (armed < sites.size() && Clock::now() < deadline) {
    for (auto& s : sites) {
      if (s.t0_ms != 0) continue;
      std::int64_t n = requests(s);
      if (s.requests_seen < 0) {
        s.requests_seen = n;
      } else if (n > s.requests_seen) {
        fx.activate(s.failure);
        s.t0_ms = nowMs();
        ++armed;
      }
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  if (armed < sites.size()) std::fprintf(stderr, "only %zu of %zu failures armed\n", armed, sites.size());

  auto at = [&](const Site& s, const char* where) {
    std::string v = db.query("SELECT COALESCE(ROUND(UNIX_TIMESTAMP(MIN(t.changed_at)) * 1000), 0) FROM "
                             "jetmon_event_transitions t JOIN jetmon_events e ON e.id = t.event_id WHERE "
                             "e.check_type = 'http' AND t.endpoint_id = " + std::to_string(s.id) + " AND " + where,
                             "bench");
    return v.empty() || v == "NULL" ? 0LL : std::stoll(v);
  };
  auto downAt = [&](const Site& s) { return at(s, "t.severity_after = 4"); };
  deadline = Clock::now() + std::chrono::seconds(180);
  for (;;) {
    bool all = true;
    for (auto& s : sites) all = all && (s.t0_ms == 0 || downAt(s) != 0);
    if (all || Clock::now() > deadline) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(500));
  }

  std::printf("\n%-36s %4s %12s %12s\n", "scenario", "site", "seems_down", "down");
  std::map<std::string, std::vector<double>> by_kind;
  for (auto& s : sites) {
    if (s.t0_ms == 0) continue;
    long long sd = at(s, "t.severity_after = 3"), dn = downAt(s);
    double sd_s = sd ? (sd - s.t0_ms) / 1000.0 : -1, dn_s = dn ? (dn - s.t0_ms) / 1000.0 : -1;
    std::printf("%-36s %4u %11.1fs %11.1fs\n", s.kind.c_str(), s.id, sd_s, dn_s);
    by_kind[s.kind].push_back(dn ? dn_s : 1e9);
  }
  std::printf("\nfailure start (just after a check) -> Down, 60 s interval, target <= 90 s:\n");
  int over = 0;
  for (auto& [kind, v] : by_kind) {
    std::sort(v.begin(), v.end());
    std::printf("  %-36s n=%zu  min %.1f s  median %.1f s  max %.1f s\n", kind.c_str(), v.size(), v.front(),
                v[v.size() / 2], v.back());
    for (double d : v) over += d > 90.0;
  }
  std::printf("  escalations %llu (parallel %llu), sites over 90 s: %d\n",
              static_cast<unsigned long long>(metrics.counter("detection.verifier.escalation.count").load()),
              static_cast<unsigned long long>(metrics.counter("detection.verifier.parallel_escalation.count").load()),
              over);
  runner.drain(std::chrono::seconds(15));
  loop.stop();
  fx.deactivateAll();
  return over == 0 ? 0 : 1;
}

}  // namespace

int main(int argc, char** argv) {
  int timeouts = 6, hard = 2, refused = 2;
  for (int i = 1; i + 1 < argc; i += 2) {
    if (!std::strcmp(argv[i], "--timeouts")) timeouts = std::atoi(argv[i + 1]);
    else if (!std::strcmp(argv[i], "--hard")) hard = std::atoi(argv[i + 1]);
    else if (!std::strcmp(argv[i], "--refused")) refused = std::atoi(argv[i + 1]);
  }
  try {
    return run(timeouts, hard, refused);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "latency_bench: %s\n", e.what());
    return 2;
  }
}
