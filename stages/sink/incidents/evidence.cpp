#include "stages/sink/incidents/evidence.h"

#include <ctime>

namespace tidewatch::stages::evidence {

using nlohmann::json;

std::string rfc3339(std::int64_t unix_ms) {
  std::time_t secs = static_cast<std::time_t>(unix_ms / 1000);
  std::tm tm{};
  ::gmtime_r(&secs, &tm);
  char buf[64];
  std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900, tm.tm_mon + 1,
                tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, static_cast<int>(unix_ms % 1000));
  return buf;
}

std::string dump(const json& j) {
  // Error texts from sockets and peers are not guaranteed UTF-8: replace, never throw.
  return j.dump(-1, ' ', false, json::error_handler_t::replace);
}

std::string tlsVersionCode(std::uint16_t version) {
  char buf[8];
  std::snprintf(buf, sizeof buf, "0x%04x", version);
  return buf;
}

json local(const Check& check) {
  const ProbeResult& r = check.result;
  const Target* t = check.request.target.get();
  json j;
  j["url"] = t ? t->url : "";
  j["method"] = std::string(toString(r.method));
  j["http_code"] = r.http_code;
  j["error_code"] = static_cast<int>(r.error);
  j["error"] = std::string(toString(r.error));
  j["status_type"] = std::string(toString(check.verdict.status_type));
  j["success"] = check.verdict.success;
  if (r.dns_error != DnsErrorKind::kNone) j["dns_error_kind"] = std::string(toString(r.dns_error));
  if (r.keyword_rule != KeywordRule::kNone) j["keyword_rule"] = std::string(toString(r.keyword_rule));
  if (r.failed_phase != ProbePhase::kNone) j["failed_phase"] = std::string(toString(r.failed_phase));
  j["rtt_ms"] = r.timings.rtt_ms;
  j["timings_ms"] = {{"dns", r.timings.dns_ms},
                     {"tcp", r.timings.tcp_ms},
                     {"tls", r.timings.tls_ms},
                     {"ttfb", r.timings.ttfb_ms},
                     {"rtt", r.timings.rtt_ms}};
  if (!r.resolved_ip.empty()) j["resolved_ip"] = r.resolved_ip;
  if (r.tls.version != 0) {
    j["tls_version"] = tlsVersionName(r.tls.version);
    if (!r.tls.cipher.empty()) j["cipher_suite"] = r.tls.cipher;
  }
  if (r.tls.cert_not_after != 0) j["cert_not_after"] = rfc3339(r.tls.cert_not_after * 1000);
  if (r.redirects != 0) j["redirects"] = r.redirects;
  if (!r.final_url.empty()) j["final_url"] = r.final_url;
  if (!r.error_detail.empty()) j["error_detail"] = r.error_detail.substr(0, 500);
  if (r.finished_at_ms != 0) j["checked_at"] = rfc3339(r.finished_at_ms);
  j["attempt"] = check.request.attempt;
  return j;
}

json vote(const VerifierVote& vote) {
  json j{{"verifier", vote.verifier},
         {"vantage_id", vote.vantage_id},
         {"outcome", std::string(toString(vote.outcome))},
         {"vote", vote.isVote()},
         {"http_code", vote.http_code},
         {"error_code", static_cast<int>(vote.error)},
         {"rtt_ms", vote.rtt_ms}};
  if (!vote.region.empty()) j["region"] = vote.region;
  if (!vote.host.empty()) j["host"] = vote.host;
  if (!vote.detail.empty()) j["detail"] = vote.detail.substr(0, 300);
  return j;
}

json votes(const Verification& v) {
  json arr = json::array();
  for (const VerifierVote& one : v.votes) arr.push_back(vote(one));
  return arr;
}

json verifierResults(const Verification& v) {
  json arr = json::array();
  for (const VerifierVote& vote : v.votes) {
    if (!vote.isVote()) continue;
    arr.push_back({{"host", vote.host.empty() ? vote.verifier : vote.host},
                   {"success", vote.outcome == VerifierVote::Outcome::kUp},
                   {"http_code", vote.http_code},
                   {"rtt_ms", vote.rtt_ms}});
  }
  return arr;
}

json decision(const Verification& v) {
  json j{{"decision", std::string(toString(v.decision))},
         {"verifier_quorum", v.quorum},
         {"healthy", v.healthy},
         {"confirmations", v.confirmations},
         {"disagreed", std::max(0, v.healthy - v.confirmations)}};
  if (!v.regional_outcome.empty()) j["regional_outcome"] = v.regional_outcome;
  if (v.decision == Verification::Decision::kDeferred) j["retry_after_ms"] = v.retry_after_ms;
  return j;
}

}  // namespace tidewatch::stages::evidence
