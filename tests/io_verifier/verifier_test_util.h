// Shared helpers for the verifier tests: an event loop, probe.http built from YAML through
// the registry (as `tidewatch verifier` builds it), a scripted Probe for client tests, and
// verifier servers on 127.0.0.1 port 0.
#pragma once

#include <future>
#include <map>
#include <memory>
#include <mutex>
#include <string>

#include "io/event_loop.h"
#include "io/verifier_server.h"
#include "pipeline/config.h"
#include "core/metrics.h"
#include "pipeline/registry.h"
#include "stages/classify/jetmon/jetmon_classifier.h"

namespace tidewatch::testing {

inline Config parseOrDie(const std::string& yaml) {
  ConfigDiagnostics diag;
  Config cfg = parseConfigString(yaml, builtinStages(), diag);
  for (const auto& m : diag.messages())
    if (m.level == ConfigMessage::Level::kError && m.path != "pipeline.source")
      throw std::runtime_error(m.path + ": " + m.text);
  return cfg;
}

// The verifier's own probe: probe.http, private (loopback) targets allowed.
struct RealProbe {
  explicit RealProbe(io::AsioEventLoop& loop, int timeout_s = 2)
      : cfg(parseOrDie("verifier: {auth_token: t}\n"
                       "pipeline: {probe: {type: probe.http}}\n"
                       "resolver: {servers: ['127.0.0.1:9'], timeout_ms: 200, tries: 1}\n"
                       "probe: {allow_private_targets: true, default_timeout_s: " +
                       std::to_string(timeout_s) + "}\n")),
        ctx{cfg, loop, metrics},
        probe(builtinStages().create<Probe>(cfg.pipeline.probe, ctx)) {}
  Config cfg;
  Metrics metrics;
  StageContext ctx;
  std::unique_ptr<Probe> probe;
};

// A Probe of our own for the client tests: answers every check with the scripted result for
// its URL (default 200) after `delay`, on the loop.
class ScriptedProbe final : public Probe {
 public:
  explicit ScriptedProbe(EventLoop& loop) : loop_(loop) {}
  void set(const std::string& url, int http_code, ErrorCode error = ErrorCode::kNone) {
    std::lock_guard lock(mu_);
    script_[url] = {http_code, error};
  }
  void setDelay(std::chrono::milliseconds d) { delay_ = d; }
  void start(CheckPtr check, ProbeCallback& done) override {
    std::pair<int, ErrorCode> r{200, ErrorCode::kNone};
    {
      std::lock_guard lock(mu_);
      ++started_;
      auto it = script_.find(check->request.target->url);
      if (it != script_.end()) r = it->second;
    }
    check->result.http_code = r.first;
    check->result.error = r.second;
    check->result.timings.rtt_ms = 7;
    loop_.postAfter(delay_, [check, &done] { done.onProbeDone(check); });
  }
  int started() const {
    std::lock_guard lock(mu_);
    return started_;
  }

 private:
  EventLoop& loop_;
  mutable std::mutex mu_;
  std::map<std::string, std::pair<int, ErrorCode>> script_;
  std::chrono::milliseconds delay_{0};
  int started_ = 0;
};

inline io::VerifierServerOptions serverOptions(const std::string& token = "secret-token") {
  io::VerifierServerOptions o;
  o.listen = "127.0.0.1:0";
  o.auth_token = token;
  o.vantage_id = "vantage-a";
  o.region = "us-east";
  o.host = "verifier-a";
  o.agent_id = "agent-a";
  o.max_concurrency = 16;
  o.queue_capacity = 64;
  o.default_timeout_s = 2;
  return o;
}

inline std::unique_ptr<io::VerifierServer> makeServer(io::AsioEventLoop& loop, Probe& probe, Metrics& metrics,
                                                      io::VerifierServerOptions o = serverOptions()) {
  return std::make_unique<io::VerifierServer>(loop.context(), std::move(o), probe, stages::classifyJetmon, metrics);
}

}  // namespace tidewatch::testing
