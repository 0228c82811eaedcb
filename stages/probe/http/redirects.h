// Which URLs a Jetmon check may fetch and which redirects it follows (compat §2.5, §2.11):
// the site's redirect policy (follow, alert, fail), probe.max_redirects and
// probe.follow_redirects, loop detection, and probe safety for the first URL and every
// redirect target. Pure decisions, any thread; the check engine applies them.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/probe_result.h"
#include "core/target.h"
#include "io/net/url.h"

namespace tidewatch::stages {

// Why a check stops at this URL: the code it reports and the detail text.
struct HopRefusal {
  ErrorCode code = ErrorCode::kNone;
  std::string detail;
};

// A URL the check must not fetch: unparsable (code 2; code 9 for a scheme other than
// http/https) or carrying userinfo (code 9). With allow_private_targets both are plain
// connect errors or allowed. `redirect` words the detail for a Location target.
std::optional<HopRefusal> refuseUrl(const io::UrlParse& parsed, bool allow_private_targets,
                                    bool redirect);

struct RedirectRules {
  RedirectPolicy policy = RedirectPolicy::kFollow;  // the site's
  int max_redirects = 10;  // 0: none is followed (probe.follow_redirects: false)
  bool allow_private_targets = false;
};

struct RedirectStep {
  std::optional<HopRefusal> refusal;  // set: the check fails here
  io::Url next;                       // otherwise the next hop
  std::string key;                    // its canonical form (loop detection, final_url)
};

// The response to `current` redirected to `location`; `visited` holds the canonical forms
// of every URL fetched so far and `followed` how many redirects were followed.
RedirectStep nextRedirect(const io::Url& current, std::string_view location,
                          const RedirectRules& rules, int followed,
                          const std::vector<std::string>& visited);

}  // namespace tidewatch::stages
