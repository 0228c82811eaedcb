// io::Resolver: asynchronous DNS for probes — c-ares driven by the io_context, with an
// in-process cache and single-flight lookups.
//
// Threads: resolve() may be called from any thread. The callback runs on an io_context thread,
// or inline inside resolve() for cache hits and IP literals — callers must not hold locks the
// callback needs. Every call gets exactly one callback, including when the Resolver is
// destroyed with lookups pending (kResolverError).
//
// c-ares (1.18) is not thread-safe: the channel is only touched on the resolver's strand. Its
// sockets are registered with Asio through ARES_OPT_SOCK_STATE_CB (one stream_descriptor per
// fd, async_wait for readiness) and one steady_timer is re-armed from ares_timeout(). No
// exception unwinds through a c-ares callback.
//
// Cache (DnsCache below): positive answers live for the answer's TTL clamped to
// [min_ttl, max_ttl] minus a per-name jitter of up to 20 % (a hash of the name), so entries
// loaded together do not expire together; NXDOMAIN/NODATA are cached for negative_ttl;
// SERVFAIL, timeouts and other errors are never cached.
#pragma once

#include <asio/io_context.hpp>
#include <asio/ip/address.hpp>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "core/probe_result.h"

namespace tidewatch::io {

struct ResolverOptions {
  std::vector<std::string> servers;  // "ip[:port]" / "[v6]:port"; empty = system's
  int timeout_ms = 2000;             // per try and server (doubled each round by c-ares)
  int tries = 2;
  int min_ttl_s = 30;
  int max_ttl_s = 900;
  int negative_ttl_s = 5;
  std::size_t max_entries = 2'000'000;
  int socket_buffer_bytes = 4 << 20;  // SO_RCVBUF of c-ares' sockets; 0 = the kernel's default
};

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

class Resolver {
 public:
  using Callback = std::function<void(ResolveResultPtr)>;

  // Throws std::runtime_error (startup only) when c-ares cannot be initialised or the
  // server list is invalid.
  Resolver(asio::io_context& io, ResolverOptions options);
  ~Resolver();
  Resolver(const Resolver&) = delete;
  Resolver& operator=(const Resolver&) = delete;

  void resolve(std::string_view host, Callback callback);

  // The servers c-ares will ask, in order ("ip:port"), after the loopback-stub rule.
  std::vector<std::string> servers() const;

  struct Stats {
    std::uint64_t cache_hits = 0;
    std::uint64_t queries = 0;
    std::uint64_t joined = 0;  // single-flight: callers that waited on another's query
  };
  Stats stats() const;

 private:
  struct Impl;
  std::shared_ptr<Impl> impl_;
};

}  // namespace tidewatch::io
