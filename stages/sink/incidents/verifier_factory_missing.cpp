#include <stdexcept>

#include "stages/sink/incidents/verifier_factory.h"

namespace tidewatch::stages {

std::shared_ptr<VerifierClient> makeIncidentVerifierClient(const Config&, EventLoop&, Metrics&) {
  throw std::invalid_argument("pipeline.sinks: sink.incidents: this build has no verifier client (io/verifier_client.cpp)");
}

}  // namespace tidewatch::stages
