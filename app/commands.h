// The tidewatch subcommands. Each returns the process exit code.
#pragma once

#include <string>

namespace tidewatch::app {

struct RunOptions {
  std::string config;      // "" = the embedded demo config
  double duration_s = 0;   // 0 = until SIGTERM/SIGINT
};

int runDaemon(const RunOptions& options);
int validateConfig(const std::string& config);
int dumpGraph(const std::string& config);
int printVersion();
// The metric catalog as the markdown table in docs/operations.md.
int printMetricsDoc();

// The embedded default used by `tidewatch run` without --config (the simulated demo).
const char* embeddedDemoConfig();

}  // namespace tidewatch::app
