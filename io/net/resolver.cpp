#include "io/net/resolver.h"

#include <ares.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <algorithm>
#include <asio/bind_executor.hpp>
#include <asio/dispatch.hpp>
#include <asio/posix/stream_descriptor.hpp>
#include <asio/post.hpp>
#include <asio/steady_timer.hpp>
#include <asio/strand.hpp>
#include <cstring>
#include <fstream>
#include <mutex>
#include <sstream>
#include <stdexcept>

namespace tidewatch::io {

// ---- Resolver ----------------------------------------------------------------------------

namespace {

std::once_flag g_ares_init;

DnsErrorKind kindOf(int status) {
  switch (status) {
    case ARES_ENOTFOUND:
    case ARES_ENODATA:
      return DnsErrorKind::kNxDomain;
    case ARES_ESERVFAIL:
    case ARES_EREFUSED:
    // c-ares 1.18 ends a query whose every server answered SERVFAIL/REFUSED (or was
    // unreachable) with ECONNREFUSED, "Could not contact DNS servers".
    case ARES_ECONNREFUSED:
      return DnsErrorKind::kServFail;
    case ARES_ETIMEOUT:
      return DnsErrorKind::kTimeout;
    default:
      return DnsErrorKind::kResolverError;
  }
}

bool isLoopbackServer(const ares_addr_port_node* n) {
  if (n->family == AF_INET) return (ntohl(n->addr.addr4.s_addr) >> 24) == 127;
  if (n->family == AF_INET6) {
    static const unsigned char kLoop[16] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1};
    return std::memcmp(&n->addr.addr6, kLoop, 16) == 0;
  }
  return false;
}

std::string serverString(const ares_addr_port_node* n) {
  char buf[INET6_ADDRSTRLEN] = {0};
  int port = n->udp_port ? n->udp_port : 53;
  if (n->family == AF_INET) {
    inet_ntop(AF_INET, &n->addr.addr4, buf, sizeof buf);
    return std::string(buf) + ":" + std::to_string(port);
  }
  inet_ntop(AF_INET6, &n->addr.addr6, buf, sizeof buf);
  return "[" + std::string(buf) + "]:" + std::to_string(port);
}

// systemd-resolved's stub lists its real upstreams here.
std::vector<std::string> upstreamsBehindStub() {
  std::vector<std::string> out;
  std::ifstream in("/run/systemd/resolve/resolv.conf");
  std::string line;
  while (std::getline(in, line)) {
    std::istringstream ls(line);
    std::string key, value;
    ls >> key >> value;
    if (key != "nameserver" || value.empty()) continue;
    std::error_code ec;
    auto addr = asio::ip::make_address(value, ec);
    if (ec || addr.is_loopback()) continue;
    out.push_back(addr.is_v6() ? "[" + value + "]:53" : value + ":53");
  }
  return out;
}

}  // namespace

struct Resolver::Impl : std::enable_shared_from_this<Impl> {
  // One Asio watch per c-ares socket.
  struct Watch {
    explicit Watch(asio::io_context& io, int fd) : descriptor(io, fd) {}
    asio::posix::stream_descriptor descriptor;
    bool want_read = false;
    bool want_write = false;
    bool read_pending = false;
    bool write_pending = false;
    bool closed = false;
  };

  struct Query {
    std::shared_ptr<Impl> self;
    std::string name;
  };

  Impl(asio::io_context& io, ResolverOptions options)
      : io_(io),
        strand_(asio::make_strand(io)),
        timer_(strand_),
        options_(std::move(options)),
        cache_(DnsCache::Options{
            std::chrono::seconds(options_.min_ttl_s), std::chrono::seconds(options_.max_ttl_s),
            std::chrono::seconds(options_.negative_ttl_s), options_.max_entries}) {}

