// `tidewatch verifier --config FILE`: runs the verifier service (docs/verifier.md).
#pragma once

#include <string>

namespace tidewatch::app {

// Serves until SIGINT/SIGTERM. Exit codes: 0 clean stop, 1 checks still running after the
// drain, 2 bad config or startup failure (e.g. empty verifier.auth_token).
int runVerifier(const std::string& config);

}  // namespace tidewatch::app
