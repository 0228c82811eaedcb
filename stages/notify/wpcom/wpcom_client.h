// stages::WpcomClient: notify.wpcom's delivery policy (compat §7, docs/notifications.md):
// delivers WPCOM status-change notifications off the hot path, over io::httpCall. notify() only queues; one delivery at a time runs on the client's own
// strand of the io_context: modern POST with a Bearer token, or legacy GET ?data=<JSON>,
// one immediate retry, HTTP 404/410 permanent, and a circuit breaker (5 consecutive failures
// open it for 60 s; meanwhile notifications wait in a queue of at most 1 000, oldest dropped).
//
// Threads: notify() from any thread, never blocks. flush() blocks its caller (never an I/O
// thread) until the queue is delivered or its bound expires. Each StatusChange's
// on_delivered is called exactly once, on an I/O thread.
#pragma once

#include <asio/io_context.hpp>
#include <chrono>
#include <cstdint>
#include <memory>
#include <string>

#include "core/metrics.h"
#include "pipeline/stage.h"
#include "stages/notify/wpcom/wpcom_payload.h"

namespace tidewatch::stages {

struct WpcomOptions {
  using Mode = WpcomMode;
  Mode mode = Mode::kModern;
  std::string endpoint;              // full URL (http or https)
  std::string auth_token;
  bool enable = true;
  int timeout_s = 15;
  std::string tls_ca_file;           // extra trust anchors for the endpoint
  bool tls_insecure_skip_verify = false;
  std::string tls_cert_file;         // client certificate (legacy: certs/jetmon.crt)
  std::string tls_key_file;
  int breaker_failures = 5;          // consecutive failures that open the breaker
  int breaker_open_s = 60;
  std::size_t queue_max = 1000;
};

class WpcomClient {
 public:
  // Throws std::runtime_error for a bad endpoint or unreadable TLS files (startup only).
  WpcomClient(asio::io_context& io, WpcomOptions options, Metrics& metrics);
  ~WpcomClient();
  WpcomClient(const WpcomClient&) = delete;
  WpcomClient& operator=(const WpcomClient&) = delete;

  void notify(StatusChange change);
  // Delivers what is queued now (ignoring an open breaker), bounded by `bound`. Returns true
  // when nothing is left.
  bool flush(std::chrono::milliseconds bound);

  std::size_t queued() const;
  bool breakerOpen() const;

  struct Impl;

 private:
  std::shared_ptr<Impl> impl_;
};

}  // namespace tidewatch::stages
