// End to end: three in-process monitors (the daemon's Runner, built from YAML through the
// registry) with source.mysql + probe.http + classify.jetmon + sink.incidents + notify.wpcom,
// against tidewatch-fixture (fleet, DNS, mock WordPress.com), a private MariaDB and three
// `tidewatch verifier` processes on 127.0.0.2/3/4. Every scenarios.md §4 row that can run on
// loopback runs at once, each on its own site of one fleet:
//
//   monitor A (buckets 0–9):  the scenario rows, live verifiers;
//   monitor B (bucket 20):    its verifiers are all down ⇒ deferred, never a false alarm;
//   monitor C (bucket 30):    its resolver (fixture ns2) times out for everyone ⇒ the monitor
//                             is the suspect and opens nothing.
//
// Short timings: sites load with check_interval 1 minute and the test's source wrapper runs
// them every 20 s; retry 2 s; probe deadline 3 s. Detection latencies (failure start → Seems
// Down → Down, failure end → recovery) are printed for docs/benchmarks.md.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <fstream>
#include <functional>
#include <map>
#include <sstream>
#include <thread>

#include "io/event_loop.h"
#include "io/mysql/migrate.h"
#include "io/mysql/session.h"
#include "pipeline/config.h"
#include "pipeline/metrics.h"
#include "pipeline/registry.h"
#include "pipeline/runner.h"
#include "stages/source/mysql/mysql_source.h"
#include "tests/support/fixture_process.h"
#include "tests/support/private_mariadb.h"

namespace tidewatch {
namespace {

using nlohmann::json;
using Clock = std::chrono::steady_clock;

constexpr int kIntervalS = 20;
const std::string kToken = "e2e-verifier-token";

std::int64_t nowMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// source.mysql with the interval rewritten: the table stores minutes, the test wants seconds.
class ShortIntervalSource final : public TargetSource, private TargetListener {
 public:
  ShortIntervalSource(std::unique_ptr<TargetSource> inner, std::uint32_t interval_s)
      : inner_(std::move(inner)), interval_s_(interval_s) {}
  void start(TargetListener& listener) override {
    listener_ = &listener;
    inner_->start(*this);
  }
  void stop() override { inner_->stop(); }
  void refresh() override { inner_->refresh(); }

