// services::VerifierService: `tidewatch verifier` assembled from one Config — the probe named
// by pipeline.probe (default probe.http, built through the registry exactly as the daemon
// builds it), the verdict rule the caller passes (classify.jetmon's), and the VerifierServer
// with its options from the `verifier:` section (docs/verifier.md).
//
// Threads: built and drained on the caller's thread (startup, shutdown); everything else runs
// on the loop. Construction throws std::exception (startup only) when the probe or the server
// cannot be built. drain() blocks its caller (never an I/O thread).
#pragma once

#include <chrono>
#include <memory>
#include <string>

#include "core/metrics.h"
#include "pipeline/config.h"
#include "pipeline/registry.h"
#include "services/verifier/server.h"

namespace tidewatch::services {

// The server's options from the config (automatic sizes filled in); `version` is reported in
// replies and /status.
VerifierServerOptions verifierServerOptions(const Config& config, const std::string& version);

class VerifierService {
 public:
  VerifierService(Config config, const StageRegistry& registry, VerifierServer::ClassifyFn classify,
                  io::AsioEventLoop& loop, Metrics& metrics, const std::string& version);
  ~VerifierService();  // the server goes before the probe it uses

  VerifierServer& server() { return *server_; }
  const VerifierServerOptions& options() const { return options_; }
  const std::string& probeType() const { return probe_type_; }

  // Stops accepting and waits for the checks in flight, at most the probe timeout + 5 s
  // (their own deadlines). Returns false if some were still running.
  bool drain();

 private:
  Config config_;
  StageContext ctx_;
  VerifierServerOptions options_;
  std::string probe_type_;
  std::unique_ptr<Probe> probe_;
  std::unique_ptr<VerifierServer> server_;
};

}  // namespace tidewatch::services
