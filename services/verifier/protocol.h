// The verifier wire protocol (compat §6.1, docs/verifier.md): ONE codec for both shapes, used
// by both sides — the monitor's client encodes requests and decodes replies, the service
// decodes requests and encodes replies.
//
//   v2      POST /v2/check  {batch_id?, deadline_ms?, requests:[{request_id, blog_id, url,
//           timeout_ms, method, headers, body_rules{required[], forbidden[]},
//           redirect_policy}]} → {batch_id, vantage, agent, results:[{…, outcome, success, …}]}
//   legacy  POST /check     Jetmon's mirror: {"sites":[{BlogID, URL, …}]} (Go field names,
//           decoded case-insensitively) → {"results":[…]} in request order
//
// Pure functions, any thread. Every JSON is dumped with error_handler_t::replace: strings may
// carry bytes that are not UTF-8 (a URL, an error quoting the input), and the default
// handler would throw from inside an I/O handler.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/probe_result.h"
#include "core/target.h"
#include "pipeline/verification.h"

namespace tidewatch::services {

enum class Protocol : std::uint8_t { kV2, kLegacy };

// "/v2/check" or "/check", and back (nullopt for any other path).
std::string_view checkPath(Protocol protocol);
std::optional<Protocol> protocolOfPath(std::string_view path);
// The configured name of a protocol ("v2", "legacy").
Protocol protocolNamed(std::string_view name);

// One check as it travels in a request.
struct CheckItem {
  std::string request_id;
  std::uint64_t blog_id = 0;
  std::string url;
  std::int64_t timeout_ms = 0;  // 0 = the service's default
  SiteConfig rules;             // method, headers, keywords, redirect policy
};

struct CheckRequest {
  nlohmann::json batch_id;       // v2: echoed back as sent (null when absent)
  std::int64_t deadline_ms = 0;  // v2: the client stops waiting then (0 = none)
  std::vector<CheckItem> items;
};

// A request the service refuses: the HTTP status and the reason it sends as {"error": …}.
struct ProtocolError {
  int status = 400;
  std::string reason;
};

// The client's side of a request: one body per call.
std::string encodeRequest(Protocol protocol, const CheckRequest& request);
// The service's side: throws ProtocolError (400, with the field path) for anything malformed.
CheckRequest decodeRequest(Protocol protocol, std::string_view body);

// The answering agent, as replies and /status report it.
struct AgentIdentity {
  std::string vantage_id;
  std::string region;
  std::string agent_id;
  std::string host;
  std::string version;
};
// {"vantage": {...}, "agent": {...}} members shared by replies and /status.
nlohmann::json vantageJson(const AgentIdentity& agent);
nlohmann::json agentJson(const AgentIdentity& agent);

// One item's final answer on the service's side.
struct ItemAnswer {
  const CheckItem* item = nullptr;
  VerifierVote::Outcome outcome = VerifierVote::Outcome::kUnknown;  // up, down, timeout, …
  const ProbeResult* result = nullptr;  // null: the agent could not check it
  bool success = false;                 // the verdict, when there is a result
};

struct EncodedReply {
  int status = 200;
  std::string body;
};

// The service's answer. Legacy has no outcome field and a Jetmon monitor counts `Success:
// false` as a down vote, so an item the agent could not check fails the whole request (503
// shed, 504 deadline) and the monitor counts an RPC error instead of a vote.
EncodedReply encodeReply(Protocol protocol, const nlohmann::json& batch_id,
                         const std::vector<ItemAnswer>& answers, const AgentIdentity& agent,
                         bool deadline_expired);

// A reply as the client reads it: one verifier's statement about the item it asked about.
struct ReplyVote {
  VerifierVote::Outcome outcome = VerifierVote::Outcome::kUnknown;
  int http_code = 0;
  ErrorCode error = ErrorCode::kNone;
  std::uint32_t rtt_ms = 0;
  std::string host;        // the verifier's reply host
  std::string vantage_id;  // as the verifier reports it ("" for legacy)
  std::string region;      // as the verifier reports it ("" for legacy)
};
// Throws std::runtime_error for a reply without a usable result for `request_id`.
ReplyVote decodeReply(Protocol protocol, std::string_view body, const std::string& request_id);

// Wire names: "up", "down", "timeout", "probe_error", "agent_overloaded", anything else
// unknown; "follow", "alert", "fail".
VerifierVote::Outcome outcomeNamed(std::string_view name);
std::string_view redirectPolicyName(RedirectPolicy policy);

// `bytes` random bytes from OpenSSL's CSPRNG as lower-case hex: request ids.
std::string randomHex(std::size_t bytes);

}  // namespace tidewatch::services
