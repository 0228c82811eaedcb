#include "stages/notify/wpcom/wpcom_client.h"

#include <openssl/ssl.h>

#include <asio/post.hpp>
#include <asio/ssl/context.hpp>
#include <asio/steady_timer.hpp>
#include <asio/strand.hpp>
#include <condition_variable>
#include <deque>
#include <mutex>
#include <stdexcept>

#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>

#include "io/http/call.h"

namespace tidewatch::stages {

using json = nlohmann::json;
using Clock = std::chrono::steady_clock;
using io::HttpCall;
using io::HttpCallResult;

namespace {

const char* statusLabel(int status_id) {
  switch (status_id) {
    case 0: return "down";
    case 1: return "running";
    case 2: return "confirmed_down";
  }
  return "other";
}

std::atomic<bool> g_disabled_logged{false};

}  // namespace

struct WpcomClient::Impl : std::enable_shared_from_this<WpcomClient::Impl> {
  Impl(asio::io_context& io_, WpcomOptions o, Metrics& m)
      : io(io_),
        strand(asio::make_strand(io_)),
        breaker_timer(strand),
        options(std::move(o)),
        metrics(m),
        attempt(m.counter("wpcom.notification.attempt.count")),
        error(m.counter("wpcom.notification.error.count")),
        retry(m.counter("wpcom.notification.retry.count")),
        retry_delivered(m.counter("wpcom.notification.retry.delivered.count")),
        delivered(m.counter("wpcom.notification.delivered.count")),
        failed(m.counter("wpcom.notification.failed.count")),
        queued_count(m.counter("wpcom.notification.queued.count")),
        dropped(m.counter("wpcom.notification.dropped.count")),
        permanent(m.counter("wpcom.notification.permanent_failure.count")),
        disabled(m.counter("wpcom.notification.disabled.count")) {}

  void count(const StatusChange& c, const char* what) {
    metrics.counter(std::string("wpcom.notification.status.") + statusLabel(c.status_id) + "." + what + ".count")
        .fetch_add(1, std::memory_order_relaxed);
  }

  void kick() {
    auto self = shared_from_this();
    asio::post(strand, [self] { self->pump(); });
  }

  bool isOpen(Clock::time_point now) const { return open_until != Clock::time_point{} && now < open_until; }

  // On the strand: start the next delivery unless one runs or the breaker holds the queue.
  void pump() {
    std::unique_lock lock(mu);
    if (busy) return;
    if (queue.empty()) {
      idle_cv.notify_all();
      return;
    }
    auto now = Clock::now();
    if (isOpen(now) && !flushing) {
      if (!timer_armed) {
        timer_armed = true;
        breaker_timer.expires_at(open_until);
        auto self = shared_from_this();
        breaker_timer.async_wait([self](std::error_code) {
          self->timer_armed = false;
          self->pump();
        });
      }
      return;
    }
    if (open_until != Clock::time_point{}) {
      // The first delivery after the open period resets the breaker and drains the queue.
      spdlog::info("wpcom: circuit breaker closed after {} s; delivering {} queued notification(s)",
                   options.breaker_open_s, queue.size());
      open_until = {};
      consecutive_failures = 0;
    }
    StatusChange change = std::move(queue.front());
    queue.pop_front();
    busy = true;
    lock.unlock();
    send(std::make_shared<StatusChange>(std::move(change)), 1);
  }

  void send(std::shared_ptr<StatusChange> change, int attempt_no) {
    HttpCall call = base;
    if (options.mode == WpcomOptions::Mode::kModern) {
      call.method = "POST";
      call.body = wpcomPayload(*change, options.mode, "");
    } else {
      call.method = "GET";
      call.target += (call.target.find('?') == std::string::npos ? "?" : "&");
      call.target += "data=" + io::urlEncode(wpcomPayload(*change, options.mode, options.auth_token));
    }
    attempt.fetch_add(1, std::memory_order_relaxed);
    count(*change, "attempt");
    auto self = shared_from_this();
    io::httpCall(io, std::move(call), [self, change, attempt_no](HttpCallResult r) {
      asio::post(self->strand, [self, change, attempt_no, r = std::move(r)] { self->onResult(change, attempt_no, r); });
    });
  }

