#include "io/net/tls_context.h"

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <asio/ssl/context.hpp>
#include <ctime>
#include <mutex>
#include <stdexcept>
#include <unordered_map>

#include "core/text.h"

namespace tidewatch::io {
namespace {

int stateIndex() {
  static const int index = SSL_get_ex_new_index(0, nullptr, nullptr, nullptr, nullptr);
  return index;
}

// asio::ssl::context keeps its own callback object in the SSL_CTX app data: ours goes in an
// ex_data slot of its own.
int contextIndex() {
  static const int index = SSL_CTX_get_ex_new_index(0, nullptr, nullptr, nullptr, nullptr);
  return index;
}

TlsVerifyState* stateOf(SSL* ssl) {
  return static_cast<TlsVerifyState*>(SSL_get_ex_data(ssl, stateIndex()));
}

int verifyCallback(int preverify_ok, X509_STORE_CTX* store) noexcept {
  if (preverify_ok) return 1;
  auto* ssl =
      static_cast<SSL*>(X509_STORE_CTX_get_ex_data(store, SSL_get_ex_data_X509_STORE_CTX_idx()));
  TlsVerifyState* state = ssl ? stateOf(ssl) : nullptr;
  int err = X509_STORE_CTX_get_error(store);
  int depth = X509_STORE_CTX_get_error_depth(store);
  if (err == X509_V_ERR_CERT_HAS_EXPIRED && depth == 0) {
    // Tolerated so the handshake completes and the check can say "expired" (code 6)
    // instead of a generic TLS failure; collect() compares NotAfter with the clock.
    if (state) state->leaf_expired = true;
    return 1;
  }
  if (state && state->error == 0) {
    state->error = err;
    state->error_depth = depth;
  }
  return 0;
}

std::int64_t asn1ToUnix(const ASN1_TIME* t) {
  if (t == nullptr) return 0;
  std::tm tm{};
  if (ASN1_TIME_to_tm(t, &tm) != 1) return 0;
  return unixSecondsFromUtc(tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min,
                            tm.tm_sec);
}

}  // namespace

struct TlsContext::Impl {
  struct CachedSession {
    SSL_SESSION* session = nullptr;
    std::chrono::steady_clock::time_point last_full{};
    // Capping this host at TLS 1.2 failed, or gave no TLS 1.2 session to resume; cleared by
    // the next full handshake, so a server that changes its mind is tried again daily.
    bool no_tls12 = false;
  };

  explicit Impl(TlsOptions o) : options(std::move(o)), ctx(asio::ssl::context::tls_client) {}
  ~Impl() {
    for (auto& [key, entry] : sessions) {
      if (entry.session) SSL_SESSION_free(entry.session);
    }
  }

  static int onNewSession(SSL* ssl, SSL_SESSION* session) noexcept {
    auto* self = static_cast<Impl*>(SSL_CTX_get_ex_data(SSL_get_SSL_CTX(ssl), contextIndex()));
    TlsVerifyState* state = stateOf(ssl);
    if (self == nullptr || state == nullptr || state->session_key.empty() || state->error != 0)
      return 0;
    try {
      std::lock_guard lock(self->mu);
      auto it = self->sessions.find(state->session_key);
      if (it == self->sessions.end()) {
        if (self->sessions.size() >= self->options.max_cached_sessions) {
          auto victim = self->sessions.begin();  // arbitrary: bounded memory beats perfect LRU
          if (victim->second.session) SSL_SESSION_free(victim->second.session);
          self->sessions.erase(victim);
        }
        it = self->sessions.emplace(state->session_key, CachedSession{}).first;
      }
      if (it->second.session) SSL_SESSION_free(it->second.session);
      it->second.session = session;  // returning 1 keeps OpenSSL's reference for us
      return 1;
    } catch (...) {
      return 0;
    }
  }

  TlsOptions options;
  asio::ssl::context ctx;
  mutable std::mutex mu;
  std::unordered_map<std::string, CachedSession> sessions;
};

TlsContext::TlsContext(TlsOptions options) : impl_(std::make_unique<Impl>(std::move(options))) {
  SSL_CTX* ctx = impl_->ctx.native_handle();
  SSL_CTX_set_ex_data(ctx, contextIndex(), impl_.get());
  // Debian's openssl.cnf raises both to TLS 1.2 / SECLEVEL 2; TLS 1.0/1.1 sites must complete
  // the handshake to be reported as deprecated (code 7) instead of broken (code 3).
  SSL_CTX_set_min_proto_version(ctx, TLS1_VERSION);
  SSL_CTX_set_max_proto_version(ctx, 0);
  SSL_CTX_set_security_level(ctx, 0);
  if (SSL_CTX_set_cipher_list(ctx, "DEFAULT:@SECLEVEL=0") != 1) {
    throw std::runtime_error("TLS: cannot set cipher list");
  }
  SSL_CTX_set_mode(ctx, SSL_MODE_RELEASE_BUFFERS);
  SSL_CTX_set_options(ctx, SSL_OP_NO_COMPRESSION | SSL_OP_NO_RENEGOTIATION);
  if (SSL_CTX_set_default_verify_paths(ctx) != 1) {
    throw std::runtime_error("TLS: cannot load the system trust store");
  }
  if (!impl_->options.ca_file.empty() &&
      SSL_CTX_load_verify_locations(ctx, impl_->options.ca_file.c_str(), nullptr) != 1) {
    ERR_clear_error();
    throw std::runtime_error("probe.ca_file: cannot load '" + impl_->options.ca_file + "'");
  }
  SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, &verifyCallback);
  SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_CLIENT | SSL_SESS_CACHE_NO_INTERNAL_STORE);
  SSL_CTX_sess_set_new_cb(ctx, &Impl::onNewSession);
}

