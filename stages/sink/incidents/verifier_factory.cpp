#include "stages/sink/incidents/verifier_factory.h"

#include "io/event_loop.h"
#include "services/verifier/client.h"
#include "stages/asio_loop.h"

namespace tidewatch::stages {

std::shared_ptr<VerifierClient> makeIncidentVerifierClient(const StageContext& ctx) {
  return services::makeVerifierClient(services::verifierClientOptions(ctx.config),
                                      asioLoopOf(ctx, "sink.incidents (verifiers)").context(),
                                      ctx.metrics);
}

}  // namespace tidewatch::stages