  void onResult(const std::shared_ptr<StatusChange>& change, int attempt_no, const HttpCallResult& r) {
    bool ok = r.completed && r.status > 0 && r.status < 400;
    if (ok && options.mode == WpcomOptions::Mode::kLegacy) {
      // Legacy counts as delivered only with a JSON body saying {"success": true}.
      try {
        json body = json::parse(r.body);
        ok = body.is_object() && body.value("success", false) == true;
      } catch (const json::exception&) {
        ok = false;
      }
    }
    if (ok) {
      delivered.fetch_add(1, std::memory_order_relaxed);
      if (attempt_no > 1) retry_delivered.fetch_add(1, std::memory_order_relaxed);
      count(*change, "delivered");
      {
        std::lock_guard lock(mu);
        consecutive_failures = 0;
      }
      return finish(change, true);
    }
    error.fetch_add(1, std::memory_order_relaxed);
    count(*change, "error");
    std::string why = r.completed ? "HTTP " + std::to_string(r.status) + (r.status < 400 ? " without success: true" : "")
                                  : r.error;
    if (r.completed && (r.status == 404 || r.status == 410)) {
      // Permanent: the blog or endpoint is gone. No retry, and not a sign that WPCOM is down,
      // so it does not count toward the breaker.
      permanent.fetch_add(1, std::memory_order_relaxed);
      metrics.counter("wpcom.notification.http." + std::to_string(r.status) + ".permanent_failure.count")
          .fetch_add(1, std::memory_order_relaxed);
      failed.fetch_add(1, std::memory_order_relaxed);
      count(*change, "failed");
      auto now = Clock::now();
      if (now - last_permanent_log > std::chrono::seconds(60)) {
        last_permanent_log = now;
        spdlog::warn("wpcom: permanent failure for blog {} ({}); not retried", change->blog_id, why);
      }
      return finish(change, false);
    }
    if (attempt_no == 1) {
      retry.fetch_add(1, std::memory_order_relaxed);
      spdlog::info("wpcom: notification for blog {} failed ({}); retrying once", change->blog_id, why);
      return send(change, 2);
    }
    failed.fetch_add(1, std::memory_order_relaxed);
    count(*change, "failed");
    {
      std::lock_guard lock(mu);
      ++consecutive_failures;
      if (consecutive_failures >= options.breaker_failures && !isOpen(Clock::now())) {
        open_until = Clock::now() + std::chrono::seconds(options.breaker_open_s);
        spdlog::warn("wpcom: {} consecutive failures (last: {}); circuit breaker open for {} s, queueing",
                     consecutive_failures, why, options.breaker_open_s);
      }
    }
    spdlog::warn("wpcom: notification for blog {} status_id {} not delivered: {}", change->blog_id, change->status_id, why);
    finish(change, false);
  }

  void finish(const std::shared_ptr<StatusChange>& change, bool ok) {
    {
      std::lock_guard lock(mu);
      busy = false;
    }
    tell(*change, ok);
    pump();
  }

  static void tell(StatusChange& change, bool ok) {
    if (!change.on_delivered) return;
    auto cb = std::move(change.on_delivered);
    change.on_delivered = nullptr;
    try {
      cb(ok);
    } catch (...) {
      spdlog::error("wpcom: on_delivered callback threw");
    }
  }

  asio::io_context& io;
  asio::strand<asio::io_context::executor_type> strand;
  asio::steady_timer breaker_timer;
  bool timer_armed = false;  // strand only
  WpcomOptions options;
  Metrics& metrics;
  HttpCall base;
  std::atomic<std::uint64_t>& attempt;
  std::atomic<std::uint64_t>& error;
  std::atomic<std::uint64_t>& retry;
  std::atomic<std::uint64_t>& retry_delivered;
  std::atomic<std::uint64_t>& delivered;
  std::atomic<std::uint64_t>& failed;
  std::atomic<std::uint64_t>& queued_count;
  std::atomic<std::uint64_t>& dropped;
  std::atomic<std::uint64_t>& permanent;
  std::atomic<std::uint64_t>& disabled;
  Clock::time_point last_permanent_log{};

