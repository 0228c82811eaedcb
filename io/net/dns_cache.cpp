#include "io/net/dns_cache.h"

#include <algorithm>

namespace tidewatch::io {

std::chrono::milliseconds DnsCache::lifetime(std::string_view name, std::uint32_t answer_ttl_s,
                                             bool negative) const {
  using namespace std::chrono;
  if (negative) return duration_cast<milliseconds>(options_.negative_ttl);
  seconds ttl = std::clamp(seconds(answer_ttl_s), options_.min_ttl,
                           std::max(options_.min_ttl, options_.max_ttl));
  // Up to 20 % shorter, by a stable hash of the name: a fleet loaded in one burst spreads its
  // refreshes over a fifth of the TTL instead of re-resolving everything in the same second.
  auto span_ms = static_cast<std::uint64_t>(duration_cast<milliseconds>(ttl).count()) / 5;
  std::uint64_t h = std::hash<std::string_view>{}(name);
  h ^= h >> 33;
  h *= 0xff51afd7ed558ccdULL;
  h ^= h >> 33;
  auto jitter = span_ms ? static_cast<std::int64_t>(h % (span_ms + 1)) : 0;
  return duration_cast<milliseconds>(ttl) - milliseconds(jitter);
}

ResolveResultPtr DnsCache::lookup(std::string_view name, Clock::time_point now) {
  auto it = entries_.find(name);
  if (it == entries_.end()) return nullptr;
  if (it->second.expires <= now) {
    entries_.erase(it);
    return nullptr;
  }
  return it->second.result;
}

bool DnsCache::insert(std::string_view name, ResolveResultPtr result, Clock::time_point now) {
  bool negative = result->error == DnsErrorKind::kNxDomain;
  if (!negative && (result->error != DnsErrorKind::kNone || result->addresses.empty()))
    return false;
  if (options_.max_entries == 0) return false;
  if (entries_.size() >= options_.max_entries && entries_.find(name) == entries_.end()) {
    // Full: drop one expired entry if the first few buckets have one, else an arbitrary one.
    auto victim = entries_.begin();
    int scanned = 0;
    for (auto it = entries_.begin(); it != entries_.end() && scanned < 8; ++it, ++scanned) {
      if (it->second.expires <= now) {
        victim = it;
        break;
      }
    }
    entries_.erase(victim);
  }
  Entry entry{std::move(result), now + lifetime(name, 0, negative)};
  if (!negative) entry.expires = now + lifetime(name, entry.result->ttl_s, false);
  auto it = entries_.find(name);
  if (it != entries_.end()) {
    it->second = std::move(entry);
  } else {
    entries_.emplace(std::string(name), std::move(entry));
  }
  return true;
}

}  // namespace tidewatch::io
