// io::DnsCache: the resolver's answer cache, alone (no locking: the Resolver touches it only
// on its strand). Time is passed in so tests can move it.
//
// Positive answers live for the answer's TTL clamped to [min_ttl, max_ttl] minus a per-name
// jitter of up to 20 % (a hash of the name), so entries loaded together do not expire
// together; NXDOMAIN/NODATA are cached for negative_ttl; SERVFAIL, timeouts and other errors
// are never cached. Bounded by max_entries (an expired or arbitrary entry makes room).
#pragma once

#include <asio/ip/address.hpp>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "core/probe_result.h"

namespace tidewatch::io {

struct ResolveResult {
  std::vector<asio::ip::address> addresses;  // IPv4 first, then IPv6
  DnsErrorKind error = DnsErrorKind::kNone;
  std::string detail;       // c-ares' message on error
  std::uint32_t ttl_s = 0;  // smallest TTL in the answer
};
using ResolveResultPtr = std::shared_ptr<const ResolveResult>;

// The cache alone (no locking; the Resolver serialises access). Time is passed in so tests
// can move it.
class DnsCache {
 public:
  using Clock = std::chrono::steady_clock;
  struct Options {
    std::chrono::seconds min_ttl{30};
    std::chrono::seconds max_ttl{900};
    std::chrono::seconds negative_ttl{5};
    std::size_t max_entries = 2'000'000;
  };
  explicit DnsCache(Options options) : options_(options) {}

  ResolveResultPtr lookup(std::string_view name, Clock::time_point now);
  // Stores `result` if it is cacheable (an answer, NXDOMAIN or NODATA); returns whether it did.
  bool insert(std::string_view name, ResolveResultPtr result, Clock::time_point now);
  // How long `name` stays cached for an answer with `answer_ttl`.
  std::chrono::milliseconds lifetime(std::string_view name, std::uint32_t answer_ttl_s,
                                     bool negative) const;
  std::size_t size() const { return entries_.size(); }
  void clear() { entries_.clear(); }

 private:
  struct Entry {
    ResolveResultPtr result;
    Clock::time_point expires;
  };
  struct Hash {
    using is_transparent = void;
    std::size_t operator()(std::string_view s) const noexcept {
      return std::hash<std::string_view>{}(s);
    }
  };
  Options options_;
  std::unordered_map<std::string, Entry, Hash, std::equal_to<>> entries_;
};

}  // namespace tidewatch::io
