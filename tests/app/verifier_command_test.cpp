// `tidewatch verifier --config FILE` as a process: refuses to start without a token, serves
// /status on the configured port, checks a loopback site, and exits 0 on SIGTERM.
#include <gtest/gtest.h>
#include <signal.h>
#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <fstream>
#include <regex>
#include <sstream>
#include <thread>

#include <nlohmann/json.hpp>

#include "tests/support/fake_http.h"
#include "tests/support/fixture_process.h"

namespace tidewatch {
namespace {

struct Child {
  pid_t pid = -1;
  std::string config;
  std::string log;
  ~Child() {
    if (pid > 0) {
      ::kill(pid, SIGKILL);
      ::waitpid(pid, nullptr, 0);
    }
    if (!config.empty()) ::unlink(config.c_str());
    if (!log.empty()) ::unlink(log.c_str());
  }
  int wait() {
    int status = 0;
    ::waitpid(pid, &status, 0);
    pid = -1;
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  }
  std::string output() const {
    std::ifstream in(log);
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
  }
};

std::string writeConfig(const std::string& name, const std::string& yaml) {
  std::string path = "/tmp/tw-verifier-cmd-" + std::to_string(::getpid()) + "-" + name + ".yaml";
  std::ofstream(path) << yaml;
  return path;
}

void start(Child& c, const std::string& config) {
  c.config = config;
  c.log = config + ".log";
  c.pid = ::fork();
  if (c.pid == 0) {
    int fd = ::open(c.log.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    ::dup2(fd, 1);
    ::dup2(fd, 2);
    std::string bin = std::string(TIDEWATCH_BUILD_DIR) + "/app/tidewatch";
    ::execl(bin.c_str(), bin.c_str(), "verifier", "--config", config.c_str(), nullptr);
    ::_exit(127);
  }
}

TEST(VerifierCommand, RefusesToStartWithoutAToken) {
  std::string cfg = writeConfig("notoken", "verifier: {listen: '127.0.0.1:0'}\n");
  Child c;
  start(c, cfg);
  EXPECT_EQ(c.wait(), 2);
  EXPECT_NE(c.output().find("verifier.auth_token"), std::string::npos) << c.output();
}

TEST(VerifierCommand, ServesAndStopsCleanlyOnSigterm) {
  testing::FakeServer site(testing::respondWith(testing::okResponse("fine")));
  std::string cfg = writeConfig("serve",
                                "verifier: {listen: '127.0.0.1:0', auth_token: tok, vantage_id: cmd, region: test}\n"
                                "pipeline: {probe: {type: probe.http}}\n"
                                "resolver: {servers: ['127.0.0.1:9']}\n"
                                "probe: {allow_private_targets: true, default_timeout_s: 2}\n");
  Child c;
  start(c, cfg);
  int port = 0;
  std::regex re("\\(port ([0-9]+)\\)");
  for (int i = 0; i < 200 && port == 0; ++i) {
    std::smatch m;
    std::string out = c.output();
    if (std::regex_search(out, m, re)) port = std::stoi(m[1]);
    else std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  ASSERT_GT(port, 0) << c.output();
  auto status = nlohmann::json::parse(testing::httpRequest("127.0.0.1", static_cast<std::uint16_t>(port), "GET", "/v2/status").body);
  EXPECT_EQ(status["vantage"]["id"], "cmd");
  std::string body = R"({"requests":[{"request_id":"r","url":"http://127.0.0.1:)" + std::to_string(site.port()) +
                     R"(/","timeout_ms":2000}]})";
  auto r = testing::httpRequest("127.0.0.1", static_cast<std::uint16_t>(port), "POST", "/v2/check", body,
                                {"Authorization: Bearer tok"});
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(nlohmann::json::parse(r.body)["results"][0]["outcome"], "up");
  ::kill(c.pid, SIGTERM);
  EXPECT_EQ(c.wait(), 0) << c.output();
}

}  // namespace
}  // namespace tidewatch