 private:
  void replaceFleet(std::vector<Target> fleet) override {
    for (auto& t : fleet) t.interval_s = interval_s_;
    listener_->replaceFleet(std::move(fleet));
  }
  std::unique_ptr<TargetSource> inner_;
  std::uint32_t interval_s_;
  TargetListener* listener_ = nullptr;
};

const StageRegistry& e2eRegistry() {
  static const StageRegistry registry = [] {
    StageRegistry r;
    registerAllStages(r);
    r.add({StageKind::kSource, "source.e2e", "source.mysql with intervals in seconds (tests only)",
           [](ConfigMap& m) {
             stages::MysqlSourceOptions o;
             o.bucket_min = static_cast<std::uint16_t>(m.getInt("bucket_min", 0));
             o.bucket_max = static_cast<std::uint16_t>(m.getInt("bucket_max", 65535));
             o.reload_interval_s = static_cast<int>(m.getInt("reload_interval_s", 300));
             auto interval = static_cast<std::uint32_t>(m.getInt("interval_s", kIntervalS));
             return std::any(std::make_pair(o, interval));
           },
           [](const std::any& a, StageContext& ctx) -> std::unique_ptr<Stage> {
             auto [o, interval] = std::any_cast<std::pair<stages::MysqlSourceOptions, std::uint32_t>>(a);
             return std::make_unique<ShortIntervalSource>(
                 stages::makeMysqlTargetSource(o, ctx.config.database, ctx.metrics), interval);
           }});
    return r;
  }();
  return registry;
}

std::uint16_t freePort(const char* address) {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  ::inet_pton(AF_INET, address, &a.sin_addr);
  ::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a);
  socklen_t len = sizeof a;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
  ::close(fd);
  return ntohs(a.sin_port);
}

// A `tidewatch verifier` child process.
class VerifierProcess {
 public:
  VerifierProcess(const std::string& dir, const std::string& address, std::uint16_t port, int index,
                  const testing::FixtureProcess& fx)
      : address_(address), port_(port) {
    std::string cfg = dir + "/verifier" + std::to_string(index) + ".yaml";
    std::ofstream(cfg) << "verifier:\n"
                       << "  listen: \"" << address << ":" << port << "\"\n"
                       << "  auth_token: \"" << kToken << "\"\n"
                       << "  vantage_id: \"e2e-v" << index << "\"\n"
                       << "  region: \"loop-" << index << "\"\n"
                       << "probe: {allow_private_targets: true, default_timeout_s: 3, ca_file: '" << fx.caFile()
                       << "'}\n"
                       << "resolver: {servers: ['127.0.0.1:" << fx.dnsPort(0)
                       << "'], timeout_ms: 500, tries: 2, cache_min_ttl_s: 1, cache_max_ttl_s: 1}\n"
                       << "admin: {listen: ''}\n";
    std::string bin = std::string(TIDEWATCH_BUILD_DIR) + "/app/tidewatch";
    std::string log = dir + "/verifier" + std::to_string(index) + ".log";
    pid_ = ::fork();
    if (pid_ == 0) {
      std::freopen(log.c_str(), "w", stdout);
      std::freopen(log.c_str(), "a", stderr);
      ::execl(bin.c_str(), bin.c_str(), "verifier", "--config", cfg.c_str(), static_cast<char*>(nullptr));
      std::_Exit(127);
    }
    for (int i = 0; i < 200; ++i) {
      try {
        auto r = testing::httpRequest(address, port, "GET", "/v2/status", "", {}, 1);
        if (r.status == 200) return;
      } catch (const std::exception&) {
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    throw std::runtime_error("verifier on " + address + " did not come up; see " + log);
  }
  ~VerifierProcess() {
    if (pid_ > 0) {
      ::kill(pid_, SIGTERM);
      int status = 0;
      for (int i = 0; i < 100 && ::waitpid(pid_, &status, WNOHANG) == 0; ++i)
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
      ::kill(pid_, SIGKILL);
      ::waitpid(pid_, &status, 0);
    }
  }
  std::string yaml(int index) const {
    return "  - {name: v" + std::to_string(index) + ", host: '" + address_ + "', port: " + std::to_string(port_) +
           ", auth_token: '" + kToken + "'}\n";
  }

 private:
  std::string address_;
  std::uint16_t port_;
  pid_t pid_ = -1;
};

struct Scenario {
  std::string name;
  std::uint64_t id;
  bool https = false;
  json failure;             // null = none
  std::string expect;       // down | none | tls_expiry | tls_deprecated | maintenance | cooldown
  std::string extra_sql;    // column assignments for the site row
};

class IncidentsE2E : public ::testing::Test {
 protected:
  void SetUp() override {
    fx_ = std::make_unique<testing::FixtureProcess>(testing::FixtureProcess::Options{.fleet_count = 400});
    db_ = std::make_unique<testing::PrivateMariaDb>();
    dbcfg_ = db_->config("e2e");
    mysql::Session s(dbcfg_);
    std::ostringstream out;
    ASSERT_TRUE(s.connect().ok());
    ASSERT_TRUE(mysql::applyMigrations(s, out).ok()) << out.str();
    dir_ = fx_->tempDir();
  }
  void TearDown() override {
    for (auto& r : runners_) r->drain(std::chrono::seconds(10));
    runners_.clear();
    if (loop_) loop_->stop();
    verifiers_.clear();
    if (fx_) fx_->deactivateAll();
  }

  std::string url(const Scenario& s) const {
    return (s.https ? "https://" : "http://") + fx_->hostName(static_cast<std::uint32_t>(s.id)) + ":" +
           std::to_string(s.https ? fx_->httpsPort() : fx_->httpPort()) + "/";
  }

  void addSite(const Scenario& s, int bucket) {
    std::string sql = "INSERT INTO jetpack_monitor_sites (jetpack_monitor_site_id, blog_id, bucket_no, monitor_url, "
                      "check_interval, alert_cooldown_minutes) VALUES (" +
                      std::to_string(s.id) + ", " + std::to_string(100000 + s.id) + ", " + std::to_string(bucket) +
                      ", '" + url(s) + "', 1, 0)";
    db_->query(sql, "e2e");
    if (!s.extra_sql.empty())
      db_->query("UPDATE jetpack_monitor_sites SET " + s.extra_sql + " WHERE jetpack_monitor_site_id = " +
                     std::to_string(s.id),
                 "e2e");
  }

  std::string monitorYaml(int bucket, const std::string& verifiers, int dns_port, const std::string& correlation) {
    std::ostringstream y;
    y << "database: {socket: '" << dbcfg_.socket << "', user: root, name: e2e}\n"
      << "resolver: {servers: ['127.0.0.1:" << dns_port
      << "'], timeout_ms: 500, tries: 2, cache_min_ttl_s: 1, cache_max_ttl_s: 2}\n"
      << "probe: {allow_private_targets: true, default_timeout_s: 3, ca_file: '" << fx_->caFile() << "'}\n"
      << "scheduler: {retry_interval_s: 2, num_of_checks: 3, summary_interval_s: 600}\n"
      << "admin: {listen: ''}\n"
      << "runtime: {host_id: monitor-b" << bucket << ", io_threads: 1, tbb_threads: 1}\n"
      << "verification: {extra_timeout_s: 2}\n";
    if (!verifiers.empty()) y << "verifiers:\n" << verifiers;
    y << "pipeline:\n"
      << "  source: {type: source.e2e, bucket_min: " << bucket << ", bucket_max: " << bucket + 9
      << ", interval_s: " << kIntervalS << "}\n"
      << "  probe: {type: probe.http}\n"
      << "  sink:\n"
      << "    - {type: sink.incidents, workers: 1, shards: 8, tick_ms: 100" << correlation << "}\n"
      << "  notify:\n"
      << "    - {type: notify.wpcom, mode: modern, auth_token: wpcom-token, endpoint: 'http://127.0.0.1:"
      << fx_->wpcomPort() << "/wpcom/v2/jetpack-monitor/status-change'}\n";
    return y.str();
  }

  void startMonitor(const std::string& yaml) {
    ConfigDiagnostics diag;
    Config cfg = parseConfigString(yaml, e2eRegistry(), diag);
    ASSERT_TRUE(diag.ok()) << diag.firstError() << "\n" << yaml;
    metrics_.push_back(std::make_unique<Metrics>());
    runners_.push_back(std::make_unique<Runner>(cfg, e2eRegistry(), *loop_, *metrics_.back()));
    runners_.back()->start();
  }

  std::string q(const std::string& sql) { return db_->query(sql, "e2e"); }
  long long qi(const std::string& sql) {
    std::string s = q(sql);
    return s.empty() || s == "NULL" ? 0 : std::stoll(s);
  }
  // Polls until `pred` holds or `limit` passes.
  bool waitFor(const std::function<bool()>& pred, std::chrono::seconds limit) {
    auto deadline = Clock::now() + limit;
    while (Clock::now() < deadline) {
      if (pred()) return true;
      std::this_thread::sleep_for(std::chrono::milliseconds(500));
    }
    return pred();
  }

  std::unique_ptr<testing::FixtureProcess> fx_;
  std::unique_ptr<testing::PrivateMariaDb> db_;
  DatabaseConfig dbcfg_;
  std::string dir_;
  std::vector<std::unique_ptr<VerifierProcess>> verifiers_;
  std::unique_ptr<io::AsioEventLoop> loop_;
  std::vector<std::unique_ptr<Metrics>> metrics_;
  std::vector<std::unique_ptr<Runner>> runners_;
};

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
  };
  for (auto& s : sc) addSite(s, 0);
  Scenario deferred{"verifiers all down: http-503", 101, false, {{"type", "http_status"}, {"status_code", 503}}, "deferred", ""};
  addSite(deferred, 20);
  std::vector<Scenario> storm;
  for (std::uint64_t id = 201; id <= 212; ++id) {
    storm.push_back({"resolver storm", id, false, nullptr, "none", ""});
    addSite(storm.back(), 30);
  }