  void init() {
    std::call_once(g_ares_init, [] { ares_library_init(ARES_LIB_INIT_ALL); });
    ares_options opts{};
    int mask = 0;
    opts.sock_state_cb = &Impl::onSockState;
    opts.sock_state_cb_data = this;
    mask |= ARES_OPT_SOCK_STATE_CB;
    opts.timeout = options_.timeout_ms;
    mask |= ARES_OPT_TIMEOUTMS;
    opts.tries = options_.tries;
    mask |= ARES_OPT_TRIES;
    // Every answer arrives on one UDP socket per server; thousands of lookups in flight (a cold
    // start, a wave of cache expiries) overflow the kernel's default 208 KiB and the dropped
    // answers come back as timeouts. The kernel caps this at net.core.rmem_max.
    if (options_.socket_buffer_bytes > 0) {
      opts.socket_receive_buffer_size = options_.socket_buffer_bytes;
      mask |= ARES_OPT_SOCK_RCVBUF;
    }
    // Monitored URLs are fully qualified: search domains would only add queries on failure.
    opts.flags = ARES_FLAG_NOSEARCH | ARES_FLAG_NOALIASES;
    mask |= ARES_OPT_FLAGS;
    // DNS only: /etc/hosts is re-read per lookup by c-ares and has no business in a probe.
    static char kLookups[] = "b";
    opts.lookups = kLookups;
    mask |= ARES_OPT_LOOKUPS;
    // Always ask the first server first (no rotation): fail-over order stays predictable.
    mask |= ARES_OPT_NOROTATE;
    int rc = ares_init_options(&channel_, &opts, mask);
    if (rc != ARES_SUCCESS)
      throw std::runtime_error(std::string("c-ares init: ") + ares_strerror(rc));
    if (!options_.servers.empty()) {
      std::string csv;
      for (const auto& s : options_.servers) {
        if (!csv.empty()) csv.push_back(',');
        csv.append(s);
      }
      rc = ares_set_servers_ports_csv(channel_, csv.c_str());
      if (rc != ARES_SUCCESS) {
        throw std::runtime_error("resolver.servers: invalid server list '" + csv +
                                 "': " + ares_strerror(rc));
      }
    } else {
      applyStubRule();
    }
  }

  // A loopback stub (systemd-resolved, a local dnsmasq) in front of known real upstreams adds
  // a hop and a single point of failure: ask the upstreams directly.
  void applyStubRule() {
    ares_addr_port_node* list = nullptr;
    if (ares_get_servers_ports(channel_, &list) != ARES_SUCCESS) return;
    bool any_loop = false, any_real = false;
    for (auto* n = list; n; n = n->next) (isLoopbackServer(n) ? any_loop : any_real) = true;
    std::string csv;
    if (any_loop && any_real) {
      for (auto* n = list; n; n = n->next) {
        if (isLoopbackServer(n)) continue;
        if (!csv.empty()) csv.push_back(',');
        csv += serverString(n);
      }
    } else if (any_loop) {
      for (const auto& s : upstreamsBehindStub()) {
        if (!csv.empty()) csv.push_back(',');
        csv += s;
      }
    }
    ares_free_data(list);
    if (!csv.empty()) ares_set_servers_ports_csv(channel_, csv.c_str());
  }

  std::vector<std::string> servers() {
    std::vector<std::string> out;
    std::lock_guard lock(channel_mu_);
    ares_addr_port_node* list = nullptr;
    if (channel_ && ares_get_servers_ports(channel_, &list) == ARES_SUCCESS) {
      for (auto* n = list; n; n = n->next) out.push_back(serverString(n));
      ares_free_data(list);
    }
    return out;
  }

  void resolve(std::string_view host, Callback cb) {
    ResolveResultPtr hit;
    {
      std::lock_guard lock(mu_);
      if (shut_down_) {
        hit = failure(DnsErrorKind::kResolverError, "resolver stopped");
      } else if ((hit = cache_.lookup(host, DnsCache::Clock::now()))) {
        ++stats_.cache_hits;
      } else {
        auto [it, inserted] = pending_.try_emplace(std::string(host));
        it->second.push_back(std::move(cb));
        if (!inserted) {
          ++stats_.joined;
          return;
        }
        ++stats_.queries;
      }
    }
    if (hit) {
      cb(std::move(hit));
      return;
    }
    asio::post(strand_, [self = shared_from_this(), name = std::string(host)]() mutable {
      self->startQuery(std::move(name));
    });
  }

  static ResolveResultPtr failure(DnsErrorKind kind, std::string detail) {
    auto r = std::make_shared<ResolveResult>();
    r->error = kind;
    r->detail = std::move(detail);
    return r;
  }

  // ---- on the strand ----

  void startQuery(std::string name) {
    if (channel_ == nullptr) {
      complete(name, failure(DnsErrorKind::kResolverError, "resolver stopped"));
      return;
    }
    ares_addrinfo_hints hints{};
    hints.ai_family = AF_UNSPEC;
    hints.ai_flags =
        ARES_AI_NOSORT;  // sorting connect()s a UDP socket per address; we sort v4-first ourselves
    auto* q = new Query{shared_from_this(), name};
    ++outstanding_;
    {
      std::lock_guard lock(channel_mu_);
      ares_getaddrinfo(channel_, name.c_str(), nullptr, &hints, &Impl::onAddrInfo, q);
    }
    startTicker();
  }

