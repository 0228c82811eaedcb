#include "stages/notify/wpcom/wpcom_payload.h"

#include <nlohmann/json.hpp>

#include "core/text.h"

namespace tidewatch::stages {

using json = nlohmann::json;

std::string rfc3339(std::int64_t unix_seconds) {
  return formatUtc(unix_seconds * 1000, UtcFormat::kIso8601);
}

std::string wpcomPayload(const StatusChange& c, WpcomMode mode, const std::string& token) {
  json checks = json::array();
  for (const auto& e : c.checks)
    checks.push_back({{"type", e.type},
                      {"host", e.host},
                      {"status", e.status},
                      {"rtt", e.rtt_ms},
                      {"code", e.code}});
  json j = {{"blog_id", c.blog_id},
            {"monitor_url", c.monitor_url},
            {"status_id", c.status_id},
            {"last_check", rfc3339(c.last_check)},
            {"last_status_change", rfc3339(c.last_status_change)},
            {"checks", std::move(checks)}};
  if (mode == WpcomMode::kModern)
    j["status_type"] = std::string(toString(c.status_type));
  else
    j["token"] = token;
  return j.dump(-1, ' ', false, json::error_handler_t::replace);
}

}  // namespace tidewatch::stages
