// Exporting Metrics: the Prometheus text exposition format (version 0.0.4) and StatsD lines.
//
// A MetricCatalog describes every metric the daemon registers: the dotted name (a pattern in
// which each `*` stands for one dot-free segment that becomes a label value), the Prometheus
// family it belongs to, its type, unit scale, help text, and for operators what healthy looks
// like and what to do when it is not (docs/operations.md is generated from the catalog). A
// metric the catalog does not know is still exported under a derived name, with help text
// saying so; the daemon's test suite checks that none is left undocumented.
//
// Pure formatting over a Metrics snapshot: any thread, no I/O (the StatsD socket is io/'s).
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/metrics.h"

namespace tidewatch {

enum class MetricType : std::uint8_t { kCounter, kGauge, kHistogram, kSummary };

struct MetricDoc {
  std::string pattern;      // dotted name; `*` = one segment captured as a label value
  std::string family;       // Prometheus family name ("" = StatsD only, not in /metrics)
  MetricType type = MetricType::kCounter;
  std::vector<std::string> labels;  // one per `*`, in order
  double scale = 1;         // raw value × scale = the family's base unit (ms → s: 0.001)
  std::string help;         // one line: what it counts
  std::string healthy;      // what healthy looks like
  std::string action;       // what to do when it is not
  bool statsd_timer = false;  // StatsD `|ms` instead of `|g` for a gauge
  // Labels with a fixed value, so that several dotted names share one family
  // (verifier.host.*.rpc.success.count and …rpc.error.count → result="success"/"error").
  std::vector<std::pair<std::string, std::string>> const_labels = {};
};

class MetricCatalog {
 public:
  explicit MetricCatalog(std::vector<MetricDoc> docs);
  // The entry whose pattern matches `name`, with the captured label values.
  struct Match {
    const MetricDoc* doc = nullptr;
    std::vector<std::string> label_values;
  };
  std::optional<Match> find(std::string_view name) const;
  const std::vector<MetricDoc>& docs() const { return docs_; }
  // Markdown tables for docs/operations.md, one per family prefix group.
  std::string markdown() const;

 private:
  std::vector<MetricDoc> docs_;
};

// Process figures read at scrape time (/proc/self): CPU seconds, RSS, open descriptors.
struct ProcessStats {
  double cpu_seconds = 0;
  std::int64_t resident_bytes = 0;
  std::int64_t virtual_bytes = 0;
  std::int64_t open_fds = 0;
  std::int64_t max_fds = 0;
  double start_time_seconds = 0;  // unix time the process started
  std::int64_t threads = 0;
};
// Reads /proc/self/{stat,statm,fd,limits}; fields it cannot read stay 0.
ProcessStats readProcessStats();

// The whole exposition: every family with # HELP and # TYPE, counters ending in _total,
// seconds and bytes as base units, histograms with _bucket{le}/_sum/_count, sampled
// distributions as summaries, then the process_* families.
std::string prometheusText(const Metrics& metrics, const MetricCatalog& catalog,
                           const ProcessStats* process = nullptr);

// StatsD lines (`prefix.name:value|c|g|ms`) for everything changed since `previous` (counters
// are sent as deltas; `previous` is updated). Histograms are sent as their mean over the
// interval as a timer, in milliseconds for second-based families.
std::vector<std::string> statsdLines(const Metrics& metrics, const MetricCatalog& catalog,
                                     const std::string& prefix,
                                     std::map<std::string, std::int64_t>& previous);

// "com.jetpack.jetmon.<host>" with the host's '.' and '-' made '_' (compat §10.1).
std::string statsdPrefix(std::string_view host);

}  // namespace tidewatch
