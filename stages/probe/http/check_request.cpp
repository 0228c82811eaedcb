#include "stages/probe/http/check_request.h"

#include "core/text.h"

namespace tidewatch::stages {
namespace {

bool headerSafe(std::string_view s) {
  return s.find_first_of("\r\n") == std::string_view::npos && !s.empty();
}

}  // namespace

void appendCheckRequest(std::string& out, HttpMethod method, const io::Url& url,
                        const std::vector<std::pair<std::string, std::string>>& custom_headers,
                        std::string_view user_agent) {
  out.append(method == HttpMethod::kHead ? "HEAD " : "GET ");
  out.append(url.target);
  out.append(" HTTP/1.1\r\n");
  bool custom_host = false, custom_ua = false;
  for (const auto& [name, value] : custom_headers) {
    if (iequals(name, "host")) custom_host = true;
    if (iequals(name, "user-agent")) custom_ua = true;
  }
  if (!custom_host) out.append("Host: ").append(url.hostHeader()).append("\r\n");
  if (!custom_ua) out.append("User-Agent: ").append(user_agent).append("\r\n");
  out.append("Accept: */*\r\nConnection: close\r\n");
  for (const auto& [name, value] : custom_headers) {
    // Framing headers are ours: a site's config must not desynchronise the exchange.
    if (!headerSafe(name) || value.find_first_of("\r\n") != std::string::npos) continue;
    if (iequals(name, "connection") || iequals(name, "content-length") ||
        iequals(name, "transfer-encoding")) {
      continue;
    }
    out.append(name).append(": ").append(value).append("\r\n");
  }
  out.append("\r\n");
}

}  // namespace tidewatch::stages