  static void onAddrInfo(void* arg, int status, int /*timeouts*/, ares_addrinfo* res) noexcept {
    std::unique_ptr<Query> q(static_cast<Query*>(arg));
    --q->self->outstanding_;  // c-ares calls back on the strand (or inline from startQuery)
    try {
      auto r = std::make_shared<ResolveResult>();
      if (status == ARES_SUCCESS && res != nullptr) {
        std::uint32_t ttl = UINT32_MAX;
        std::vector<asio::ip::address> v6;
        for (auto* n = res->nodes; n; n = n->ai_next) {
          if (n->ai_ttl >= 0) ttl = std::min(ttl, static_cast<std::uint32_t>(n->ai_ttl));
          if (n->ai_family == AF_INET) {
            auto* sa = reinterpret_cast<const sockaddr_in*>(n->ai_addr);
            asio::ip::address_v4 a(ntohl(sa->sin_addr.s_addr));
            if (std::find(r->addresses.begin(), r->addresses.end(), asio::ip::address(a)) ==
                r->addresses.end()) {
              r->addresses.emplace_back(a);
            }
          } else if (n->ai_family == AF_INET6) {
            auto* sa = reinterpret_cast<const sockaddr_in6*>(n->ai_addr);
            asio::ip::address_v6::bytes_type b;
            std::memcpy(b.data(), &sa->sin6_addr, 16);
            asio::ip::address a{asio::ip::address_v6(b)};
            if (std::find(v6.begin(), v6.end(), a) == v6.end()) v6.push_back(a);
          }
        }
        for (auto* c = res->cnames; c; c = c->next) {
          if (c->ttl >= 0) ttl = std::min(ttl, static_cast<std::uint32_t>(c->ttl));
        }
        r->addresses.insert(r->addresses.end(), v6.begin(), v6.end());
        r->ttl_s = ttl == UINT32_MAX ? 0 : ttl;
        if (r->addresses.empty()) {
          r->error = DnsErrorKind::kNxDomain;
          r->detail = "no addresses";
        }
      } else {
        r->error = status == ARES_EDESTRUCTION ? DnsErrorKind::kResolverError : kindOf(status);
        r->detail = ares_strerror(status);
      }
      if (res) ares_freeaddrinfo(res);
      q->self->complete(q->name, std::move(r));
    } catch (...) {
      // Nothing may unwind into c-ares; the waiters are completed by shutdown at the latest.
    }
  }

  void complete(const std::string& name, ResolveResultPtr r) {
    std::vector<Callback> waiters;
    {
      std::lock_guard lock(mu_);
      cache_.insert(name, r, DnsCache::Clock::now());
      auto it = pending_.find(name);
      if (it != pending_.end()) {
        waiters = std::move(it->second);
        pending_.erase(it);
      }
    }
    for (auto& w : waiters) {
      try {
        w(r);
      } catch (...) {
      }
    }
  }

  static void onSockState(void* data, ares_socket_t fd, int readable, int writable) noexcept {
    try {
      static_cast<Impl*>(data)->sockState(fd, readable != 0, writable != 0);
    } catch (...) {
    }
  }

  void sockState(int fd, bool readable, bool writable) {
    auto it = watches_.find(fd);
    if (!readable && !writable) {
      if (it != watches_.end()) {
        auto w = it->second;
        w->closed = true;
        std::error_code ec;
        w->descriptor.cancel(ec);
        w->descriptor.release();  // c-ares owns and closes the fd
        watches_.erase(it);
      }
      return;
    }
    std::shared_ptr<Watch> w;
    if (it == watches_.end()) {
      w = std::make_shared<Watch>(io_, fd);
      watches_.emplace(fd, w);
    } else {
      w = it->second;
    }
    w->want_read = readable;
    w->want_write = writable;
    arm(w, fd);
  }

