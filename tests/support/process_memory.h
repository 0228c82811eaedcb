// This test process's resident memory (VmRSS from /proc/self/status), for tests that pin
// "memory stays flat" (a 1 GB body, a 1 MB header line). Header-only, any thread.
#pragma once

#include <fstream>
#include <string>

namespace tidewatch::testing {

inline long rssKb() {
  std::ifstream in("/proc/self/status");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("VmRSS:", 0) == 0) return std::stol(line.substr(6));
  }
  return 0;
}

}  // namespace tidewatch::testing
