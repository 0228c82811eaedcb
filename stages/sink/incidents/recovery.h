// Restart recovery: the engine's per-site state rebuilt from the events a previous process
// left open, so that an incident is finished exactly once across a restart (promoted or
// closed, never reopened) and a Seems Down's consecutive-failure count carries on.
//
// Threads: loadOpenEvents() blocks (it reads the store, retrying while the database is away)
// and runs on the sink's recovery thread before any shard worker starts; the rest is pure.
#pragma once

#include <atomic>
#include <cstdint>
#include <vector>

#include "core/incident_store.h"
#include "stages/sink/incidents/site_state.h"

namespace tidewatch::stages {

// Reads every open event, retrying every second until it succeeds; false if `stop` was set
// first.
bool loadOpenEvents(IncidentStore& store, const std::atomic<bool>& stop, std::vector<OpenEvent>& out);

// The state an open event of an endpoint stands for (http: Seems Down or Down; tls_expiry;
// tls_deprecated). False for check types the engine does not resume. (Pre-tidewatch events
// keyed by blog only have nothing to resume: the caller skips them.)
bool resumeOpenEvent(SiteState& st, const OpenEvent& e);

// The first result of a site resumed from the store: the consecutive-failure count continues,
// unless the last failure the previous process counted is older than one interval plus
// restart slack — then those failures are no longer "consecutive" with this result. True if
// it continued.
bool continueFailureCount(SiteState& st, const Target& t, std::int64_t now_ms);

}  // namespace tidewatch::stages
