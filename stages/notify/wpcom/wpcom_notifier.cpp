#include "stages/notify/wpcom/wpcom_notifier.h"

#include <spdlog/spdlog.h>

#include "io/event_loop.h"
#include "stages/asio_loop.h"
#include "stages/notify/wpcom/wpcom_client.h"

namespace tidewatch::stages {
namespace {

// compat §7.3: the production endpoints. Only used when `endpoint` is not configured.
constexpr const char* kModernEndpoint = "https://public-api.wordpress.com/wpcom/v2/jetpack-monitor/status-change";
constexpr const char* kLegacyEndpoint = "https://jetpack.wordpress.com/jetmon/";

struct WpcomNotifierOptions {
  WpcomOptions client;
  int flush_timeout_s = 0;
};

class WpcomNotifier final : public Notifier {
 public:
  WpcomNotifier(const WpcomNotifierOptions& o, StageContext& ctx)
      : client_(asioLoopOf(ctx, "notify.wpcom").context(), o.client, ctx.metrics),
        flush_bound_(std::chrono::seconds(o.flush_timeout_s > 0 ? o.flush_timeout_s : 2 * o.client.timeout_s + 5)) {}

  void notify(const StatusChange& change) override { client_.notify(change); }

  void flush() override {
    if (!client_.flush(flush_bound_))
      spdlog::warn("wpcom: flush gave up after {} s with {} notification(s) queued", flush_bound_.count(),
                   client_.queued());
  }

 private:
  WpcomClient client_;
  std::chrono::seconds flush_bound_;
};

std::any parseOptions(ConfigMap& m) {
  WpcomNotifierOptions o;
  WpcomOptions& c = o.client;
  std::string mode = m.getString("mode", "modern");
  if (mode == "legacy") c.mode = WpcomOptions::Mode::kLegacy;
  else if (mode != "modern") m.diagnostics().error(m.pathOf("mode"), "must be modern or legacy (got '" + mode + "')");
  const bool legacy = c.mode == WpcomOptions::Mode::kLegacy;
  c.endpoint = m.getString("endpoint", legacy ? kLegacyEndpoint : kModernEndpoint);
  if (c.endpoint.rfind("http://", 0) != 0 && c.endpoint.rfind("https://", 0) != 0)
    m.diagnostics().error(m.pathOf("endpoint"), "must be an http:// or https:// URL");
  c.auth_token = m.getString("auth_token", "");
  c.enable = m.getBool("enable", true);
  if (c.enable && c.auth_token.empty()) m.diagnostics().error(m.pathOf("auth_token"), "is required when enable is true");
  c.timeout_s = static_cast<int>(m.getSize("timeout_s", 15));
  c.tls_ca_file = m.getString("tls_ca_file", "");
  // Jetmon's legacy transport skips server-certificate verification by default
  // (WPCOM_NOTIFY_LEGACY_INSECURE_SKIP_VERIFY); the modern one verifies.
  c.tls_insecure_skip_verify = m.getBool("tls_insecure_skip_verify", legacy);
  c.tls_cert_file = m.getString("tls_cert_file", "");
  c.tls_key_file = m.getString("tls_key_file", "");
  c.breaker_failures = static_cast<int>(m.getSize("breaker_failures", 5));
  c.breaker_open_s = static_cast<int>(m.getSize("breaker_open_s", 60));
  c.queue_max = static_cast<std::size_t>(m.getSize("queue_max", 1000));
  o.flush_timeout_s = static_cast<int>(m.getSize("flush_timeout_s", 0));
  return o;
}

}  // namespace

void registerWpcomNotifier(StageRegistry& registry) {
  registry.add({StageKind::kNotify, "notify.wpcom",
                "WPCOM status-change notifications: modern POST or legacy GET, retry, circuit breaker",
                [](ConfigMap& options) { return parseOptions(options); },
                [](const std::any& options, StageContext& ctx) -> std::unique_ptr<Stage> {
                  return std::make_unique<WpcomNotifier>(std::any_cast<const WpcomNotifierOptions&>(options), ctx);
                }});
}

}  // namespace tidewatch::stages
