#include "stages/probe/http/check_engine.h"

#include <openssl/err.h>
#include <openssl/ssl.h>

#include <algorithm>
#include <asio/connect.hpp>
#include <asio/ip/tcp.hpp>
#include <asio/post.hpp>
#include <asio/ssl/error.hpp>
#include <asio/ssl/stream.hpp>
#include <asio/steady_timer.hpp>
#include <asio/strand.hpp>
#include <asio/write.hpp>
#include <optional>
#include <vector>

#include "core/text.h"
#include "io/http/response_parser.h"
#include "io/net/ip_safety.h"
#include "io/net/source_address.h"
#include "io/net/url.h"
#include "stages/probe/http/check_request.h"
#include "stages/probe/http/keyword_matcher.h"
#include "stages/probe/http/redirects.h"

namespace tidewatch::stages {

using io::AddressClass;
using io::HttpResponseParser;
using io::ResolveResultPtr;
using io::TlsContext;
using io::TlsVerifyState;
using io::Url;
using io::UrlParse;

struct HttpCheckEngine::Env {
  std::shared_ptr<io::Resolver> resolver;
  std::shared_ptr<TlsContext> tls;
  HttpCheckOptions options;
};

namespace {

using Clock = std::chrono::steady_clock;
using Tcp = asio::ip::tcp;

constexpr std::size_t kMaxDetail = 200;

std::uint32_t msBetween(Clock::time_point a, Clock::time_point b) {
  if (b <= a) return 0;
  return static_cast<std::uint32_t>(
      std::chrono::duration_cast<std::chrono::milliseconds>(b - a).count());
}

bool isRedirectStatus(int s) {
  return s == 301 || s == 302 || s == 303 || s == 307 || s == 308;
}

class HttpCheck final : public std::enable_shared_from_this<HttpCheck>,
                        private HttpResponseParser::BodySink {
 public:
  HttpCheck(asio::io_context& io, std::shared_ptr<HttpCheckEngine::Env> env, CheckPtr check,
            ProbeCallback& done)
      : env_(std::move(env)),
        opts_(env_->options),
        strand_(env_->options.one_io_thread ? asio::any_io_executor(io.get_executor())
                                            : asio::any_io_executor(asio::make_strand(io))),
        timer_(strand_),
        socket_(strand_),
        check_(std::move(check)),
        done_(done),
        parser_(opts_.max_header_bytes) {}

  void launch() {
    asio::post(strand_, [self = shared_from_this()] { self->begin(); });
  }

 private:
  void begin() {
    ProbeResult& r = result();
    started_ = Clock::now();
    r.started_at_ms = unixNowMs();
    const Target* target = check_->request.target.get();
    static const SiteConfig kNoRules;
    site_ = target && target->config ? target->config.get() : &kNoRules;
    method_ = site_->method;
    r.method = method_;
    int timeout_s = site_->timeout_seconds > 0 ? site_->timeout_seconds : opts_.default_timeout_s;
    if (timeout_s <= 0) timeout_s = 10;
    deadline_ = started_ + std::chrono::seconds(timeout_s);
    if (site_->hasContentRules()) matcher_.emplace(site_->check_keyword, site_->forbidden_keywords);

    UrlParse parsed = io::parseUrl(target ? std::string_view(target->url) : std::string_view{});
    if (auto refusal = refuseUrl(parsed, opts_.allow_private_targets, false)) {
      fail(refusal->code, ProbePhase::kNone, std::move(refusal->detail));
      return;
    }
    visited_.push_back(parsed.url->str());
    // The whole-check deadline: whatever phase is running when it passes ends with code 1.
    beginHop(std::move(*parsed.url));
  }

  ProbeResult& result() { return check_->result; }

  // ---- deadlines ----

  // Phases only move a deadline variable; the one timer is re-armed only when the new phase
  // ends before the timer would fire. Budgets are chosen so that this is rare (normally one
  // async_wait per check), because each cancel costs a handler run.
  void armPhase(ProbePhase phase, std::chrono::milliseconds budget) {
    phase_ = phase;
    phase_deadline_ = std::min(deadline_, Clock::now() + budget);
    if (timer_armed_ && timer_at_ <= phase_deadline_) return;
    armTimer(phase_deadline_);
  }

  void armTimer(Clock::time_point at) {
    timer_armed_ = true;
    timer_at_ = at;
    ++timer_gen_;
    timer_.expires_at(at);
    timer_.async_wait([self = shared_from_this(), gen = timer_gen_](std::error_code ec) {
      if (ec || gen != self->timer_gen_ || self->finished_) return;
      self->timer_armed_ = false;
      if (Clock::now() < self->phase_deadline_) {
        self->armTimer(self->phase_deadline_);  // an earlier phase's deadline: not ours yet
        return;
      }
      self->onPhaseTimeout();
    });
  }

  void onPhaseTimeout() {
    bool whole = phase_deadline_ >= deadline_;
    std::string what =
        whole ? "check deadline exceeded during " : "phase deadline exceeded during ";
    what += toString(phase_);
    if (phase_ == ProbePhase::kConnect && !whole && next_address_ < addresses_->addresses.size()) {
      // This address is slow: give the remaining ones their turn within the deadline.
      last_connect_error_ = "connect timed out";
      closeSocket();
      connectNext();
      return;
    }
    if (phase_ == ProbePhase::kTlsHandshake && !whole && verify_.capped) {
      retryTlsUncapped();
      return;
    }
    if (phase_ == ProbePhase::kResolve) {
      result().dns_error = DnsErrorKind::kTimeout;
      if (!whole) {
        // The resolver's own budget ran out with time left in the check: a DNS failure
        // (code 2, like c-ares giving up), not the request deadline (code 1).
        fail(ErrorCode::kConnect, phase_, "dns: timeout: no answer within the resolve budget");
        return;
      }
    }
    fail(ErrorCode::kTimeout, phase_, std::move(what));
  }

  std::chrono::milliseconds remaining() const {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline_ - Clock::now());
    return std::max(left, std::chrono::milliseconds(0));
  }

