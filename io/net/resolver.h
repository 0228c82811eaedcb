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
// Answers are cached in a DnsCache (dns_cache.h) that only the resolver's strand touches.
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

#include "io/net/dns_cache.h"

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
