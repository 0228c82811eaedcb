// What one check found out. Filled by a Probe (on an I/O thread), read by classify, route
// and the sinks (on TBB threads) after the probe completed; never mutated after completion.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace tidewatch {

// Jetmon's error codes (reference/jetmon-compat.md §2.6). The numbers are a wire contract:
// they are written to jetmon_check_history.error_code and sent to verifiers.
enum class ErrorCode : std::uint8_t {
  kNone = 0,
  kTimeout = 1,        // a deadline expired in any phase
  kConnect = 2,        // any other transport error (DNS failure, refused, reset, bad URL)
  kSsl = 3,            // TLS handshake or certificate verification failed
  kRedirect = 4,       // redirect policy `fail`, loop, or more than 10 hops
  kKeyword = 5,        // a content rule failed
  kTlsExpired = 6,     // certificate past NotAfter after a completed handshake
  kTlsDeprecated = 7,  // TLS <= 1.1 negotiated: an advisory, not a failure
  kBodyRead = 8,       // truncated or unreadable body with HTTP < 400
  kProbeSafety = 9,    // target or dialled address not public: never a failure
};

enum class DnsErrorKind : std::uint8_t { kNone, kNxDomain, kServFail, kTimeout, kResolverError };

// The I/O phase that was running when the check ended abnormally (kNone on success).
enum class ProbePhase : std::uint8_t {
  kNone, kResolve, kConnect, kTlsHandshake, kWrite, kFirstByte, kHeaders, kBody
};

enum class KeywordRule : std::uint8_t { kNone, kRequired, kForbidden };

enum class HttpMethod : std::uint8_t { kGet, kHead };

// Integer milliseconds; 0 for a phase that did not complete (§2.9).
struct ProbeTimings {
  std::uint32_t dns_ms = 0;
  std::uint32_t tcp_ms = 0;
  std::uint32_t tls_ms = 0;
  std::uint32_t ttfb_ms = 0;
  std::uint32_t rtt_ms = 0;  // start of the check through the response headers
};

struct TlsFacts {
  std::uint16_t version = 0;          // wire value: 0x0301 TLS 1.0 … 0x0304 TLS 1.3; 0 = no TLS
  std::uint16_t cipher_id = 0;        // IANA cipher suite id
  std::string cipher;                 // OpenSSL/IANA name
  std::int64_t cert_not_after = 0;    // leaf NotAfter, unix seconds; 0 = unknown
  bool resumed = false;               // session resumption was used
  bool tls12_capped = false;          // at most TLS 1.2 was offered (probe.tls12_resumption):
                                      // version is this connection's, not the server's best
};

struct ProbeResult {
  int http_code = 0;
  ErrorCode error = ErrorCode::kNone;
  DnsErrorKind dns_error = DnsErrorKind::kNone;
  ProbePhase failed_phase = ProbePhase::kNone;
  KeywordRule keyword_rule = KeywordRule::kNone;
  HttpMethod method = HttpMethod::kGet;
  std::uint8_t redirects = 0;
  bool redirect_changed = false;  // `alert` policy and at least one redirect happened
  std::string final_url;          // empty when no redirect was followed
  std::string resolved_ip;        // the address actually dialled last
  TlsFacts tls;
  std::uint64_t body_bytes = 0;
  ProbeTimings timings;
  std::string error_detail;       // short human text, at most ~200 bytes
  // The check failed because of the monitor, not the site: a local resource limit (EMFILE,
  // no ephemeral port, ENOBUFS) or our own resolver. Never a site failure, never a down
  // vote; counted as monitor pressure (docs/operations.md).
  bool monitor_fault = false;
  std::int64_t started_at_ms = 0;   // unix ms
  std::int64_t finished_at_ms = 0;  // unix ms
};

std::string_view toString(ErrorCode code);
std::string_view toString(DnsErrorKind kind);
std::string_view toString(ProbePhase phase);
std::string_view toString(KeywordRule rule);
std::string_view toString(HttpMethod method);
// "TLS 1.0" … "TLS 1.3", "" for 0.
std::string tlsVersionName(std::uint16_t version);

}  // namespace tidewatch
