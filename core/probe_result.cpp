#include "core/probe_result.h"

#include "pipeline/check.h"

namespace tidewatch {

std::string_view toString(ErrorCode code) {
  switch (code) {
    case ErrorCode::kNone: return "none";
    case ErrorCode::kTimeout: return "timeout";
    case ErrorCode::kConnect: return "connect";
    case ErrorCode::kSsl: return "ssl";
    case ErrorCode::kRedirect: return "redirect";
    case ErrorCode::kKeyword: return "keyword";
    case ErrorCode::kTlsExpired: return "tls_expired";
    case ErrorCode::kTlsDeprecated: return "tls_deprecated";
    case ErrorCode::kBodyRead: return "body_read";
    case ErrorCode::kProbeSafety: return "probe_safety";
  }
  return "unknown";
}

std::string_view toString(DnsErrorKind kind) {
  switch (kind) {
    case DnsErrorKind::kNone: return "";
    case DnsErrorKind::kNxDomain: return "nxdomain";
    case DnsErrorKind::kServFail: return "servfail";
    case DnsErrorKind::kTimeout: return "timeout";
    case DnsErrorKind::kResolverError: return "resolver_error";
  }
  return "resolver_error";
}

std::string_view toString(ProbePhase phase) {
  switch (phase) {
    case ProbePhase::kNone: return "none";
    case ProbePhase::kResolve: return "resolve";
    case ProbePhase::kConnect: return "connect";
    case ProbePhase::kTlsHandshake: return "tls_handshake";
    case ProbePhase::kWrite: return "write";
    case ProbePhase::kFirstByte: return "first_byte";
    case ProbePhase::kHeaders: return "headers";
    case ProbePhase::kBody: return "body";
  }
  return "none";
}

std::string_view toString(KeywordRule rule) {
  switch (rule) {
    case KeywordRule::kNone: return "";
    case KeywordRule::kRequired: return "required";
    case KeywordRule::kForbidden: return "forbidden";
  }
  return "";
}

std::string_view toString(HttpMethod method) { return method == HttpMethod::kHead ? "HEAD" : "GET"; }

std::string tlsVersionName(std::uint16_t version) {
  switch (version) {
    case 0x0300: return "SSL 3.0";
    case 0x0301: return "TLS 1.0";
    case 0x0302: return "TLS 1.1";
    case 0x0303: return "TLS 1.2";
    case 0x0304: return "TLS 1.3";
    default: return version == 0 ? "" : "unknown";
  }
}

std::string_view toString(StatusType type) {
  switch (type) {
    case StatusType::kSuccess: return "success";
    case StatusType::kHttps: return "https";
    case StatusType::kIntermittent: return "intermittent";
    case StatusType::kRedirect: return "redirect";
    case StatusType::kBlocked: return "blocked";
    case StatusType::kServer: return "server";
    case StatusType::kClient: return "client";
    case StatusType::kProbeSafety: return "probe_safety";
  }
  return "intermittent";
}

}  // namespace tidewatch
