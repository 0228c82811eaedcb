// A clock the test moves by hand (unix milliseconds), for code that takes a
// std::function<std::int64_t()> as its clock (the incident engine's now_ms). Reads and writes
// are atomic, so the code under test may read it from its own threads. Reads like a number:
// `clock + 10'000`, `clock = t0`, `clock.advance(60'000)`.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>

namespace tidewatch::fakes {

class FakeClock {
 public:
  explicit FakeClock(std::int64_t start_ms) : ms_(start_ms) {}
  FakeClock(const FakeClock&) = delete;
  FakeClock& operator=(const FakeClock&) = delete;

  operator std::int64_t() const { return ms_.load(); }
  FakeClock& operator=(std::int64_t ms) {
    ms_.store(ms);
    return *this;
  }
  void advance(std::int64_t ms) { ms_.fetch_add(ms); }
  // The clock as a function (valid while this object lives).
  std::function<std::int64_t()> source() const {
    return [this] { return ms_.load(); };
  }

 private:
  std::atomic<std::int64_t> ms_;
};

}  // namespace tidewatch::fakes
