// Streaming substring search for content rules (compat §2.4): a required keyword and a list of
// forbidden ones, matched case-sensitively over a body that arrives in arbitrary chunks. Keeps
// only (longest keyword − 1) bytes between chunks, so a match that straddles a chunk boundary
// is found without buffering the page. Not thread-safe; one per check.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

namespace tidewatch::stages {

class KeywordMatcher {
 public:
  KeywordMatcher() = default;
  // Empty strings are dropped (compat §2.4).
  KeywordMatcher(std::string_view required, const std::vector<std::string>& forbidden);

  bool empty() const { return required_.empty() && forbidden_.empty(); }
  void feed(std::string_view chunk);

  bool requiredFound() const { return required_.empty() || required_found_; }
  // The first forbidden keyword seen, or nullptr.
  const std::string* forbiddenFound() const { return forbidden_hit_; }
  // Nothing more can change the outcome (required found, or a forbidden one seen).
  bool decided() const {
    return forbidden_hit_ != nullptr || (requiredFound() && forbidden_.empty());
  }

 private:
  std::string required_;
  std::vector<std::string> forbidden_;
  bool required_found_ = false;
  const std::string* forbidden_hit_ = nullptr;
  std::size_t carry_ = 0;  // longest keyword − 1
  std::string window_;     // carried tail + the current chunk
};

}  // namespace tidewatch::stages
