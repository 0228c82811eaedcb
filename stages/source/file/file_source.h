// source.file: targets from a YAML or CSV file (id, blog_id, url, interval seconds, bucket,
// plus optional per-site rules), re-read on SIGHUP. The source delivers its snapshot from
// start() and refresh() on the caller's thread (the runner's, or the SIGHUP handler's).
#pragma once

#include <string>
#include <vector>

#include "pipeline/registry.h"
#include "core/target.h"

namespace tidewatch::stages {

// Reads a fleet file. Rows that cannot be used are reported in `errors` ("file:line: why")
// and skipped; the rest are returned.
std::vector<Target> readTargetFile(const std::string& path, std::vector<std::string>& errors);

void registerFileSource(StageRegistry& registry);

}  // namespace tidewatch::stages