  mutable std::mutex mu;
  std::condition_variable idle_cv;
  std::deque<StatusChange> queue;
  bool busy = false;
  bool flushing = false;
  int consecutive_failures = 0;
  Clock::time_point open_until{};
};

WpcomClient::WpcomClient(asio::io_context& io, WpcomOptions options, Metrics& metrics) {
  impl_ = std::make_shared<Impl>(io, std::move(options), metrics);
  const WpcomOptions& o = impl_->options;
  HttpCall& base = impl_->base;
  if (!io::setUrl(base, o.endpoint)) throw std::runtime_error("endpoint: not an http(s) URL: '" + o.endpoint + "'");
  base.timeout = std::chrono::seconds(o.timeout_s > 0 ? o.timeout_s : 15);
  base.max_response_bytes = 64 * 1024;
  base.headers = {{"Accept", "application/json"}};
  if (o.mode == WpcomOptions::Mode::kModern) {
    base.headers.emplace_back("Content-Type", "application/json");
    base.headers.emplace_back("Authorization", "Bearer " + o.auth_token);
  }
  if (base.tls) {
    auto ctx = std::make_shared<asio::ssl::context>(asio::ssl::context::tls_client);
    SSL_CTX_set_min_proto_version(ctx->native_handle(), TLS1_2_VERSION);
    std::error_code ec;
    ctx->set_default_verify_paths(ec);
    if (!o.tls_ca_file.empty()) {
      ctx->load_verify_file(o.tls_ca_file, ec);
      if (ec) throw std::runtime_error("tls_ca_file '" + o.tls_ca_file + "': " + ec.message());
    }
    if (!o.tls_cert_file.empty()) {
      ctx->use_certificate_chain_file(o.tls_cert_file, ec);
      if (ec) throw std::runtime_error("tls_cert_file '" + o.tls_cert_file + "': " + ec.message());
      ctx->use_private_key_file(o.tls_key_file.empty() ? o.tls_cert_file : o.tls_key_file, asio::ssl::context::pem, ec);
      if (ec) throw std::runtime_error("tls_key_file '" + o.tls_key_file + "': " + ec.message());
    }
    ctx->set_verify_mode(o.tls_insecure_skip_verify ? asio::ssl::verify_none : asio::ssl::verify_peer);
    base.tls_context = std::move(ctx);
    base.verify_host = !o.tls_insecure_skip_verify;
  }
}

WpcomClient::~WpcomClient() {
  // Whatever is still queued will never be sent: say so, so no caller waits forever.
  std::deque<StatusChange> left;
  {
    std::lock_guard lock(impl_->mu);
    left.swap(impl_->queue);
  }
  if (!left.empty()) spdlog::warn("wpcom: {} notification(s) not delivered at shutdown", left.size());
  for (auto& c : left) Impl::tell(c, false);
  auto impl = impl_;
  asio::post(impl->strand, [impl] { impl->breaker_timer.cancel(); });
}

void WpcomClient::notify(StatusChange change) {
  Impl& im = *impl_;
  if (!im.options.enable) {
    im.disabled.fetch_add(1, std::memory_order_relaxed);
    if (!g_disabled_logged.exchange(true))
      spdlog::info("wpcom: notifications disabled (notify.wpcom enable: false); counting wpcom.notification.disabled.count");
    auto c = std::make_shared<StatusChange>(std::move(change));
    asio::post(im.strand, [c] { Impl::tell(*c, false); });
    return;
  }
  std::shared_ptr<StatusChange> dropped_change;
  {
    std::lock_guard lock(im.mu);
    if (im.queue.size() >= im.options.queue_max) {
      dropped_change = std::make_shared<StatusChange>(std::move(im.queue.front()));
      im.queue.pop_front();
    }
    if (im.isOpen(Clock::now())) im.queued_count.fetch_add(1, std::memory_order_relaxed);
    im.queue.push_back(std::move(change));
  }
  if (dropped_change) {
    im.dropped.fetch_add(1, std::memory_order_relaxed);
    spdlog::warn("wpcom: queue full ({}): dropped the oldest notification (blog {})", im.options.queue_max,
                 dropped_change->blog_id);
    asio::post(im.strand, [dropped_change] { Impl::tell(*dropped_change, false); });
  }
  im.kick();
}

bool WpcomClient::flush(std::chrono::milliseconds bound) {
  Impl& im = *impl_;
  {
    std::lock_guard lock(im.mu);
    im.flushing = true;
  }
  im.kick();
  std::unique_lock lock(im.mu);
  bool done = im.idle_cv.wait_for(lock, bound, [&] { return im.queue.empty() && !im.busy; });
  im.flushing = false;
  return done;
}

std::size_t WpcomClient::queued() const {
  std::lock_guard lock(impl_->mu);
  return impl_->queue.size();
}

bool WpcomClient::breakerOpen() const {
  std::lock_guard lock(impl_->mu);
  return impl_->isOpen(Clock::now());
}

}  // namespace tidewatch::stages