  // Verifiers on 127.0.0.2/3/4 (same free port on each address).
  std::uint16_t vport = freePort("127.0.0.2");
  std::string live;
  for (int i = 0; i < 3; ++i) {
    verifiers_.push_back(std::make_unique<VerifierProcess>(dir_, "127.0.0." + std::to_string(i + 2), vport, i + 1, *fx_));
    live += verifiers_.back()->yaml(i + 1);
  }
  std::uint16_t dead_port = freePort("127.0.0.5");
  std::string dead;
  for (int i = 0; i < 3; ++i)
    dead += "  - {name: dead" + std::to_string(i) + ", host: '127.0.0." + std::to_string(5 + i) +
            "', port: " + std::to_string(dead_port) + ", auth_token: '" + kToken + "'}\n";

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
  bool all_down = waitFor([&] { return downCount() >= expected_down; }, std::chrono::seconds(kIntervalS * 3 + 30));
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
                "opened,verifier_confirmed");
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
  auto notifications = [&] {
    std::map<std::pair<std::uint64_t, int>, int> n;
    for (const auto& rec : fx_->wpcomNotifications()) {
      const json& p = rec["payload"];
      if (!p.is_object()) continue;
      n[{p.value("blog_id", std::uint64_t{0}) - 100000, p.value("status_id", 0)}]++;
    }
    return n;
  };
  waitFor([&] {
    auto n = notifications();
    int downs = 0;
    for (auto& [k, v] : n) downs += k.second == 2;
    return downs >= expected_down - 1;
  }, std::chrono::seconds(10));
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
  EXPECT_TRUE(waitFor([&] { return recovered() >= expected_down; }, std::chrono::seconds(kIntervalS * 2 + 15)))
      << recovered() << " of " << expected_down << " recovered";
  waitFor([&] {
    auto n = notifications();
    int ups = 0;
    for (auto& [k, v] : n) ups += k.second == 1;
    return ups >= expected_down - 1;
  }, std::chrono::seconds(10));
  auto n2 = notifications();
  for (auto& s : sc) {
    SCOPED_TRACE(s.name);
    if (s.expect == "down") EXPECT_EQ((n2[{s.id, 1}]), 1);   // alerted ⇒ "back up" (cooldown 0)
    if (s.expect == "cooldown") EXPECT_EQ((n2[{s.id, 1}]), 0);  // never alerted ⇒ no recovery (B5a)
    if (s.expect != "down" && s.expect != "cooldown") EXPECT_EQ((n2[{s.id, 1}]), 0);
  }

