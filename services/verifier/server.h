// services::VerifierServer: the stateless verifier service behind `tidewatch verifier` (compat
// §6.1, §6.3, docs/verifier.md). Runs the monitor's own probe for batches of check requests
// and answers with one result per item, on the one small HTTP server (io/http/server.h):
//
//   POST /v2/check, POST /check   the two request shapes (protocol.h)
//   GET  /status, /v2/status      version, vantage, agent, protocols, capacity (no auth)
//
// Bearer token compared in constant time; 401 / 405 / 413 / 400 (with a reason) / 404.
// Admission (admission.h): at most max_concurrency probes run, queue_capacity more wait;
// items beyond that are answered `agent_overloaded` at once (v2, HTTP 200) or the whole legacy
// request is answered 503 — never dropped silently. A request deadline bounds every answer.
//
// Threads: everything runs on the given io_context; probe completions may arrive on any
// thread. The Probe and the classify function must outlive the server's in-flight checks
// (stop(), then waitIdle()). Construction throws std::runtime_error for an empty token or a
// listen address that cannot be bound (startup only); nothing throws afterwards.
#pragma once

#include <asio/io_context.hpp>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include "core/metrics.h"
#include "pipeline/check.h"
#include "pipeline/stage.h"

namespace tidewatch::services {

struct VerifierServerOptions {
  std::string listen = "127.0.0.1:7803";  // host:port; port 0 = any free port
  std::string auth_token;                 // required
  std::string vantage_id;                 // reported as vantage.id and in every result
  std::string region;
  std::string agent_id;  // "" = host name
  std::string host;      // legacy `Host` field; "" = host name
  std::string version = "0.1.0";
  int max_concurrency = 256;  // probes in flight at once
  int queue_capacity = 1024;  // items waiting for a probe slot
  std::size_t max_body_bytes = 10 * 1024 * 1024;
  int request_deadline_s = 0;                      // 0 = longest item timeout + 5 s
  int default_timeout_s = 10;                      // items that carry no timeout
  std::chrono::milliseconds header_timeout{5000};  // read-header limit (compat §6.1)
  std::chrono::milliseconds body_timeout{30000};   // read limit
};

struct VerifierServerStats {
  std::uint64_t received = 0;   // check items received
  std::uint64_t completed = 0;  // probes finished
  std::uint64_t rejected = 0;   // items shed as agent_overloaded
  std::uint64_t auth_rejected = 0;
  std::int64_t active = 0;       // probes running
  std::int64_t queue_depth = 0;  // items waiting
  double avg_check_ms = 0;
};

class VerifierServer {
 public:
  using ClassifyFn = std::function<Verdict(const ProbeResult&)>;

  VerifierServer(asio::io_context& io, VerifierServerOptions options, Probe& probe,
                 ClassifyFn classify, Metrics& metrics);
  ~VerifierServer();
  VerifierServer(const VerifierServer&) = delete;
  VerifierServer& operator=(const VerifierServer&) = delete;

  std::uint16_t port() const;
  void stop();  // stops accepting; answers in progress still complete
  // Blocks the calling thread (not an io thread) until no probe is running or queued.
  bool waitIdle(std::chrono::milliseconds timeout) const;
  VerifierServerStats stats() const;
  std::string statusJson() const;

  struct Impl;

 private:
  std::shared_ptr<Impl> impl_;
};

// Constant-time equality of two secrets (hashes both, then CRYPTO_memcmp): the time taken
// does not depend on where they differ, nor on the expected token's length.
bool secretEquals(std::string_view given, std::string_view expected);

}  // namespace tidewatch::services
