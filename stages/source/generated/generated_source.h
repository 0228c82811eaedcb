// source.generated: a synthetic fleet from a URL pattern (`%07d` style, one integer
// conversion), for demos and benchmarks. Delivers its one snapshot from start(), on the
// caller's thread.
//
// Options: url (http://site-%07d.fleet.test/), first_id (1), count (1000), interval_s (300),
// buckets (1000).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "core/target.h"
#include "pipeline/registry.h"

namespace tidewatch::stages {

// Expands a generated fleet: ids first_id .. first_id + count − 1.
std::vector<Target> generateTargets(const std::string& url_pattern, std::uint64_t first_id,
                                    std::uint64_t count, std::uint32_t interval_s,
                                    std::uint32_t buckets);

void registerGeneratedSource(StageRegistry& registry);

}  // namespace tidewatch::stages
