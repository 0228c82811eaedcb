// Runs tidewatch-fixture as a child process for a test: every port is 0 (the kernel picks),
// the ready file tells us what was bound, and the process is killed when the object goes.
//
//   tidewatch::testing::FixtureProcess fx({.fleet_count = 100});
//   std::string id = fx.activate({{"type", "http_status"}, {"host", fx.hostName(7)}, {"status_code", 503}});
//   auto r = tidewatch::testing::httpRequest("127.0.0.1", fx.httpPort(), "GET", "/", "", {"Host: " + fx.hostName(7)});
//   EXPECT_EQ(r.status, 503);
//   fx.deactivateAll();
//
// All calls block and are meant for the test's own thread. Control-API errors throw
// std::runtime_error carrying the status and the fixture's reason.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace tidewatch::testing {

struct HttpResponse {
  int status = 0;
  std::string head;  // status line and headers
  std::string body;  // everything after the head, read until the server closed
  // Case-insensitive header value, "" when absent.
  std::string header(const std::string& name) const;
};

// A tiny blocking HTTP/1.1 client (Connection: close, read until EOF) over a loopback TCP
// socket. `headers` are full lines without CRLF, e.g. "Host: site-0000001.fleet.test"; a
// Host header is added when none is given. Throws std::runtime_error on socket errors or
// when nothing parseable came back within `timeout_s`.
HttpResponse httpRequest(const std::string& address, std::uint16_t port, const std::string& method,
                         const std::string& target, const std::string& body = "",
                         const std::vector<std::string>& headers = {}, double timeout_s = 10);

class FixtureProcess {
 public:
  struct Options {
    std::uint32_t fleet_count = 1000;
    std::vector<std::string> args;  // extra command-line flags, appended last (they win)
    double ready_timeout_s = 20;
  };

  FixtureProcess();
  explicit FixtureProcess(Options options);
  // SIGTERM, then SIGKILL after 3 s; removes the temporary directory, unless the fixture did
  // not exit cleanly: then its log is printed to stderr and the directory is kept.
  ~FixtureProcess();
  FixtureProcess(const FixtureProcess&) = delete;
  FixtureProcess& operator=(const FixtureProcess&) = delete;

  static std::string binaryPath();  // TIDEWATCH_BUILD_DIR "/fixture/tidewatch-fixture"

  pid_t pid() const { return pid_; }
  const nlohmann::json& ready() const { return ready_; }  // the ready file, parsed
  std::uint16_t httpPort() const;
  std::uint16_t httpsPort() const;    // 0 when started with --no-https
  std::uint16_t controlPort() const;
  std::uint16_t wpcomPort() const;
  std::uint16_t dnsPort(std::size_t instance = 0) const;  // 0 = ns1, 1 = ns2; 0 if absent
  std::string caFile() const;
  std::string hostName(std::uint32_t id) const;  // "site-0000042.fleet.test"
  std::string addressOf(std::uint32_t id) const; // the 127.x.y.z the host resolves to
  std::string logPath() const { return dir_ + "/fixture.log"; }
  std::string tempDir() const { return dir_; }

  // Control API helpers.
  HttpResponse control(const std::string& method, const std::string& path, const std::string& body = "") const;
  std::string activate(const nlohmann::json& failure) const;  // returns the failure id
  void deactivate(const std::string& id) const;
  void deactivateAll() const;
  nlohmann::json failures() const;
  void observerReset(const nlohmann::json& settings = nlohmann::json::object()) const;
  nlohmann::json observerSummary() const;
  // One generated site's counters: {"id", "requests", "methods": {GET, HEAD, POST, OTHER},
  // "last_seen_age_seconds"} — e.g. to check a probe used GET and not HEAD.
  nlohmann::json observerSite(std::uint32_t id) const;
  nlohmann::json wpcomNotifications() const;  // array of recorded notifications
  void wpcomReset() const;
  void wpcomConfigure(const nlohmann::json& config) const;

  // Sends SIGTERM and waits; returns the exit status (as from waitpid). Idempotent.
  int stop();

 private:
  void start(const Options& options);
  nlohmann::json controlJson(const std::string& method, const std::string& path, const std::string& body) const;

  pid_t pid_ = -1;
  int exit_status_ = 0;
  std::string dir_;
  nlohmann::json ready_;
};

}  // namespace tidewatch::testing
