#include "tests/support/verifier_process.h"

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <fstream>
#include <stdexcept>
#include <thread>

#include "tests/support/fixture_process.h"

namespace tidewatch::testing {

VerifierProcess::VerifierProcess(const std::string& dir, const std::string& address, std::uint16_t port,
                                 int index, const std::string& token, const std::string& extra_yaml,
                                 const std::string& vantage_prefix, const std::string& region)
    : address_(address), port_(port), index_(index), token_(token) {
  const std::string name = dir + "/verifier" + std::to_string(index);
  {
    std::ofstream cfg(name + ".yaml");
    cfg << "verifier:\n"
        << "  listen: \"" << address << ":" << port << "\"\n"
        << "  auth_token: \"" << token << "\"\n"
        << "  vantage_id: \"" << vantage_prefix << index << "\"\n";
    if (!region.empty()) cfg << "  region: \"" << region << "\"\n";
    cfg << extra_yaml;
  }
  const std::string bin = std::string(TIDEWATCH_BUILD_DIR) + "/app/tidewatch";
  const std::string config = name + ".yaml", log = name + ".log";
  pid_ = ::fork();
  if (pid_ == 0) {
    std::freopen(log.c_str(), "w", stdout);
    std::freopen(log.c_str(), "a", stderr);
    ::execl(bin.c_str(), bin.c_str(), "verifier", "--config", config.c_str(), static_cast<char*>(nullptr));
    std::_Exit(127);
  }
  for (int i = 0; i < 200; ++i) {
    try {
      if (httpRequest(address, port, "GET", "/v2/status", "", {}, 1).status == 200) return;
    } catch (const std::exception&) {
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  throw std::runtime_error("verifier on " + address + " did not come up; see " + log);
}

VerifierProcess::~VerifierProcess() {
  if (pid_ <= 0) return;
  ::kill(pid_, SIGTERM);
  int status = 0;
  for (int i = 0; i < 100 && ::waitpid(pid_, &status, WNOHANG) == 0; ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  ::kill(pid_, SIGKILL);
  ::waitpid(pid_, &status, 0);
}

std::string VerifierProcess::yaml() const {
  return "  - {name: v" + std::to_string(index_) + ", host: '" + address_ + "', port: " + std::to_string(port_) +
         ", auth_token: '" + token_ + "'}\n";
}

}  // namespace tidewatch::testing
