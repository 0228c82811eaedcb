// probe.http: the real probe. One HTTP(S) request per check with Jetmon's semantics
// (reference/jetmon-compat.md §2): HttpCheckEngine (check_engine.h) on io::Resolver and
// io::TlsContext.
//
// Options: none of its own — it reads the global `probe:` and `resolver:` sections
// (pipeline/config.h). I/O threads: the daemon's Asio loop (StageContext::asio) unless
// `probe.io_threads` > 0, in which case the probe runs its own io_context with that many
// threads (so probe I/O can be sized apart from timers and the admin server). start() is the
// Probe contract (pipeline/stage.h): any thread, never blocks, one completion per check on an
// I/O thread.
#pragma once

#include <memory>

#include "pipeline/registry.h"
#include "pipeline/stage.h"

namespace tidewatch::io {
class AsioEventLoop;
}  // namespace tidewatch::io

namespace tidewatch::stages {

class HttpCheckEngine;

struct HttpProbeOptions {};

class HttpProbe final : public Probe {
 public:
  explicit HttpProbe(StageContext& ctx);
  ~HttpProbe() override;

  void start(CheckPtr check, ProbeCallback& done) override;
  void stop() override;

 private:
  std::unique_ptr<io::AsioEventLoop> own_loop_;
  std::unique_ptr<HttpCheckEngine> client_;
};

void registerHttpProbe(StageRegistry& registry);

}  // namespace tidewatch::stages