  // ---- latency --------------------------------------------------------------------------
  std::printf("\n%-34s %10s %10s %10s\n", "scenario", "seems_down", "down", "recovered");
  std::vector<double> downs;
  for (auto& s : sc) {
    if (s.expect != "down" && s.expect != "cooldown") continue;
    std::string site = std::to_string(s.id);
    auto at = [&](const std::string& reason) {
      return qi("SELECT ROUND(UNIX_TIMESTAMP(MIN(t.changed_at)) * 1000) FROM jetmon_event_transitions t JOIN "
                "jetmon_events e ON e.id = t.event_id WHERE e.check_type = 'http' AND t.reason = '" + reason +
                "' AND t.endpoint_id = " + site);
    };
    double sd = (at("opened") - t0) / 1000.0, dn = (at("verifier_confirmed") - t0) / 1000.0,
           rc = (at("verifier_cleared") - t1) / 1000.0;
    downs.push_back(dn);
    std::printf("%-34s %9.1fs %9.1fs %9.1fs\n", s.name.c_str(), sd, dn, rc);
  }
  std::sort(downs.begin(), downs.end());
  if (!downs.empty())
    std::printf("failure start -> Down: min %.1f s, median %.1f s, max %.1f s (interval %d s, retry 2 s, timeout 3 s)\n",
                downs.front(), downs[downs.size() / 2], downs.back(), kIntervalS);
  std::printf("all Down detected %.1f s after the failures started\n", (detected_at - t0) / 1000.0);
}

}  // namespace
}  // namespace tidewatch
