#include "stages/probe/http/redirects.h"

#include <algorithm>

namespace tidewatch::stages {

std::optional<HopRefusal> refuseUrl(const io::UrlParse& parsed, bool allow_private_targets,
                                    bool redirect) {
  if (!parsed.url) {
    bool scheme = parsed.error == io::UrlError::kBadScheme;
    std::string detail(io::toString(parsed.error));
    if (redirect) detail = "redirect target: " + detail;
    return HopRefusal{
        scheme && !allow_private_targets ? ErrorCode::kProbeSafety : ErrorCode::kConnect,
        std::move(detail)};
  }
  if (parsed.url->has_userinfo && !allow_private_targets) {
    return HopRefusal{ErrorCode::kProbeSafety,
                      redirect ? "redirect target carries userinfo" : "URL carries userinfo"};
  }
  return std::nullopt;
}

RedirectStep nextRedirect(const io::Url& current, std::string_view location,
                          const RedirectRules& rules, int followed,
                          const std::vector<std::string>& visited) {
  RedirectStep step;
  if (rules.policy == RedirectPolicy::kFail) {
    step.refusal = HopRefusal{ErrorCode::kRedirect, "redirect not allowed by policy"};
    return step;
  }
  if (rules.max_redirects == 0) {  // like the site's `fail` policy, for every site
    step.refusal =
        HopRefusal{ErrorCode::kRedirect, "redirect not followed (probe.follow_redirects: false)"};
    return step;
  }
  io::UrlParse next = io::resolveReference(current, location);
  if ((step.refusal = refuseUrl(next, rules.allow_private_targets, true))) return step;
  step.key = next.url->str();
  if (std::find(visited.begin(), visited.end(), step.key) != visited.end()) {
    step.refusal = HopRefusal{ErrorCode::kRedirect, "redirect loop"};
    return step;
  }
  if (followed >= rules.max_redirects) {
    step.refusal =
        HopRefusal{ErrorCode::kRedirect, "stopped after " + std::to_string(rules.max_redirects) +
                                             " redirects (probe.max_redirects)"};
    return step;
  }
  step.next = std::move(*next.url);
  return step;
}

}  // namespace tidewatch::stages
