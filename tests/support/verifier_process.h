// A `tidewatch verifier` child process for tests and benchmarks: the binary of this build,
// started with a config the caller writes, ready once its /v2/status answers 200.
//
//   testing::VerifierProcess v(dir, "127.0.0.2", port, 1, token,
//                              "probe: {allow_private_targets: true}\n");
//   monitor_yaml += "verifiers:\n" + v.yaml();
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <string>

namespace tidewatch::testing {

class VerifierProcess {
 public:
  // Writes DIR/verifierINDEX.yaml — a `verifier:` section listening on address:port with
  // `token` and vantage id "<vantage_prefix>INDEX", then `extra_yaml` (probe, resolver, …) —
  // starts the process with its output in DIR/verifierINDEX.log and waits up to 20 s for it.
  VerifierProcess(const std::string& dir, const std::string& address, std::uint16_t port, int index,
                  const std::string& token, const std::string& extra_yaml,
                  const std::string& vantage_prefix = "v", const std::string& region = "");
  ~VerifierProcess();  // SIGTERM, then SIGKILL after 5 s
  VerifierProcess(const VerifierProcess&) = delete;
  VerifierProcess& operator=(const VerifierProcess&) = delete;

  // This verifier as an entry of a monitor's `verifiers:` list.
  std::string yaml() const;
  const std::string& address() const { return address_; }

 private:
  std::string address_;
  std::uint16_t port_;
  int index_;
  std::string token_;
  pid_t pid_ = -1;
};

}  // namespace tidewatch::testing
