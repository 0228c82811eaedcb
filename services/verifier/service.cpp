#include "services/verifier/service.h"

#include <spdlog/spdlog.h>

#include "io/event_loop.h"

namespace tidewatch::services {
namespace {

// Without an explicit max_concurrency the service runs this many probes at once: a verifier
// sees a few escalations per second at most, and each probe holds one socket.
constexpr int kDefaultConcurrency = 256;
constexpr int kQueuePerSlot = 4;

// A verifier config needs no pipeline; its probe defaults to probe.http with no options.
StageSpec probeSpec(const Config& cfg, const StageRegistry& registry) {
  StageSpec spec = cfg.pipeline.probe;
  if (!spec.type.empty()) return spec;
  const StageFactory* f = registry.find("probe.http");
  if (f == nullptr)
    throw std::invalid_argument("pipeline.probe: not set, and no probe.http to default to");
  ConfigDiagnostics d;
  ConfigMap empty(YAML::Node(YAML::NodeType::Map), "pipeline.probe", d);
  spec.type = "probe.http";
  spec.path = "pipeline.probe";
  spec.options = f->parse(empty);
  return spec;
}

}  // namespace

VerifierServerOptions verifierServerOptions(const Config& cfg, const std::string& version) {
  const VerifierServiceConfig& vc = cfg.verifier_service;
  VerifierServerOptions o;
  o.listen = vc.listen;
  o.auth_token = vc.auth_token;
  o.vantage_id = vc.vantage_id.empty() ? cfg.runtime.host_id : vc.vantage_id;
  o.region = vc.region;
  o.agent_id = cfg.runtime.host_id;
  o.host = cfg.runtime.host_id;
  o.version = version;
  o.max_concurrency = vc.max_concurrency > 0 ? vc.max_concurrency : kDefaultConcurrency;
  o.queue_capacity = vc.queue_capacity > 0 ? vc.queue_capacity : o.max_concurrency * kQueuePerSlot;
  o.max_body_bytes =
      static_cast<std::size_t>(vc.max_body_bytes > 0 ? vc.max_body_bytes : 10 * 1024 * 1024);
  o.request_deadline_s = vc.request_deadline_s;
  o.default_timeout_s = cfg.probe.default_timeout_s > 0 ? cfg.probe.default_timeout_s : 10;
  return o;
}

VerifierService::VerifierService(Config config, const StageRegistry& registry,
                                 VerifierServer::ClassifyFn classify, io::AsioEventLoop& loop,
                                 Metrics& metrics, const std::string& version)
    : config_(std::move(config)),
      ctx_{config_, loop, metrics, &loop},
      options_(verifierServerOptions(config_, version)) {
  StageSpec spec = probeSpec(config_, registry);
  probe_type_ = spec.type;
  probe_ = registry.create<Probe>(spec, ctx_);
  server_ = std::make_unique<VerifierServer>(loop.context(), options_, *probe_, std::move(classify),
                                             metrics);
}

VerifierService::~VerifierService() {
  server_.reset();
  probe_.reset();
}

bool VerifierService::drain() {
  server_->stop();
  // Checks in flight end by their own deadlines; the longest is the probe timeout + 5 s.
  bool drained = server_->waitIdle(std::chrono::seconds(options_.default_timeout_s + 5));
  VerifierServerStats st = server_->stats();
  spdlog::info("verifier stopped: received {} completed {} rejected {} auth_rejected {}",
               st.received, st.completed, st.rejected, st.auth_rejected);
  return drained;
}

}  // namespace tidewatch::services
