// Fakes of ProbeCallback (pipeline/stage.h) for tests and benchmarks that drive a Probe
// directly, and the Check such a test starts. Callbacks may run on any thread; both are
// thread-safe.
#pragma once

#include <atomic>
#include <future>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "pipeline/stage.h"

namespace tidewatch::testing {

// A check of `url` with the site's own rules, as the dispatcher would hand it to a probe.
inline CheckPtr checkOf(const std::string& url, SiteConfig site = {}) {
  auto target = std::make_shared<Target>();
  target->url = url;
  target->config = std::make_shared<const SiteConfig>(std::move(site));
  auto check = std::make_shared<Check>();
  check->request.target = std::move(target);
  return check;
}

// Waits for one check: the first completion fulfils the promise; `calls` counts every
// completion, so a test can pin "exactly once".
struct PromisedCheck final : ProbeCallback {
  std::promise<CheckPtr> promise;
  std::atomic<int> calls{0};
  void onProbeDone(CheckPtr check) override {
    if (++calls == 1) promise.set_value(std::move(check));
  }
};

// Collects every completed check.
struct CollectedChecks final : ProbeCallback {
  void onProbeDone(CheckPtr check) override {
    std::lock_guard lock(mu);
    done.push_back(std::move(check));
  }
  std::size_t size() {
    std::lock_guard lock(mu);
    return done.size();
  }
  std::mutex mu;
  std::vector<CheckPtr> done;
};

}  // namespace tidewatch::testing
