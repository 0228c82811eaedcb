#include "stages/probe/http/keyword_matcher.h"

#include <algorithm>

namespace tidewatch::stages {

KeywordMatcher::KeywordMatcher(std::string_view required, const std::vector<std::string>& forbidden)
    : required_(required) {
  for (const auto& f : forbidden) {
    if (!f.empty()) forbidden_.push_back(f);
  }
  std::size_t longest = required_.size();
  for (const auto& f : forbidden_) longest = std::max(longest, f.size());
  carry_ = longest > 0 ? longest - 1 : 0;
}

void KeywordMatcher::feed(std::string_view chunk) {
  if (chunk.empty() || decided()) return;
  // The window is the carried tail followed by this chunk: every match ending in this chunk
  // lies entirely inside it. Copying a chunk (≤ the read buffer) costs far less than the read.
  window_.append(chunk.data(), chunk.size());
  std::string_view w(window_);
  if (!required_found_ && !required_.empty() && w.find(required_) != std::string_view::npos) {
    required_found_ = true;
  }
  if (forbidden_hit_ == nullptr) {
    for (const auto& f : forbidden_) {
      if (w.find(f) != std::string_view::npos) {
        forbidden_hit_ = &f;
        break;
      }
    }
  }
  if (window_.size() > carry_) window_.erase(0, window_.size() - carry_);
}

}  // namespace tidewatch::stages
