// The request a Jetmon check sends (compat §2.3): GET or HEAD of the URL's target, Host and
// User-Agent unless the site overrides them, Accept and Connection: close, then the site's
// custom headers minus anything that would change the exchange's framing. Pure, any thread.
#pragma once

#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/target.h"
#include "io/net/url.h"

namespace tidewatch::stages {

// Appends the whole request head (through the blank line) to `out`.
void appendCheckRequest(std::string& out, HttpMethod method, const io::Url& url,
                        const std::vector<std::pair<std::string, std::string>>& custom_headers,
                        std::string_view user_agent);

}  // namespace tidewatch::stages
