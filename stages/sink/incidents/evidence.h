// Evidence for every incident decision: the local result, the verifiers' votes and the rule
// that fired, as the JSON stored in jetmon_events / transitions / audit metadata.
#pragma once

#include <cstdint>
#include <string>

#include <nlohmann/json.hpp>

#include "pipeline/check.h"
#include "pipeline/verification.h"

namespace tidewatch::stages::evidence {

// http_code, error_code, error, dns_error, keyword_rule, timings, resolved IP, TLS facts,
// url, method, status_type, checked_at, …
nlohmann::json local(const Check& check);
nlohmann::json vote(const VerifierVote& vote);
// One object per verifier (votes and non-votes), plus the compat §3.3 `verifier_results`.
nlohmann::json votes(const Verification& v);
nlohmann::json verifierResults(const Verification& v);
nlohmann::json decision(const Verification& v);
// "2026-11-28T23:59:01.123Z"
std::string rfc3339(std::int64_t unix_ms);
std::string tlsVersionCode(std::uint16_t version);  // "0x0301"
// Compact JSON text; invalid UTF-8 is replaced rather than thrown.
std::string dump(const nlohmann::json& j);

}  // namespace tidewatch::stages::evidence
