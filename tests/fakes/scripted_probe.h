// ScriptedProbe: a Probe (pipeline/stage.h) of our own for tests that need answers without
// the network: every check gets the scripted result for its URL (default 200) after a delay,
// delivered on the given EventLoop. start() is thread-safe and never blocks; the callback
// runs once per check on a loop thread.
#pragma once

#include <chrono>
#include <map>
#include <mutex>
#include <string>
#include <utility>

#include "core/event_loop.h"
#include "pipeline/stage.h"

namespace tidewatch::testing {

class ScriptedProbe final : public Probe {
 public:
  explicit ScriptedProbe(EventLoop& loop) : loop_(loop) {}
  void set(const std::string& url, int http_code, ErrorCode error = ErrorCode::kNone) {
    std::lock_guard lock(mu_);
    script_[url] = {http_code, error};
  }
  void setDelay(std::chrono::milliseconds d) { delay_ = d; }
  void start(CheckPtr check, ProbeCallback& done) override {
    std::pair<int, ErrorCode> r{200, ErrorCode::kNone};
    {
      std::lock_guard lock(mu_);
      ++started_;
      auto it = script_.find(check->request.target->url);
      if (it != script_.end()) r = it->second;
    }
    check->result.http_code = r.first;
    check->result.error = r.second;
    check->result.timings.rtt_ms = 7;
    loop_.postAfter(delay_, [check, &done] { done.onProbeDone(check); });
  }
  int started() const {
    std::lock_guard lock(mu_);
    return started_;
  }

 private:
  EventLoop& loop_;
  mutable std::mutex mu_;
  std::map<std::string, std::pair<int, ErrorCode>> script_;
  std::chrono::milliseconds delay_{0};
  int started_ = 0;
};

}  // namespace tidewatch::testing
