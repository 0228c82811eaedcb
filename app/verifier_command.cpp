#include "app/verifier_command.h"

#include <asio/signal_set.hpp>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <condition_variable>
#include <csignal>
#include <mutex>

#include "io/event_loop.h"
#include "io/verifier_server.h"
#include "pipeline/config.h"
#include "core/metrics.h"
#include "pipeline/registry.h"
#include "stages/classify/jetmon/jetmon_classifier.h"

#ifndef TIDEWATCH_VERSION
#define TIDEWATCH_VERSION "0.1.0"
#endif

namespace tidewatch::app {
namespace {

// Without an explicit max_concurrency the service runs this many probes at once: a verifier
// sees a few escalations per second at most, and each probe holds one socket.
constexpr int kDefaultConcurrency = 256;
constexpr int kQueuePerSlot = 4;

std::string hostName() {
  char buf[256] = {};
  if (gethostname(buf, sizeof buf - 1) != 0) return "localhost";
  return buf;
}

}  // namespace

int runVerifier(const std::string& file) {
  ConfigDiagnostics diag;
  Config cfg = parseConfigFile(file, builtinStages(), diag);
  bool ok = true;
  for (const auto& m : diag.messages()) {
    if (m.level != ConfigMessage::Level::kError) continue;
    // A verifier config needs no pipeline source, and its probe defaults to probe.http.
    if ((m.path == "pipeline.source" || m.path == "pipeline.probe") && m.text == "is required") continue;
    spdlog::error("config: {}: {}", m.path, m.text);
    ok = false;
  }
  if (!ok) return 2;
  const VerifierServiceConfig& vc = cfg.verifier_service;
  if (vc.auth_token.empty()) {
    spdlog::error("config: verifier.auth_token: is required (the verifier refuses to start without a token)");
    return 2;
  }
  spdlog::set_level(spdlog::level::from_str(cfg.runtime.log_level));
  if (cfg.runtime.host_id.empty()) cfg.runtime.host_id = hostName();

  StageSpec probe_spec = cfg.pipeline.probe;
  if (probe_spec.type.empty()) {
    const StageFactory* f = builtinStages().find("probe.http");
    ConfigDiagnostics d;
    ConfigMap empty(YAML::Node(YAML::NodeType::Map), "pipeline.probe", d);
    probe_spec.type = "probe.http";
    probe_spec.path = "pipeline.probe";
    probe_spec.options = f->parse(empty);
  }

  Metrics metrics;
  io::AsioEventLoop loop(static_cast<std::size_t>(cfg.runtime.io_threads));
  StageContext ctx{cfg, loop, metrics};
  std::unique_ptr<Probe> probe;
  std::unique_ptr<io::VerifierServer> server;
  io::VerifierServerOptions o;
  o.listen = vc.listen;
  o.auth_token = vc.auth_token;
  o.vantage_id = vc.vantage_id.empty() ? cfg.runtime.host_id : vc.vantage_id;
  o.region = vc.region;
  o.agent_id = cfg.runtime.host_id;
  o.host = cfg.runtime.host_id;
  o.version = TIDEWATCH_VERSION;
  o.max_concurrency = vc.max_concurrency > 0 ? vc.max_concurrency : kDefaultConcurrency;
  o.queue_capacity = vc.queue_capacity > 0 ? vc.queue_capacity : o.max_concurrency * kQueuePerSlot;
  o.max_body_bytes = static_cast<std::size_t>(vc.max_body_bytes > 0 ? vc.max_body_bytes : 10 * 1024 * 1024);
  o.request_deadline_s = vc.request_deadline_s;
  o.default_timeout_s = cfg.probe.default_timeout_s > 0 ? cfg.probe.default_timeout_s : 10;
  try {
    probe = builtinStages().create<Probe>(probe_spec, ctx);
    server = std::make_unique<io::VerifierServer>(loop.context(), o, *probe, stages::classifyJetmon, metrics);
  } catch (const std::exception& e) {
    spdlog::error("verifier startup failed: {}", e.what());
    return 2;
  }

  std::mutex mu;
  std::condition_variable cv;
  bool stop = false;
  asio::signal_set signals(loop.context(), SIGINT, SIGTERM);
  signals.async_wait([&](const std::error_code& ec, int sig) {
    if (ec) return;
    spdlog::info("signal {}: stopping the verifier", sig);
    std::lock_guard lock(mu);
    stop = true;
    cv.notify_all();
  });
  loop.start();
  spdlog::info("tidewatch verifier {} on {} (port {}), vantage '{}' region '{}', probe {}, max_concurrency {}, queue {}",
               TIDEWATCH_VERSION, vc.listen, server->port(), o.vantage_id, o.region, probe_spec.type,
               o.max_concurrency, o.queue_capacity);
  {
    std::unique_lock lock(mu);
    cv.wait(lock, [&] { return stop; });
  }
  server->stop();
  // Checks in flight end by their own deadlines; the longest is the probe timeout + 5 s.
  bool drained = server->waitIdle(std::chrono::seconds(o.default_timeout_s + 5));
  auto st = server->stats();
  spdlog::info("verifier stopped: received {} completed {} rejected {} auth_rejected {}", st.received, st.completed,
               st.rejected, st.auth_rejected);
  signals.cancel();
  loop.stop();
  server.reset();
  probe.reset();
  return drained ? 0 : 1;
}

}  // namespace tidewatch::app
