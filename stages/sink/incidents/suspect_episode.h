// "Unknown, not Down" while the monitor is the suspect (docs/incidents.md): one suspect
// episode lasts from the correlation window's enter to its exit. While it lasts, failures that
// say nothing about their sites are suppressed; each suppressed site gets at most one audit
// row per episode, at most `suspect_site_audits` rows per episode, so a fleet-wide storm
// writes a sample of its sites and the totals on the leaving row instead of one row per
// failure. Entering and leaving each write one fleet-wide audit row (no blog, no event).
//
// Threads: suppressed() runs on the shard workers, changed() on the ticker; a short mutex
// guards the episode's tallies.
#pragma once

#include <cstdint>
#include <mutex>
#include <optional>
#include <unordered_set>

#include "stages/sink/incidents/correlation.h"
#include "stages/sink/incidents/effects.h"
#include "stages/sink/incidents/incident_options.h"

namespace tidewatch::stages {

class SuspectEpisode {
 public:
  SuspectEpisode(const IncidentOptions& options, Metrics& metrics);

  // A failure suppressed as Unknown: the audit row for its site, if it gets one.
  std::optional<EventMutation> suppressed(const UnknownFailure& u, std::int64_t now);
  // The monitor became (or stopped being) the suspect: the fleet-wide row (the leaving one
  // with the episode's totals), the log line and the gauge.
  EventMutation changed(bool entered, const CorrelationWindow::Totals& totals, std::int64_t now);

 private:
  const IncidentOptions& o_;
  EngineMetrics m_;
  std::atomic<std::int64_t>* gauge_;
  std::mutex mu_;
  std::unordered_set<std::uint64_t> audited_;
  std::int64_t suppressed_ = 0;
  std::int64_t skipped_ = 0;  // suppressed failures of sites past the per-episode row limit
};

}  // namespace tidewatch::stages
