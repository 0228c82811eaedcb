// source.file: targets from a YAML or CSV file (id, blog_id, url, interval seconds, bucket,
// plus optional per-site rules), re-read on SIGHUP. source.generated: a synthetic fleet from
// a URL pattern (`%07d` style, one integer conversion), for demos and benchmarks.
#pragma once

#include <string>
#include <vector>

#include "pipeline/registry.h"
#include "core/target.h"

namespace tidewatch::stages {

// Reads a fleet file. Rows that cannot be used are reported in `errors` ("file:line: why")
// and skipped; the rest are returned.
std::vector<Target> readTargetFile(const std::string& path, std::vector<std::string>& errors);

// Expands a generated fleet: ids first_id .. first_id + count − 1.
std::vector<Target> generateTargets(const std::string& url_pattern, std::uint64_t first_id,
                                    std::uint64_t count, std::uint32_t interval_s,
                                    std::uint32_t buckets);

void registerFileSource(StageRegistry& registry);
void registerGeneratedSource(StageRegistry& registry);

}  // namespace tidewatch::stages
