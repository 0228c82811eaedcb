// Shared by the incidents end-to-end tests: in-process monitors (the daemon's Runner, built
// from YAML through the registry) with source.mysql at a seconds-long interval + probe.http +
// classify.jetmon + sink.incidents + notify.wpcom, against tidewatch-fixture (fleet, DNS,
// mock WordPress.com), a private MariaDB and `tidewatch verifier` child processes, each on its
// own loopback address and probing from it (probe.source_address), so a fixture failure with a
// `from` selector fails for one verifier's "region" only.
//
// Each test executable gets its own fixture, MariaDB and verifiers, so ctest can run them in
// parallel.
#pragma once

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
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
#include "core/metrics.h"
#include "pipeline/registry.h"
#include "stages/register_all.h"
#include "pipeline/runner.h"
#include "stages/source/mysql/mysql_source.h"
#include "tests/support/fixture_process.h"
#include "tests/support/private_mariadb.h"
#include "tests/support/verifier_process.h"

namespace tidewatch::e2e {

using nlohmann::json;
using Clock = std::chrono::steady_clock;

// Sites load with check_interval 1 minute; the test's source wrapper runs them every 20 s.
constexpr int kIntervalS = 20;
inline const std::string kToken = "e2e-verifier-token";

inline std::int64_t nowMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
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

inline const StageRegistry& e2eRegistry() {
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
             auto [o, interval] =
                 std::any_cast<std::pair<stages::MysqlSourceOptions, std::uint32_t>>(a);
             return std::make_unique<ShortIntervalSource>(
                 stages::makeMysqlTargetSource(o, ctx.config.database, ctx.metrics), interval);
           }});
    return r;
  }();
  return registry;
}

