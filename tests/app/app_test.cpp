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

}  // namespace
