// io::TlsContext: the probe's one OpenSSL client context and its per-host session cache.
//
// Choices (docs/probe.md §TLS):
// - Verify the chain (system trust store plus probe.ca_file) and the host name (SSL_set1_host).
// - Accept TLS 1.0 and 1.1 so they can be reported as code 7 rather than failing: minimum
//   version TLS 1.0 and security level 0, set in code to override Debian's openssl.cnf
//   (MinProtocol = TLSv1.2, SECLEVEL=2). Level 0 also admits weak keys and SHA-1 signatures:
//   acceptable for a monitor, which reads a status code and transmits nothing secret.
// - An expired leaf certificate is let through verification (and only that error, only at
//   depth 0) so the handshake completes and the check reports code 6 (TlsExpired) with the
//   real NotAfter; every other verification error aborts the handshake (code 3).
// - Sessions are cached per host:port and offered on the next check, except that a full
//   handshake is forced once per full_handshake_interval so certificate facts stay fresh.
// - Resumption policy (tls12_resumption, opt-in): between those full handshakes a check offers
//   at most TLS 1.2 and resumes a TLS 1.2 session, because a TLS 1.2 abbreviated handshake has no key
//   exchange while a TLS 1.3 one always does (psk_dhe_ke): measured on OpenSSL 3.0, ~45 µs of
//   client CPU against ~250 µs. The full handshake is never capped, so the facts it records
//   are the server's best protocol. A capped handshake that fails is retried uncapped within
//   the same check (HttpClient), and the host is not capped again until its next full
//   handshake, so a TLS 1.3-only server never fails a check because of the policy.
//
// Thread-safe: one instance shared by all I/O threads.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>

#include "core/probe_result.h"

struct ssl_st;
namespace asio::ssl {
class context;
}

namespace tidewatch::io {

struct TlsOptions {
  std::string ca_file;  // extra PEM trust anchors; "" = none
  std::chrono::seconds full_handshake_interval{86400};
  std::size_t max_cached_sessions = 200'000;  // bounded: ~1–2 KiB each
  bool tls12_resumption = false;              // see the header comment
};

// Per-connection verification facts, filled by the verify callback.
struct TlsVerifyState {
  bool leaf_expired = false;  // X509_V_ERR_CERT_HAS_EXPIRED at depth 0 (tolerated)
  int error = 0;              // first fatal X509_V_ERR_*, 0 = none
  int error_depth = -1;
  std::string session_key;  // host:port for the session cache
  bool capped = false;      // this handshake offered at most TLS 1.2 (resumption policy)
};

class TlsContext {
 public:
  explicit TlsContext(TlsOptions options);  // throws std::runtime_error (startup only)
  ~TlsContext();
  TlsContext(const TlsContext&) = delete;
  TlsContext& operator=(const TlsContext&) = delete;

  asio::ssl::context& asioContext();

  // Before the handshake: SNI (not for IP literals), host name verification, the state the
  // verify callback writes to (must outlive the SSL), and a cached session if one is due.
  // With allow_cap the resumption policy may cap the handshake at TLS 1.2 (state->capped);
  // a retry after a failed capped handshake passes false. Returns false when OpenSSL refused
  // the settings.
  bool prepare(ssl_st* ssl, const std::string& host, bool host_is_ip, std::uint16_t port,
               TlsVerifyState* state, bool allow_cap = true);

  // After a completed handshake: version, cipher, leaf NotAfter, resumption; records when
  // the host last had an uncapped full handshake.
  void collect(ssl_st* ssl, const TlsVerifyState& state, TlsFacts& facts);

  // A capped handshake to this host failed and the uncapped retry succeeded: the host is not
  // capped again until its next full handshake.
  void noteCapRefused(const TlsVerifyState& state);

  // Text for a failed verification ("certificate has expired", "hostname mismatch", …).
  static std::string verifyErrorText(int error);

  std::size_t cachedSessions() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace tidewatch::io