inline std::uint16_t freePort(const char* address) {
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

struct Scenario {
  std::string name;
  std::uint64_t id;
  bool https = false;
  json failure;           // null = none
  std::string expect;     // down | none | tls_expiry | tls_deprecated | maintenance | cooldown
  std::string extra_sql;  // column assignments for the site row
  // http transitions of a "down" row; "" = Seems Down promoted on confirmation
  std::string transitions = "";
};

// One monitor's YAML, beyond the buckets, verifiers and resolver every monitor needs.
struct MonitorOptions {
  int bucket = 0;         // buckets [bucket, bucket + 9]
  std::string verifiers;  // YAML list items ("" = none: confirm without verification)
  int dns_port = 0;
  int dns_port2 = 0;               // a second nameserver (0 = only dns_port)
  std::string correlation;         // appended to the sink.incidents map (", correlation: {...}")
  std::string probe_extra;         // appended to the probe map (", source_address: ...")
  std::string verification_extra;  // appended to the verification map
};

class IncidentsE2E : public ::testing::Test {
 protected:
  void SetUp() override {
    fx_ = std::make_unique<testing::FixtureProcess>(
        testing::FixtureProcess::Options{.fleet_count = 400});
    db_ = std::make_unique<testing::PrivateMariaDb>();
    dbcfg_ = db_->config("e2e");
    mysql::Session s(db_->connection("e2e"));
    std::ostringstream out;
    ASSERT_TRUE(s.connect().ok());
    ASSERT_TRUE(mysql::applyMigrations(s, out).ok()) << out.str();
    dir_ = fx_->tempDir();
  }
  void TearDown() override {
    for (auto& r : runners_)
      if (r) r->drain(std::chrono::seconds(10));
    runners_.clear();
    if (loop_) loop_->stop();
    verifiers_.clear();
    if (fx_) fx_->deactivateAll();
  }

  std::string url(const Scenario& s) const {
    return (s.https ? "https://" : "http://") + fx_->hostName(static_cast<std::uint32_t>(s.id)) +
           ":" + std::to_string(s.https ? fx_->httpsPort() : fx_->httpPort()) + "/";
  }

  void addSite(const Scenario& s, int bucket) {
    std::string sql =
        "INSERT INTO jetpack_monitor_sites (jetpack_monitor_site_id, blog_id, bucket_no, "
        "monitor_url, "
        "check_interval, alert_cooldown_minutes) VALUES (" +
        std::to_string(s.id) + ", " + std::to_string(100000 + s.id) + ", " +
        std::to_string(bucket) + ", '" + url(s) + "', 1, 0)";
    db_->query(sql, "e2e");
    if (!s.extra_sql.empty())
      db_->query("UPDATE jetpack_monitor_sites SET " + s.extra_sql +
                     " WHERE jetpack_monitor_site_id = " + std::to_string(s.id),
                 "e2e");
  }

  // Verifiers on 127.0.0.2/3/4 (the same free port on each address); returns their YAML.
  std::string startVerifiers() {
    std::uint16_t vport = freePort("127.0.0.2");
    std::string live;
    for (int i = 0; i < 3; ++i) {
      // Each probes from its own address (probe.source_address): a vantage in region loop-N.
      const std::string address = "127.0.0." + std::to_string(i + 2);
      std::ostringstream extra;
      extra << "probe: {allow_private_targets: true, default_timeout_s: 3, source_address: '" << address
            << "', ca_file: '" << fx_->caFile() << "'}\n"
            << "resolver: {servers: ['127.0.0.1:" << fx_->dnsPort(0)
            << "'], timeout_ms: 500, tries: 2, cache_min_ttl_s: 1, cache_max_ttl_s: 1}\n"
            << "admin: {listen: ''}\n";
      verifiers_.push_back(std::make_unique<testing::VerifierProcess>(
          dir_, address, vport, i + 1, kToken, extra.str(), "e2e-v", "loop-" + std::to_string(i + 1)));
      live += verifiers_.back()->yaml();
    }
    return live;
  }
  // Three verifiers nobody listens for (127.0.0.5/6/7): every RPC is refused.
  static std::string deadVerifiers() {
    std::uint16_t dead_port = freePort("127.0.0.5");
    std::string dead;
    for (int i = 0; i < 3; ++i)
      dead += "  - {name: dead" + std::to_string(i) + ", host: '127.0.0." + std::to_string(5 + i) +
              "', port: " + std::to_string(dead_port) + ", auth_token: '" + kToken + "'}\n";
    return dead;
  }

  std::string monitorYaml(const MonitorOptions& o) {
    std::ostringstream y;
    y << "database: {socket: '" << dbcfg_.socket << "', user: root, name: e2e}\n"
      << "resolver: {servers: ['127.0.0.1:" << o.dns_port << "'"
      << (o.dns_port2 ? ", '127.0.0.1:" + std::to_string(o.dns_port2) + "'" : std::string())
      << "], timeout_ms: 500, tries: 2, cache_min_ttl_s: 1, cache_max_ttl_s: 2}\n"
      << "probe: {allow_private_targets: true, default_timeout_s: 3, ca_file: '" << fx_->caFile()
      << "'" << o.probe_extra << "}\n"
      << "scheduler: {retry_interval_s: 2, num_of_checks: 3, summary_interval_s: 600}\n"
      << "admin: {listen: ''}\n"
      << "runtime: {host_id: monitor-b" << o.bucket << ", io_threads: 1, tbb_threads: 1}\n"
      << "verification: {extra_timeout_s: 2" << o.verification_extra << "}\n";
    if (!o.verifiers.empty()) y << "verifiers:\n" << o.verifiers;
    y << "pipeline:\n"
      << "  source: {type: source.e2e, bucket_min: " << o.bucket << ", bucket_max: " << o.bucket + 9
      << ", interval_s: " << kIntervalS << "}\n"
      << "  probe: {type: probe.http}\n"
      << "  sink:\n"
      << "    - {type: sink.incidents, workers: 1, shards: 8, tick_ms: 100" << o.correlation
      << "}\n"
      << "  notify:\n"
      << "    - {type: notify.wpcom, mode: modern, auth_token: wpcom-token, endpoint: "
         "'http://127.0.0.1:"
      << fx_->wpcomPort() << "/wpcom/v2/jetpack-monitor/status-change'}\n";
    return y.str();
  }
  std::string monitorYaml(int bucket, const std::string& verifiers, int dns_port,
                          const std::string& correlation) {
    return monitorYaml(MonitorOptions{.bucket = bucket,
                                      .verifiers = verifiers,
                                      .dns_port = dns_port,
                                      .correlation = correlation});
  }

  // Returns the monitor's index in runners_/metrics_.
  std::size_t startMonitor(const std::string& yaml) {
    if (!loop_) {
      loop_ = std::make_unique<io::AsioEventLoop>(2);
      loop_->start();
    }
    ConfigDiagnostics diag;
    Config cfg = parseConfigString(yaml, e2eRegistry(), diag);
    EXPECT_TRUE(diag.ok()) << diag.firstError() << "\n" << yaml;
    if (!diag.ok()) throw std::runtime_error("bad monitor config: " + diag.firstError());
    metrics_.push_back(std::make_unique<Metrics>());
    runners_.push_back(std::make_unique<Runner>(cfg, e2eRegistry(), *loop_, *metrics_.back(), loop_.get()));
    runners_.back()->start();
    return runners_.size() - 1;
  }
  // A clean shutdown of one monitor (as SIGTERM would do); its metrics stay readable.
  void stopMonitor(std::size_t index) {
    runners_[index]->drain(std::chrono::seconds(15));
    runners_[index].reset();
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
  // Notifications the mock WordPress.com received, by (site id, status_id).
  std::map<std::pair<std::uint64_t, int>, int> notifications() {
    std::map<std::pair<std::uint64_t, int>, int> n;
    for (const auto& rec : fx_->wpcomNotifications()) {
      const json& p = rec["payload"];
      if (!p.is_object()) continue;
      n[{p.value("blog_id", std::uint64_t{0}) - 100000, p.value("status_id", 0)}]++;
    }
    return n;
  }

  std::unique_ptr<testing::FixtureProcess> fx_;
  std::unique_ptr<testing::PrivateMariaDb> db_;
  DatabaseConfig dbcfg_;
  std::string dir_;
  std::vector<std::unique_ptr<testing::VerifierProcess>> verifiers_;
  std::unique_ptr<io::AsioEventLoop> loop_;
  std::vector<std::unique_ptr<Metrics>> metrics_;
  std::vector<std::unique_ptr<Runner>> runners_;
};

}  // namespace tidewatch::e2e
