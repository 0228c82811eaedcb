// The tidewatch binary as an operator runs it: exit codes, output, signals.
#include <gtest/gtest.h>
#include <sched.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <fstream>
#include <regex>
#include <sstream>
#include <string>
#include <thread>

namespace {

using namespace std::chrono_literals;

struct Outcome {
  int exit_code = -1;
  std::string output;
};

std::string tempFile(const std::string& name, const std::string& content) {
  std::string path = ::testing::TempDir() + "/" + name;
  std::ofstream(path) << content;
  return path;
}

// Runs tidewatch with `args`; `during(pid)` runs while it is alive (e.g. to send signals).
template <class During>
Outcome run(const std::vector<std::string>& args, During during, std::chrono::seconds limit = 60s,
            int pin_cpu = -1) {
  std::string log = ::testing::TempDir() + "/tidewatch-" + std::to_string(::getpid()) + ".log";
  pid_t pid = fork();
  if (pid == 0) {
    if (pin_cpu >= 0) {
      cpu_set_t set;
      CPU_ZERO(&set);
      CPU_SET(pin_cpu, &set);
      sched_setaffinity(0, sizeof set, &set);
    }
    FILE* f = std::freopen(log.c_str(), "w", stdout);
    (void)f;
    dup2(fileno(stdout), STDERR_FILENO);
    std::vector<char*> argv{const_cast<char*>(TIDEWATCH_BIN)};
    for (const auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
    argv.push_back(nullptr);
    execv(TIDEWATCH_BIN, argv.data());
    _exit(127);
  }
  during(pid);
  Outcome o;
  int status = 0;
  auto deadline = std::chrono::steady_clock::now() + limit;
  while (waitpid(pid, &status, WNOHANG) == 0) {
    if (std::chrono::steady_clock::now() > deadline) {
      kill(pid, SIGKILL);
      waitpid(pid, &status, 0);
      break;
    }
    std::this_thread::sleep_for(20ms);
  }
  if (WIFEXITED(status)) o.exit_code = WEXITSTATUS(status);
  std::ifstream in(log);
  std::stringstream ss;
  ss << in.rdbuf();
  o.output = ss.str();
  return o;
}

Outcome run(const std::vector<std::string>& args) {
  return run(args, [](pid_t) {});
}

const char* kSmallFleet = R"(
pipeline:
  source: {type: source.generated, count: 2000, interval_s: 1}
  probe: {type: probe.simulated, latency: {ms: 300}}
  sink: {type: sink.null}
scheduler: {summary_interval_s: 1}
admin: {listen: ""}
)";

TEST(App, VersionPrintsTheVersion) {
  Outcome o = run({"version"});
  EXPECT_EQ(o.exit_code, 0);
  EXPECT_NE(o.output.find("tidewatch "), std::string::npos);
}

TEST(App, ValidateConfigPassesAGoodConfig) {
  Outcome o = run({"validate-config", "--config", tempFile("good.yaml", kSmallFleet)});
  EXPECT_EQ(o.exit_code, 0) << o.output;
  EXPECT_NE(o.output.find("PASS config parse"), std::string::npos);
  EXPECT_NE(o.output.find("INFO source=source.generated probe=probe.simulated"), std::string::npos);
}

TEST(App, ValidateConfigFailsNamingEveryBadKey) {
  Outcome o = run({"validate-config", "--config", tempFile("bad.yaml", R"(
pipeline:
  source: {type: source.generated}
  probe: {type: probe.nonesuch}
probe: {default_timeout_s: -1, colour: red}
)")});
  EXPECT_EQ(o.exit_code, 1);
  EXPECT_NE(o.output.find("FAIL pipeline.probe.type: unknown probe stage 'probe.nonesuch' (valid: "), std::string::npos) << o.output;
  EXPECT_NE(o.output.find("FAIL probe.default_timeout_s"), std::string::npos) << o.output;
  EXPECT_NE(o.output.find("FAIL probe.colour: unknown key"), std::string::npos) << o.output;
}

TEST(App, DumpGraphPrintsDotWithTheTokenLimiter) {
  Outcome o = run({"dump-graph", "--config", tempFile("g.yaml", kSmallFleet)});
  EXPECT_EQ(o.exit_code, 0);
  EXPECT_EQ(o.output.rfind("digraph tidewatch {", 0), 0u) << o.output;
  EXPECT_NE(o.output.find("limiter_node"), std::string::npos);
  EXPECT_NE(o.output.find("probe: probe.simulated"), std::string::npos);
  EXPECT_NE(o.output.find("route -> sink0"), std::string::npos);
}

TEST(App, SigtermDrainsInFlightChecksAndExitsZero) {
  Outcome o = run({"run", "--config", tempFile("run.yaml", kSmallFleet)}, [](pid_t pid) {
    std::this_thread::sleep_for(2500ms);  // 2 000 checks/s at 300 ms: ~600 in flight
    kill(pid, SIGTERM);
  });
  EXPECT_EQ(o.exit_code, 0) << o.output;
  std::smatch m;
  std::regex drained(R"(drained: dispatched=(\d+) completed=(\d+) in_flight=(\d+) routed=(\d+))");
  ASSERT_TRUE(std::regex_search(o.output, m, drained)) << o.output;
  EXPECT_GT(std::stoll(m[1]), 2000);
  EXPECT_EQ(m[1], m[2]);
  EXPECT_EQ(m[3], "0");
  EXPECT_EQ(m[2], m[4]);
  EXPECT_NE(o.output.find("summary targets=2000"), std::string::npos);
}

// Capacity runs pin the daemon to one core (taskset); the graph must still have TBB workers.
TEST(App, RunsWhenPinnedToOneCore) {
  Outcome o = run({"run", "--config", tempFile("pinned.yaml", kSmallFleet), "--duration", "2.5"},
                  [](pid_t) {}, 60s, /*pin_cpu=*/0);
  EXPECT_EQ(o.exit_code, 0) << o.output;
  std::smatch m;
  ASSERT_TRUE(std::regex_search(o.output, m, std::regex(R"(drained: dispatched=(\d+) completed=(\d+))"))) << o.output;
  EXPECT_GT(std::stoll(m[1]), 2000);
  EXPECT_EQ(m[1], m[2]);
}

TEST(App, SighupReloadsTheConfig) {
  std::string path = tempFile("hup.yaml", kSmallFleet);
  Outcome o = run({"run", "--config", path}, [](pid_t pid) {
    std::this_thread::sleep_for(1500ms);
    kill(pid, SIGHUP);
    std::this_thread::sleep_for(700ms);
    kill(pid, SIGINT);
  });
  EXPECT_EQ(o.exit_code, 0) << o.output;
  EXPECT_NE(o.output.find("reload: scheduler and token settings applied"), std::string::npos) << o.output;
}

TEST(App, RunRefusesAnInvalidConfigWithExitTwo) {
  Outcome o = run({"run", "--config", tempFile("invalid.yaml", "pipeline: {source: {type: x}}\n")});
  EXPECT_EQ(o.exit_code, 2);
  EXPECT_NE(o.output.find("pipeline.source.type"), std::string::npos) << o.output;
}

std::string shell(const std::string& cmd, int* rc = nullptr) {
  std::string out;
  FILE* f = popen(cmd.c_str(), "r");
  if (f == nullptr) return out;
  char buf[4096];
  std::size_t n;
  while ((n = fread(buf, 1, sizeof buf, f)) > 0) out.append(buf, n);
  const int status = pclose(f);
  if (rc) *rc = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return out;
}

// /metrics of a running daemon is valid Prometheus text (promtool check metrics) with the
// families operators need, every one documented in the catalog; /api/state is JSON.
TEST(App, MetricsPassPromtoolAndCarryTheFreshnessAndControlFamilies) {
  const int port = 20000 + static_cast<int>(::getpid() % 20000);
  const std::string yaml = std::string(R"(
pipeline:
  source: {type: source.generated, count: 2000, interval_s: 2}
  probe: {type: probe.simulated, latency: {ms: 20}, failure_rate: 0.05, timeout_rate: 0.01, timeout_ms: 200}
  sink: {type: sink.null}
scheduler: {summary_interval_s: 1}
admin: {listen: "127.0.0.1:)") + std::to_string(port) + "\"}\n";
  std::string metrics, state, check;
  int promtool_rc = -1;
  Outcome o = run({"run", "--config", tempFile("metrics.yaml", yaml)}, [&](pid_t pid) {
    std::this_thread::sleep_for(4s);  // checks done and a freshness pass complete
    const std::string base = "http://127.0.0.1:" + std::to_string(port);
    metrics = shell("curl -sf " + base + "/metrics");
    state = shell("curl -sf " + base + "/api/state");
    std::ofstream(::testing::TempDir() + "/scrape.txt") << metrics;
    check = shell("promtool check metrics < " + ::testing::TempDir() + "/scrape.txt 2>&1", &promtool_rc);
    kill(pid, SIGTERM);
  });
  EXPECT_EQ(o.exit_code, 0) << o.output;
  ASSERT_FALSE(metrics.empty()) << o.output;
  EXPECT_EQ(promtool_rc, 0) << check;
  EXPECT_EQ(check, "") << check;
  for (const char* family :
       {"# TYPE tidewatch_checks_total counter", "tidewatch_checks_total{outcome=\"success\",error_code=\"0\"}",
        "# TYPE tidewatch_lateness_seconds histogram", "tidewatch_lateness_seconds_bucket{le=\"0.1\"}",
        "# TYPE tidewatch_check_phase_seconds histogram", "tidewatch_check_phase_seconds_bucket{phase=\"total\"",
        "# TYPE tidewatch_target_age_seconds summary", "tidewatch_target_age_seconds{quantile=\"0.99\"}",
        "tidewatch_stale_targets ", "tidewatch_tokens_target ", "tidewatch_in_flight_checks ",
        "tidewatch_pending_checks ", "tidewatch_result_backlog_checks ", "tidewatch_side_effect_backlog_rows ",
        "tidewatch_dispatch_pauses_total{cause=\"side_effect_backlog\"}", "tidewatch_control_mode{mode=\"steady\"}",
        "tidewatch_monitor_faults_total ", "process_cpu_seconds_total ", "process_resident_memory_bytes ",
        "process_open_fds "}) {
    EXPECT_NE(metrics.find(family), std::string::npos) << family;
  }
  EXPECT_EQ(metrics.find("Undocumented metric"), std::string::npos) << "a metric without a catalog entry";
  EXPECT_NE(state.find("\"age_p99_s\""), std::string::npos) << state;
  EXPECT_NE(state.find("\"control_mode\""), std::string::npos) << state;
}

TEST(App, MetricsDocPrintsTheCatalog) {
  Outcome o = run({"metrics-doc"});
  EXPECT_EQ(o.exit_code, 0);
  EXPECT_NE(o.output.find("| `tidewatch_lateness_seconds` | `scheduler.lateness` | histogram |"), std::string::npos)
      << o.output.substr(0, 2000);
}

}  // namespace
