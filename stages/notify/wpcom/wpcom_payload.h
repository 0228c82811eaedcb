// The JSON Jetmon sends to WordPress.com (compat §7.2): modern carries status_type; legacy
// drops it and adds "token". Times are RFC 3339 UTC with seconds. Pure, any thread.
#pragma once

#include <cstdint>
#include <string>

#include "pipeline/stage.h"

namespace tidewatch::stages {

enum class WpcomMode : std::uint8_t { kModern, kLegacy };

std::string wpcomPayload(const StatusChange& change, WpcomMode mode, const std::string& token);
std::string rfc3339(std::int64_t unix_seconds);

}  // namespace tidewatch::stages
