#include "stages/probe/http/http_probe.h"

#include <stdexcept>

#include "io/event_loop.h"
#include "io/net/resolver.h"
#include "io/net/source_address.h"
#include "io/net/tls_context.h"
#include "stages/asio_loop.h"
#include "stages/probe/http/check_engine.h"

namespace tidewatch::stages {
namespace {

template <class T>
T automatic(T value, T fallback) {
  return value > 0 ? value : fallback;
}

io::ResolverOptions resolverOptions(const ResolverConfig& c) {
  io::ResolverOptions o;
  o.servers = c.servers;
  o.timeout_ms = automatic(c.timeout_ms, 2000);
  o.tries = automatic(c.tries, 2);
  o.min_ttl_s = automatic(c.cache_min_ttl_s, 30);
  o.max_ttl_s = automatic(c.cache_max_ttl_s, 900);
  o.negative_ttl_s = automatic(c.negative_ttl_s, 5);
  o.max_entries = static_cast<std::size_t>(automatic(c.cache_max_entries, 2'000'000));
  o.socket_buffer_bytes = automatic(c.socket_buffer_bytes, 4 << 20);
  return o;
}

HttpCheckOptions clientOptions(const ProbeConfig& p) {
  HttpCheckOptions o;
  o.user_agent = p.user_agent;
  o.default_timeout_s = automatic(p.default_timeout_s, 10);
  o.max_redirects = !p.follow_redirects ? 0 : p.max_redirects > 0 ? p.max_redirects : 10;
  o.max_header_bytes =
      static_cast<std::size_t>(automatic<std::int64_t>(p.max_header_bytes, 64 * 1024));
  o.body_limit_bytes =
      static_cast<std::size_t>(automatic<std::int64_t>(p.body_limit_bytes, 1024 * 1024));
  o.allow_private_targets = p.allow_private_targets;
  if (!p.source_address.empty()) {
    // The parser checked the syntax; whether this host owns the address is only known here.
    // Fatal at startup rather than every check failing with "Cannot assign requested address".
    o.source_address = asio::ip::make_address(p.source_address);
    if (std::error_code ec = io::checkSourceAddress(o.source_address))
      throw std::invalid_argument("probe.source_address: cannot bind " + p.source_address + ": " +
                                  ec.message());
  }
  return o;
}

}  // namespace

HttpProbe::HttpProbe(StageContext& ctx) {
  const Config& config = ctx.config;
  asio::io_context* io = nullptr;
  std::size_t threads = 0;
  if (config.probe.io_threads > 0) {
    own_loop_ =
        std::make_unique<io::AsioEventLoop>(static_cast<std::size_t>(config.probe.io_threads));
    own_loop_->start();
    io = &own_loop_->context();
    threads = own_loop_->threadCount();
  } else {
    io::AsioEventLoop& loop = asioLoopOf(ctx, "probe.http");
    io = &loop.context();
    threads = loop.threadCount();
  }
  auto resolver = std::make_shared<io::Resolver>(*io, resolverOptions(config.resolver));
  io::TlsOptions tls;
  tls.ca_file = config.probe.ca_file;
  tls.full_handshake_interval =
      std::chrono::seconds(automatic(config.probe.full_handshake_interval_s, 86400));
  tls.tls12_resumption = config.probe.tls12_resumption;
  HttpCheckOptions options = clientOptions(config.probe);
  options.one_io_thread = threads == 1;
  client_ = std::make_unique<HttpCheckEngine>(*io, std::move(resolver),
                                              std::make_shared<io::TlsContext>(tls), options);
}

HttpProbe::~HttpProbe() {
  client_.reset();
  if (own_loop_) own_loop_->stop();
}

void HttpProbe::start(CheckPtr check, ProbeCallback& done) {
  client_->start(std::move(check), done);
}

void HttpProbe::stop() {}

void registerHttpProbe(StageRegistry& registry) {
  registry.add(StageFactory{
      StageKind::kProbe,
      "probe.http",
      "HTTP(S) checks with Jetmon semantics: c-ares DNS cache, OpenSSL, deadlines per phase",
      [](ConfigMap& options) -> std::any {
        // Everything is configured in the global `probe:` and `resolver:` sections.
        options.finish();
        return HttpProbeOptions{};
      },
      [](const std::any&, StageContext& ctx) -> std::unique_ptr<Stage> {
        return std::make_unique<HttpProbe>(ctx);
      },
  });
}

}  // namespace tidewatch::stages