  // ---- hops ----

  void beginHop(Url url) {
    url_ = std::move(url);
    ProbeResult& r = result();
    r.timings.dns_ms = r.timings.tcp_ms = r.timings.tls_ms = r.timings.ttfb_ms = 0;
    parser_.reset(method_ == HttpMethod::kHead);
    addresses_.reset();
    next_address_ = 0;
    tls_uncapped_retry_ = false;
    last_connect_error_.clear();
    armPhase(ProbePhase::kResolve, opts_.resolve_budget);
    std::error_code ec;
    asio::ip::make_address(url_.host, ec);
    dns_used_ = static_cast<bool>(ec);
    dns_start_ = Clock::now();
    // A weak reference: a lookup outliving its check (deadline passed) must not keep the check,
    // and through it the resolver, alive.
    env_->resolver->resolve(
        url_.host, [weak = weak_from_this(), gen = hop_gen_](ResolveResultPtr res) {
          auto self = weak.lock();
          if (!self) return;
          asio::post(self->strand_, [self, gen, res = std::move(res)]() mutable {
            if (self->finished_ || gen != self->hop_gen_) return;
            self->onResolved(std::move(res));
          });
        });
  }

  void onResolved(ResolveResultPtr res) {
    ProbeResult& r = result();
    if (res->error != DnsErrorKind::kNone) {
      r.dns_error = res->error;
      fail(ErrorCode::kConnect, ProbePhase::kResolve,
           "dns: " + std::string(toString(res->error)) + ": " + res->detail);
      return;
    }
    if (dns_used_) r.timings.dns_ms = msBetween(dns_start_, Clock::now());
    if (!opts_.allow_private_targets) {
      // Every address must be public: a mixed answer is how rebinding attacks look.
      for (const auto& a : res->addresses) {
        AddressClass c = io::classifyAddress(a);
        if (c != AddressClass::kPublic) {
          r.resolved_ip = a.to_string();
          fail(ErrorCode::kProbeSafety, ProbePhase::kConnect,
               "address " + a.to_string() + " is " + std::string(toString(c)) + ", not public");
          return;
        }
      }
    }
    addresses_ = std::move(res);
    connectNext();
  }

