#include "stages/sink/incidents/verifier_factory.h"

#include "io/verifier_client.h"

namespace tidewatch::stages {

std::shared_ptr<VerifierClient> makeIncidentVerifierClient(const Config& config, EventLoop& loop, Metrics& metrics) {
  return io::makeVerifierClient(config, loop, metrics);
}

}  // namespace tidewatch::stages