TlsContext::~TlsContext() = default;

asio::ssl::context& TlsContext::asioContext() {
  return impl_->ctx;
}

bool TlsContext::prepare(ssl_st* ssl, const std::string& host, bool host_is_ip, std::uint16_t port,
                         TlsVerifyState* state, bool allow_cap) {
  state->session_key = host + ":" + std::to_string(port);
  SSL_set_ex_data(ssl, stateIndex(), state);
  if (!host_is_ip) {
    if (SSL_set_tlsext_host_name(ssl, host.c_str()) != 1) return false;
    if (SSL_set1_host(ssl, host.c_str()) != 1) return false;
  } else {
    X509_VERIFY_PARAM* param = SSL_get0_param(ssl);
    if (X509_VERIFY_PARAM_set1_ip_asc(param, host.c_str()) != 1) return false;
  }
  SSL_set_hostflags(ssl, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
  std::lock_guard lock(impl_->mu);
  auto it = impl_->sessions.find(state->session_key);
  if (it == impl_->sessions.end() || it->second.session == nullptr ||
      std::chrono::steady_clock::now() - it->second.last_full >=
          impl_->options.full_handshake_interval) {
    return true;  // a full handshake at the server's best protocol: the facts of record
  }
  SSL_SESSION* session = it->second.session;
  if (allow_cap && impl_->options.tls12_resumption && !it->second.no_tls12) {
    // TLS 1.2 at most: a TLS 1.2 session then resumes without a key exchange. A TLS 1.3
    // session cannot be offered below 1.3, so this check is a full TLS 1.2 handshake (chain
    // and host verified as always) that earns the TLS 1.2 session the next checks resume.
    if (SSL_set_max_proto_version(ssl, TLS1_2_VERSION) != 1) return false;
    state->capped = true;
    if (SSL_SESSION_get_protocol_version(session) <= TLS1_2_VERSION) SSL_set_session(ssl, session);
    return true;
  }
  SSL_set_session(ssl, session);
  return true;
}

void TlsContext::collect(ssl_st* ssl, const TlsVerifyState& state, TlsFacts& facts) {
  facts.version = static_cast<std::uint16_t>(SSL_version(ssl));
  if (const SSL_CIPHER* c = SSL_get_current_cipher(ssl)) {
    facts.cipher_id = static_cast<std::uint16_t>(SSL_CIPHER_get_protocol_id(c));
    const char* name = SSL_CIPHER_standard_name(c);
    facts.cipher = name ? name : SSL_CIPHER_get_name(c);
  }
  if (X509* leaf = SSL_get0_peer_certificate(ssl)) {
    facts.cert_not_after = asn1ToUnix(X509_get0_notAfter(leaf));
  }
  facts.resumed = SSL_session_reused(ssl) == 1;
  facts.tls12_capped = state.capped;
  if (facts.resumed) return;
  std::lock_guard lock(impl_->mu);
  auto it = impl_->sessions.find(state.session_key);
  if (state.capped) {
    // A full handshake under the cap: the new-session callback has already run, so a session
    // that is still TLS 1.3 means the server gave no TLS 1.2 session to resume.
    if (it != impl_->sessions.end() &&
        (it->second.session == nullptr ||
         SSL_SESSION_get_protocol_version(it->second.session) > TLS1_2_VERSION)) {
      it->second.no_tls12 = true;
    }
    return;
  }
  if (it == impl_->sessions.end() && impl_->sessions.size() < impl_->options.max_cached_sessions) {
    it = impl_->sessions.emplace(state.session_key, Impl::CachedSession{}).first;
  }
  if (it != impl_->sessions.end()) {
    it->second.last_full = std::chrono::steady_clock::now();
    it->second.no_tls12 = false;
    // A session from before this handshake carries the old certificate facts: drop it. (A
    // TLS 1.2 handshake has already stored its own session; TLS 1.3 tickets arrive later.)
    if (it->second.session != nullptr && it->second.session != SSL_get0_session(ssl)) {
      SSL_SESSION_free(it->second.session);
      it->second.session = nullptr;
    }
  }
}

void TlsContext::noteCapRefused(const TlsVerifyState& state) {
  std::lock_guard lock(impl_->mu);
  auto it = impl_->sessions.find(state.session_key);
  if (it != impl_->sessions.end()) it->second.no_tls12 = true;
}

std::string TlsContext::verifyErrorText(int error) {
  if (error == X509_V_ERR_HOSTNAME_MISMATCH) return "certificate hostname mismatch";
  if (error == X509_V_ERR_IP_ADDRESS_MISMATCH) return "certificate IP address mismatch";
  return std::string("certificate verify failed: ") + X509_verify_cert_error_string(error);
}

std::size_t TlsContext::cachedSessions() const {
  std::lock_guard lock(impl_->mu);
  return impl_->sessions.size();
}

}  // namespace tidewatch::io