  void connectNext() {
    if (next_address_ >= addresses_->addresses.size()) {
      fail(ErrorCode::kConnect, ProbePhase::kConnect, "connect: " + last_connect_error_);
      return;
    }
    std::size_t left = addresses_->addresses.size() - next_address_;
    const auto& addr = addresses_->addresses[next_address_++];
    result().resolved_ip = addr.to_string();
    auto budget = std::min(opts_.connect_budget, remaining() / static_cast<int>(left));
    armPhase(ProbePhase::kConnect, std::max(budget, std::chrono::milliseconds(1)));
    closeSocket();
    connect_start_ = Clock::now();
    ++connect_gen_;
    if (!opts_.source_address.is_unspecified() && !bindSource(addr)) {
      connectNext();
      return;
    }
    socket_.async_connect(
        Tcp::endpoint(addr, url_.port),
        [self = shared_from_this(), gen = hop_gen_, attempt = connect_gen_](std::error_code ec) {
          if (self->finished_ || gen != self->hop_gen_ || attempt != self->connect_gen_) return;
          self->onConnected(ec);
        });
  }

  // Opens the socket bound to probe.source_address (io/net/source_address.h).
  bool bindSource(const asio::ip::address& dest) {
    const auto& src = opts_.source_address;
    if (src.is_v4() != dest.is_v4()) {
      last_connect_error_ =
          "source address " + src.to_string() + " cannot reach " + dest.to_string();
      return false;
    }
    if (std::error_code ec = io::bindToSource(socket_, src)) {
      last_connect_error_ = "bind " + src.to_string() + ": " + ec.message();
      closeSocket();
      return false;
    }
    return true;
  }

  void onConnected(std::error_code ec) {
    if (ec) {
      if (ec == asio::error::operation_aborted) return;  // the phase timer moved us on
      last_connect_error_ = ec.message();
      closeSocket();
      connectNext();
      return;
    }
    result().timings.tcp_ms = msBetween(connect_start_, Clock::now());
    // No TCP_NODELAY: the request is one write, so Nagle never delays it (and it saves a syscall).
    if (url_.https) {
      startTls();
    } else {
      sendRequest();
    }
  }

  // ---- TLS ----

  void startTls() {
    if (!env_->tls) {
      fail(ErrorCode::kSsl, ProbePhase::kTlsHandshake, "tls: no TLS context");
      return;
    }
    tls_ = std::make_shared<TlsStream>(socket_, env_->tls->asioContext());
    verify_ = TlsVerifyState{};
    std::error_code ec;
    asio::ip::make_address(url_.host, ec);
    bool is_ip = !ec;
    if (!env_->tls->prepare(tls_->native_handle(), url_.host, is_ip, url_.port, &verify_,
                            !tls_uncapped_retry_)) {
      fail(ErrorCode::kSsl, ProbePhase::kTlsHandshake, "tls: cannot configure SNI/host name");
      return;
    }
    // A capped handshake (TLS 1.2 resumption policy) gets at most half of what is left, so a
    // server that stalls on it still leaves the uncapped retry time to answer.
    armPhase(ProbePhase::kTlsHandshake,
             verify_.capped ? std::min(opts_.tls_budget, remaining() / 2) : opts_.tls_budget);
    tls_start_ = Clock::now();
    // The handler holds the stream: a handshake abandoned by a deadline or a retry completes
    // (operation_aborted) on a live stream, and is recognised as stale by its identity.
    tls_->async_handshake(
        asio::ssl::stream_base::client,
        [self = shared_from_this(), gen = hop_gen_, tls = tls_](std::error_code ec) {
          if (self->finished_ || gen != self->hop_gen_ || tls != self->tls_) return;
          self->onHandshake(ec);
        });
  }

  void onHandshake(std::error_code ec) {
    ProbeResult& r = result();
    if (ec && verify_.capped) {
      retryTlsUncapped();
      return;
    }
    if (ec) {
      std::string text;
      if (verify_.error != 0) {
        text = "tls: " + TlsContext::verifyErrorText(verify_.error);
      } else {
        text = "tls handshake: " + ec.message();
      }
      fail(ErrorCode::kSsl, ProbePhase::kTlsHandshake, std::move(text));
      return;
    }
    r.timings.tls_ms = msBetween(tls_start_, Clock::now());
    tls_ok_ = true;
    env_->tls->collect(tls_->native_handle(), verify_, r.tls);
    // After collect(): a retry that was a full handshake must not clear the mark again.
    if (tls_uncapped_retry_) env_->tls->noteCapRefused(verify_);
    std::int64_t now_s = unixNowMs() / 1000;
    if (verify_.leaf_expired || (r.tls.cert_not_after != 0 && now_s > r.tls.cert_not_after)) {
      fail(ErrorCode::kTlsExpired, ProbePhase::kTlsHandshake, "tls: certificate has expired");
      return;
    }
    sendRequest();
  }

