// stages::HttpCheckEngine: the Jetmon check behind probe.http (docs/probe.md). One HTTP(S)
// check per call, on the io_context, with a whole-check deadline and a deadline per phase
// inside it (resolve, connect, TLS, write, first byte, headers, body), redirects per policy
// (redirects.h), bounded body reads with integrity and keyword rules (keyword_matcher.h), TLS
// facts, probe safety, and Jetmon's error codes and timings. Transport comes from io/:
// io::Resolver, io::TlsContext, io::HttpResponseParser, io/net's URL and address rules.
//
// Threads: start() may be called from any thread and never blocks. Each check runs on its
// own strand (or the io_context itself when it has one thread); the callback is invoked
// exactly once, on an io_context thread, no later than the check's deadline plus scheduling
// delay. A fresh connection per check (Connection: close); nothing is pooled except DNS
// answers and TLS sessions. The engine owns its resolver and TLS context (shared with the
// checks in flight, which keep them alive).
#pragma once

#include <asio/io_context.hpp>
#include <asio/ip/address.hpp>
#include <chrono>
#include <cstdint>
#include <memory>
#include <string>

#include "io/net/resolver.h"
#include "io/net/tls_context.h"
#include "pipeline/check.h"
#include "pipeline/stage.h"

namespace tidewatch::stages {

struct HttpCheckOptions {
  std::string user_agent = "jetmon/2.0 (Jetpack Site Uptime Monitor by WordPress.com)";
  int default_timeout_s = 10;
  int max_redirects = 10;  // 0: no redirect is followed (probe.follow_redirects: false)
  std::size_t max_header_bytes = 64 * 1024;
  std::size_t body_limit_bytes = 1024 * 1024;  // bodies without content rules
  std::size_t keyword_limit_bytes = 1024 * 1024;
  bool allow_private_targets = false;
  // Bind every outgoing connection to this local address (port chosen at connect time), so a
  // host with several addresses probes from a chosen one: a vantage's egress IP, an address a
  // firewall allows. Unspecified = the kernel's choice. Destinations of the other family are
  // skipped as a connect error naming the source address.
  asio::ip::address source_address;
  // Phase budgets inside the whole-check deadline (each is also capped by what is left).
  std::chrono::milliseconds resolve_budget{8000};
  std::chrono::milliseconds connect_budget{8000};  // per attempt; split across addresses left
  std::chrono::milliseconds tls_budget{8000};
  std::chrono::milliseconds write_budget{8000};
  std::chrono::milliseconds headers_budget{8000};  // first byte → end of headers
  std::size_t read_buffer_bytes = 16 * 1024;
  // The io_context is run by exactly one thread: a check's handlers are already serialised,
  // so no per-check strand is made (saves an allocation and a dispatch hop per handler).
  bool one_io_thread = false;
};

class HttpCheckEngine {
 public:
  // `tls` may be null (https checks then fail with code 3).
  HttpCheckEngine(asio::io_context& io, std::shared_ptr<io::Resolver> resolver,
                  std::shared_ptr<io::TlsContext> tls, HttpCheckOptions options);
  ~HttpCheckEngine();

  // Checks check->request.target->url with its SiteConfig; fills check->result and calls
  // done.onProbeDone(check) exactly once. `done` must outlive the check.
  void start(CheckPtr check, ProbeCallback& done);

  struct Env;

 private:
  asio::io_context& io_;
  std::shared_ptr<Env> env_;
};

}  // namespace tidewatch::stages
