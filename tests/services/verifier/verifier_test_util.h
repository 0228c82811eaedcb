// Shared helpers for the verifier tests: probe.http built from YAML through the registry (as
// `tidewatch verifier` builds it) and verifier servers on 127.0.0.1 port 0. The scripted probe
// of the client tests is tests/fakes/scripted_probe.h.
#pragma once

#include <future>
#include <map>
#include <memory>
#include <mutex>
#include <string>

#include "io/event_loop.h"
#include "pipeline/config.h"
#include "core/metrics.h"
#include "pipeline/registry.h"
#include "services/verifier/server.h"
#include "stages/classify/jetmon/jetmon_classifier.h"
#include "stages/register_all.h"

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
        ctx{cfg, loop, metrics, &loop},
        probe(builtinStages().create<Probe>(cfg.pipeline.probe, ctx)) {}
  Config cfg;
  Metrics metrics;
  StageContext ctx;
  std::unique_ptr<Probe> probe;
};

inline services::VerifierServerOptions serverOptions(const std::string& token = "secret-token") {
  services::VerifierServerOptions o;
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

inline std::unique_ptr<services::VerifierServer> makeServer(io::AsioEventLoop& loop, Probe& probe, Metrics& metrics,
                                                      services::VerifierServerOptions o = serverOptions()) {
  return std::make_unique<services::VerifierServer>(loop.context(), std::move(o), probe, stages::classifyJetmon, metrics);
}

}  // namespace tidewatch::testing