  // The TLS 1.2 cap is our choice, not the site's: whatever made a capped handshake fail
  // (a TLS 1.3-only server, a middlebox, a stall), the check is decided by an uncapped one on
  // a new connection to the same address. Only a failure of that one is reported.
  void retryTlsUncapped() {
    tls_uncapped_retry_ = true;
    closeSocket();
    --next_address_;
    connectNext();
  }

  // ---- request ----

  void sendRequest() {
    request_.clear();
    request_.reserve(256);
    appendCheckRequest(request_, method_, url_, site_->custom_headers, opts_.user_agent);
    armPhase(ProbePhase::kWrite, opts_.write_budget);
    auto handler = [self = shared_from_this(), gen = hop_gen_](std::error_code ec, std::size_t) {
      if (self->finished_ || gen != self->hop_gen_) return;
      self->onWritten(ec);
    };
    if (tls_) {
      asio::async_write(*tls_, asio::buffer(request_),
                        [h = std::move(handler), tls = tls_](std::error_code ec, std::size_t n) {
                          h(ec, n);  // `tls` keeps the stream alive until an aborted write ends
                        });
    } else {
      asio::async_write(socket_, asio::buffer(request_), std::move(handler));
    }
  }

  void onWritten(std::error_code ec) {
    if (ec) {
      if (ec == asio::error::operation_aborted) return;
      fail(tls_ ? ErrorCode::kSsl : ErrorCode::kConnect, ProbePhase::kWrite,
           "write: " + ec.message());
      return;
    }
    written_ = Clock::now();
    got_first_byte_ = false;
    // Waiting for the first byte may take the whole remaining deadline (a slow backend is
    // a timeout, reported as such).
    armPhase(ProbePhase::kFirstByte, remaining());
    if (!buffer_) buffer_ = std::make_unique_for_overwrite<char[]>(opts_.read_buffer_bytes);
    readMore();
  }

  // ---- response ----

  void readMore() {
    auto handler = [self = shared_from_this(), gen = hop_gen_](std::error_code ec, std::size_t n) {
      if (self->finished_ || gen != self->hop_gen_) return;
      self->onRead(ec, n);
    };
    auto buf = asio::buffer(buffer_.get(), opts_.read_buffer_bytes);
    if (tls_) {
      tls_->async_read_some(
          buf, [h = std::move(handler), tls = tls_](std::error_code ec, std::size_t n) {
            h(ec, n);  // `tls` keeps the stream alive until an aborted read ends
          });
    } else {
      socket_.async_read_some(buf, std::move(handler));
    }
  }

  void onRead(std::error_code ec, std::size_t n) {
    if (n > 0 && !got_first_byte_) {
      got_first_byte_ = true;
      result().timings.ttfb_ms = msBetween(written_, Clock::now());
      armPhase(ProbePhase::kHeaders, opts_.headers_budget);
    }
    if (n > 0) {
      if (!consume(buffer_.get(), n)) return;  // finished inside
    }
    if (ec) {
      if (ec == asio::error::operation_aborted) return;
      bool eof = ec == asio::error::eof || ec == asio::ssl::error::stream_truncated;
      onStreamEnd(eof, ec);
      return;
    }
    readMore();
  }

  // Returns false when the check finished.
  bool consume(const char* data, std::size_t n) {
    while (n > 0) {
      if (!parser_.headComplete()) {
        std::size_t used = parser_.feed(data, n, nullptr);
        data += used;
        n -= used;
        if (parser_.state() == HttpResponseParser::State::kError) {
          fail(ErrorCode::kConnect, ProbePhase::kHeaders,
               "bad response: " + std::string(toString(parser_.error())));
          return false;
        }
        if (!parser_.headComplete()) return true;  // need more
        if (!onHead()) return false;
        continue;
      }
      std::size_t used = parser_.feed(data, n, this);
      data += used;
      n -= used;
      if (parser_.state() == HttpResponseParser::State::kError) {
        fail(ErrorCode::kBodyRead, ProbePhase::kBody,
             "body: " + std::string(toString(parser_.error())));
        return false;
      }
      if (parser_.state() == HttpResponseParser::State::kDone || stop_body_) {
        complete();
        return false;
      }
      if (used == 0) break;
    }
    if (parser_.state() == HttpResponseParser::State::kDone) {
      complete();
      return false;
    }
    return true;
  }