  void arm(const std::shared_ptr<Watch>& w, int fd) {
    if (w->closed) return;
    if (w->want_read && !w->read_pending) {
      w->read_pending = true;
      w->descriptor.async_wait(
          asio::posix::descriptor_base::wait_read,
          asio::bind_executor(strand_, [self = shared_from_this(), w, fd](std::error_code ec) {
            w->read_pending = false;
            if (ec || w->closed) return;
            self->process(fd, ARES_SOCKET_BAD);
            self->arm(w, fd);
          }));
    }
    if (w->want_write && !w->write_pending) {
      w->write_pending = true;
      w->descriptor.async_wait(
          asio::posix::descriptor_base::wait_write,
          asio::bind_executor(strand_, [self = shared_from_this(), w, fd](std::error_code ec) {
            w->write_pending = false;
            if (ec || w->closed) return;
            self->process(ARES_SOCKET_BAD, fd);
            self->arm(w, fd);
          }));
    }
  }

  void process(int read_fd, int write_fd) {
    if (channel_ == nullptr) return;
    std::lock_guard lock(channel_mu_);
    ares_process_fd(channel_, read_fd, write_fd);
  }

  // c-ares' own timeouts (retry on the next server, give up) need a clock. ares_timeout()
  // walks every outstanding query, so asking it after each packet costs O(in flight) per
  // answer — quadratic with thousands of lookups in flight. A fixed tick while anything is
  // outstanding costs O(1) per tick instead (c-ares files its timeouts by second) and is late
  // by at most one tick.
  std::chrono::milliseconds tickPeriod() const {
    return std::chrono::milliseconds(std::clamp(options_.timeout_ms / 10, 10, 100));
  }

  void startTicker() {
    if (timer_armed_ || outstanding_ == 0 || channel_ == nullptr) return;
    timer_armed_ = true;
    timer_.expires_after(tickPeriod());
    timer_.async_wait([self = shared_from_this()](std::error_code ec) {
      self->timer_armed_ = false;
      if (ec || self->channel_ == nullptr) return;
      self->process(ARES_SOCKET_BAD, ARES_SOCKET_BAD);
      self->startTicker();
    });
  }

  void shutdown() {
    {
      std::lock_guard lock(mu_);
      shut_down_ = true;
    }
    asio::post(strand_, [self = shared_from_this()] {
      if (self->channel_ != nullptr) {
        ares_channel ch;
        {
          std::lock_guard lock(self->channel_mu_);
          ch = self->channel_;
          self->channel_ = nullptr;
        }
        ares_destroy(ch);  // completes pending queries with ARES_EDESTRUCTION
      }
      self->timer_.cancel();
      for (auto& [fd, w] : self->watches_) {
        w->closed = true;
        std::error_code ec;
        w->descriptor.cancel(ec);
        w->descriptor.release();
      }
      self->watches_.clear();
      // Anyone still waiting (a query that never reached c-ares) gets an answer.
      std::unordered_map<std::string, std::vector<Callback>> left;
      {
        std::lock_guard lock(self->mu_);
        left.swap(self->pending_);
      }
      auto r = failure(DnsErrorKind::kResolverError, "resolver stopped");
      for (auto& [name, waiters] : left) {
        for (auto& w : waiters) {
          try {
            w(r);
          } catch (...) {
          }
        }
      }
    });
  }

  asio::io_context& io_;
  asio::strand<asio::io_context::executor_type> strand_;
  asio::steady_timer timer_;
  bool timer_armed_ = false;
  std::size_t outstanding_ = 0;  // lookups handed to c-ares and not yet called back
  ResolverOptions options_;
  ares_channel channel_ = nullptr;
  // Strand-only state, but servers() is called from other threads: a tiny lock for the channel.
  std::mutex channel_mu_;
  std::unordered_map<int, std::shared_ptr<Watch>> watches_;

  std::mutex mu_;  // cache_, pending_, stats_, shut_down_
  DnsCache cache_;
  std::unordered_map<std::string, std::vector<Callback>> pending_;
  Stats stats_;
  bool shut_down_ = false;
};

Resolver::Resolver(asio::io_context& io, ResolverOptions options)
    : impl_(std::make_shared<Impl>(io, std::move(options))) {
  impl_->init();
}

Resolver::~Resolver() {
  impl_->shutdown();
}

void Resolver::resolve(std::string_view host, Callback callback) {
  std::error_code ec;
  auto literal = asio::ip::make_address(host, ec);
  if (!ec) {
    auto r = std::make_shared<ResolveResult>();
    r->addresses.push_back(literal);
    callback(std::move(r));
    return;
  }
  impl_->resolve(host, std::move(callback));
}

std::vector<std::string> Resolver::servers() const {
  return impl_->servers();
}

Resolver::Stats Resolver::stats() const {
  std::lock_guard lock(impl_->mu_);
  return impl_->stats_;
}

}  // namespace tidewatch::io
