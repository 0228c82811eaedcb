// Named counters and gauges, exported by the summary log line, the admin server and
// (later) StatsD. Looking a metric up takes a lock; keep the returned reference and bump it
// with relaxed atomics on the hot path.
#pragma once

#include <atomic>
#include <cstdint>
#include <deque>
#include <map>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

namespace tidewatch {

class Metrics {
 public:
  std::atomic<std::uint64_t>& counter(const std::string& name);
  std::atomic<std::int64_t>& gauge(const std::string& name);

  // name -> value, sorted by name.
  std::vector<std::pair<std::string, std::int64_t>> snapshot() const;

 private:
  mutable std::mutex mu_;
  std::deque<std::atomic<std::uint64_t>> counter_store_;  // deque: stable addresses
  std::deque<std::atomic<std::int64_t>> gauge_store_;
  std::map<std::string, std::atomic<std::uint64_t>*> counters_;
  std::map<std::string, std::atomic<std::int64_t>*> gauges_;
};

}  // namespace tidewatch