  // The final response head is complete. Returns false when the check finished.
  bool onHead() {
    ProbeResult& r = result();
    r.http_code = parser_.status();
    r.timings.rtt_ms = msBetween(started_, Clock::now());
    if (isRedirectStatus(r.http_code) && parser_.hasLocation()) {
      followRedirect();
      return false;
    }
    if (parser_.state() == HttpResponseParser::State::kDone) {
      complete();
      return false;
    }
    if (r.http_code >= 400) {
      // The status decides; reading an error page proves nothing (compat strict-eof variant).
      complete();
      return false;
    }
    body_limit_ = matcher_ ? opts_.keyword_limit_bytes : opts_.body_limit_bytes;
    armPhase(ProbePhase::kBody, remaining());
    return true;
  }

  void onBody(const char* data, std::size_t size) override {
    if (stop_body_) return;
    std::size_t take = std::min<std::uint64_t>(
        size, body_limit_ - std::min<std::uint64_t>(body_limit_, body_bytes_));
    body_bytes_ += take;
    if (matcher_ && take) matcher_->feed(std::string_view(data, take));
    // Past the limit (or already failed a forbidden rule): stop reading; not an error.
    if (body_bytes_ >= body_limit_ || (matcher_ && matcher_->forbiddenFound())) stop_body_ = true;
  }

  void onStreamEnd(bool eof, std::error_code ec) {
    if (!parser_.headComplete()) {
      std::string what = parser_.headBytes() == 0 && !got_first_byte_
                             ? "empty response"
                             : "connection closed in headers";
      if (!eof) what = "read: " + ec.message();
      fail(ErrorCode::kConnect, got_first_byte_ ? ProbePhase::kHeaders : ProbePhase::kFirstByte,
           std::move(what));
      return;
    }
    if (eof && parser_.onEof()) {
      complete();
      return;
    }
    std::string what = eof ? "body truncated" : "body read: " + ec.message();
    if (auto cl = parser_.contentLength()) {
      what += " (" + std::to_string(parser_.bodyBytes()) + " of " + std::to_string(*cl) + " bytes)";
    }
    fail(ErrorCode::kBodyRead, ProbePhase::kBody, std::move(what));
  }

  void followRedirect() {
    ProbeResult& r = result();
    RedirectStep step =
        nextRedirect(url_, parser_.location(),
                     {site_->redirect_policy, opts_.max_redirects, opts_.allow_private_targets},
                     r.redirects, visited_);
    if (step.refusal) {
      fail(step.refusal->code, ProbePhase::kHeaders, std::move(step.refusal->detail));
      return;
    }
    std::string& key = step.key;
    ++r.redirects;
    if (site_->redirect_policy == RedirectPolicy::kAlert) r.redirect_changed = true;
    r.final_url = key.size() <= 2048 ? key : key.substr(0, 2048);
    visited_.push_back(std::move(key));
    if (r.http_code == 303 && method_ != HttpMethod::kHead) method_ = HttpMethod::kGet;
    r.http_code = 0;
    r.timings.rtt_ms = 0;
    ++hop_gen_;
    closeSocket();
    beginHop(std::move(step.next));
  }

  // ---- completion ----

  void complete() {
    ProbeResult& r = result();
    r.body_bytes = body_bytes_;
    if (matcher_ && r.http_code < 400 && parser_.headComplete() && method_ == HttpMethod::kGet) {
      if (!matcher_->requiredFound()) {
        r.keyword_rule = KeywordRule::kRequired;
        fail(ErrorCode::kKeyword, ProbePhase::kBody, "required keyword not found");
        return;
      }
      if (const std::string* hit = matcher_->forbiddenFound()) {
        r.keyword_rule = KeywordRule::kForbidden;
        fail(ErrorCode::kKeyword, ProbePhase::kBody,
             "forbidden keyword found: " + hit->substr(0, 64));
        return;
      }
    }
    if (r.tls.version != 0 && r.tls.version <= 0x0302) {
      r.error = ErrorCode::kTlsDeprecated;  // advisory: the HTTP status still decides success
      r.error_detail = "tls: deprecated protocol " + tlsVersionName(r.tls.version);
    }
    finish();
  }

