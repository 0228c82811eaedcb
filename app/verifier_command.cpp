#include "app/verifier_command.h"

#include <spdlog/spdlog.h>

#include "app/lifecycle.h"
#include "core/metrics.h"
#include "io/event_loop.h"
#include "io/net/host_name.h"
#include "pipeline/config.h"
#include "services/verifier/service.h"
#include "stages/classify/jetmon/jetmon_classifier.h"
#include "stages/register_all.h"

#ifndef TIDEWATCH_VERSION
#define TIDEWATCH_VERSION "0.1.0"
#endif

namespace tidewatch::app {
namespace {

// The verifier service as the lifecycle sees it.
class Verifier final : public Service {
 public:
  explicit Verifier(std::unique_ptr<services::VerifierService> service)
      : service_(std::move(service)) {}
  bool drain() override { return service_->drain(); }

 private:
  std::unique_ptr<services::VerifierService> service_;
};

}  // namespace

int runVerifier(const std::string& file) {
  ConfigDiagnostics diag;
  Config cfg = parseConfigFile(file, builtinStages(), diag);
  bool ok = true;
  for (const auto& m : diag.messages()) {
    if (m.level != ConfigMessage::Level::kError) continue;
    // A verifier config needs no pipeline source, and its probe defaults to probe.http.
    if ((m.path == "pipeline.source" || m.path == "pipeline.probe") && m.text == "is required")
      continue;
    spdlog::error("config: {}: {}", m.path, m.text);
    ok = false;
  }
  if (!ok) return 2;
  if (cfg.verifier_service.auth_token.empty()) {
    spdlog::error(
        "config: verifier.auth_token: is required (the verifier refuses to start without a token)");
    return 2;
  }
  spdlog::set_level(spdlog::level::from_str(cfg.runtime.log_level));
  if (cfg.runtime.host_id.empty()) cfg.runtime.host_id = io::localHostName();

  Metrics metrics;
  io::AsioEventLoop loop(static_cast<std::size_t>(cfg.runtime.io_threads));
  std::unique_ptr<services::VerifierService> service;
  try {
    service = std::make_unique<services::VerifierService>(
        cfg, builtinStages(), stages::classifyJetmon, loop, metrics, TIDEWATCH_VERSION);
  } catch (const std::exception& e) {
    spdlog::error("verifier startup failed: {}", e.what());
    return 2;
  }
  const services::VerifierServerOptions& o = service->options();
  spdlog::info(
      "tidewatch verifier {} on {} (port {}), vantage '{}' region '{}', probe {}, max_concurrency "
      "{}, queue {}",
      TIDEWATCH_VERSION, o.listen, service->server().port(), o.vantage_id, o.region,
      service->probeType(), o.max_concurrency, o.queue_capacity);
  LifecycleOptions lifecycle;
  lifecycle.name = "the verifier";
  return runUntilStopped(loop, std::make_unique<Verifier>(std::move(service)), lifecycle);
}

}  // namespace tidewatch::app