  void fail(ErrorCode code, ProbePhase phase, std::string detail) {
    if (finished_) return;
    ProbeResult& r = result();
    r.error = code;
    r.failed_phase = phase;
    if (detail.size() > kMaxDetail) detail.resize(kMaxDetail);
    r.error_detail = std::move(detail);
    r.body_bytes = body_bytes_;
    finish();
  }

  void closeSocket() {
    std::error_code ec;
    if (tls_) {
      if (tls_ok_) {
        // A clean mark keeps the session resumable (OpenSSL drops sessions of connections
        // freed mid-stream); no close_notify round trip is spent on it.
        SSL_set_shutdown(tls_->native_handle(), SSL_SENT_SHUTDOWN | SSL_RECEIVED_SHUTDOWN);
      }
      tls_.reset();
      tls_ok_ = false;
    }
    if (socket_.is_open()) {
      socket_.close(ec);
    }
  }

  void finish() {
    if (finished_) return;
    finished_ = true;
    ++timer_gen_;
    timer_.cancel();
    closeSocket();
    ProbeResult& r = result();
    r.finished_at_ms = unixNowMs();
    r.method = site_ ? site_->method : HttpMethod::kGet;
    buffer_.reset();
    try {
      done_.onProbeDone(std::move(check_));
    } catch (...) {
      // The callback's failure is its own; nothing unwinds into Asio's handler machinery.
    }
  }

  std::shared_ptr<HttpCheckEngine::Env> env_;
  const HttpCheckOptions& opts_;
  asio::any_io_executor strand_;  // a strand, or the io_context's executor (one thread)
  asio::steady_timer timer_;
  Tcp::socket socket_;
  TlsVerifyState verify_;  // declared before tls_: the SSL points at it
  // Shared with the completion handlers of its operations: closing a connection while a TLS
  // operation is pending (deadline, retry) must not free the stream under asio's io_op, which
  // still touches the engine when the aborted operation completes.
  using TlsStream = asio::ssl::stream<Tcp::socket&>;
  std::shared_ptr<TlsStream> tls_;
  bool tls_ok_ = false;
  bool tls_uncapped_retry_ = false;  // this hop's capped handshake failed; retrying uncapped
  CheckPtr check_;
  ProbeCallback& done_;
  const SiteConfig* site_ = nullptr;
  HttpMethod method_ = HttpMethod::kGet;
  Url url_;
  std::vector<std::string> visited_;
  HttpResponseParser parser_;
  std::optional<KeywordMatcher> matcher_;
  std::string request_;
  std::unique_ptr<char[]> buffer_;
  ResolveResultPtr addresses_;
  std::size_t next_address_ = 0;
  std::string last_connect_error_;
  std::uint64_t connect_gen_ = 0;
  bool dns_used_ = false;
  bool got_first_byte_ = false;
  bool stop_body_ = false;
  bool finished_ = false;
  std::uint64_t body_bytes_ = 0;
  std::uint64_t body_limit_ = 0;
  std::uint64_t timer_gen_ = 0;
  bool timer_armed_ = false;
  Clock::time_point timer_at_{};
  std::uint64_t hop_gen_ = 0;
  ProbePhase phase_ = ProbePhase::kNone;
  Clock::time_point started_, deadline_, phase_deadline_, dns_start_, connect_start_, tls_start_,
      written_;
};

}  // namespace

HttpCheckEngine::HttpCheckEngine(asio::io_context& io, std::shared_ptr<io::Resolver> resolver,
                                 std::shared_ptr<TlsContext> tls, HttpCheckOptions options)
    : io_(io),
      env_(std::make_shared<Env>(Env{std::move(resolver), std::move(tls), std::move(options)})) {}

HttpCheckEngine::~HttpCheckEngine() = default;

void HttpCheckEngine::start(CheckPtr check, ProbeCallback& done) {
  auto op = std::make_shared<HttpCheck>(io_, env_, std::move(check), done);
  // Run the first step on the check's strand: start() must not block or run I/O inline.
  op->launch();
}

}  // namespace tidewatch::stages
