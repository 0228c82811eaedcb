#include "services/verifier/protocol.h"

#include <openssl/rand.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <stdexcept>

#include "core/text.h"

namespace tidewatch::services {

using json = nlohmann::json;

namespace {

std::string dump(const json& j) {
  return j.dump(-1, ' ', false, json::error_handler_t::replace);
}

// ---- request decoding (the service) ------------------------------------------------------

// Member lookup; legacy names match case-insensitively, as Go's encoding/json does (an exact
// match wins).
const json* member(const json& obj, std::string_view key, bool case_insensitive) {
  if (!case_insensitive) {
    auto it = obj.find(std::string(key));
    return it == obj.end() ? nullptr : &*it;
  }
  const json* found = nullptr;
  for (auto it = obj.begin(); it != obj.end(); ++it) {
    if (!iequals(it.key(), key)) continue;
    if (it.key() == key) return &*it;
    if (found == nullptr) found = &*it;
  }
  return found;
}

[[noreturn]] void refuse(std::string reason) {
  throw ProtocolError{400, std::move(reason)};
}

// Typed access to one JSON object's fields; errors name the field's path.
struct Fields {
  const json& obj;
  std::string path;
  bool ci;

  const json* get(std::string_view key) const {
    const json* v = member(obj, key, ci);
    return (v == nullptr || v->is_null()) ? nullptr : v;
  }
  std::string where(std::string_view key) const { return path + "." + std::string(key); }
  std::string str(std::string_view key) const {
    const json* v = get(key);
    if (v == nullptr) return "";
    if (!v->is_string()) refuse(where(key) + ": must be a string");
    return v->get<std::string>();
  }
  std::int64_t num(std::string_view key, std::int64_t def = 0) const {
    const json* v = get(key);
    if (v == nullptr) return def;
    if (v->is_number_integer()) return v->get<std::int64_t>();
    if (v->is_number_float()) return static_cast<std::int64_t>(v->get<double>());
    refuse(where(key) + ": must be a number");
  }
  std::vector<std::string> strList(std::string_view key) const {
    std::vector<std::string> out;
    const json* v = get(key);
    if (v == nullptr) return out;
    if (!v->is_array()) refuse(where(key) + ": must be a list of strings");
    for (const auto& e : *v) {
      if (!e.is_string()) refuse(where(key) + ": must be a list of strings");
      out.push_back(e.get<std::string>());
    }
    return out;
  }
  // {"Name": "value"} or [["Name","value"]] or ["Name: value"].
  std::vector<std::pair<std::string, std::string>> headers(std::string_view key) const {
    std::vector<std::pair<std::string, std::string>> out;
    const json* v = get(key);
    if (v == nullptr) return out;
    const std::string at = where(key);
    if (v->is_object()) {
      for (auto it = v->begin(); it != v->end(); ++it) {
        if (!it->is_string()) refuse(at + ": header values must be strings");
        out.emplace_back(it.key(), it->get<std::string>());
      }
    } else if (v->is_array()) {
      for (const auto& e : *v) {
        if (e.is_array() && e.size() == 2 && e[0].is_string() && e[1].is_string()) {
          out.emplace_back(e[0].get<std::string>(), e[1].get<std::string>());
        } else if (e.is_string()) {
          std::string line = e.get<std::string>();
          auto colon = line.find(':');
          if (colon == std::string::npos) refuse(at + ": expected 'Name: value'");
          out.emplace_back(std::string(trimSpace(std::string_view(line).substr(0, colon))),
                           std::string(trimSpace(std::string_view(line).substr(colon + 1))));
        } else {
          refuse(at + ": must be an object of strings");
        }
      }
    } else {
      refuse(at + ": must be an object of strings");
    }
    for (const auto& [k, val] : out) {
      // Header injection: a CR or LF would let a caller smuggle requests through the probe.
      if (k.find_first_of("\r\n:") != std::string::npos ||
          val.find_first_of("\r\n") != std::string::npos)
        refuse(at + ": header names and values must not contain CR, LF (or ':' in names)");
    }
    return out;
  }
};

RedirectPolicy redirectPolicyOf(std::string_view text, const std::string& path) {
  if (text.empty() || iequals(text, "follow")) return RedirectPolicy::kFollow;
  if (iequals(text, "alert")) return RedirectPolicy::kAlert;
  if (iequals(text, "fail")) return RedirectPolicy::kFail;
  refuse(path + ": must be follow, alert or fail");
}

CheckItem decodeV2Item(const json& e, const std::string& path) {
  if (!e.is_object()) refuse(path + ": must be an object");
  Fields f{e, path, false};
  CheckItem item;
  item.request_id = f.str("request_id");
  item.blog_id = static_cast<std::uint64_t>(std::max<std::int64_t>(0, f.num("blog_id")));
  item.url = f.str("url");
  item.timeout_ms = f.num("timeout_ms");
  if (item.url.empty()) refuse(path + ".url: is required");
  SiteConfig& cfg = item.rules;
  std::string method = f.str("method");
  if (iequals(method, "head"))
    cfg.method = HttpMethod::kHead;
  else if (!method.empty() && !iequals(method, "get"))
    refuse(path + ".method: must be GET or HEAD");
  cfg.custom_headers = f.headers("headers");
  cfg.redirect_policy = redirectPolicyOf(f.str("redirect_policy"), path + ".redirect_policy");
  if (const json* rules = f.get("body_rules")) {
    if (!rules->is_object()) refuse(path + ".body_rules: must be an object");
    Fields r{*rules, path + ".body_rules", false};
    std::vector<std::string> required = r.strList("required");
    if (required.size() > 1)
      refuse(path + ".body_rules.required: at most one keyword is supported");
    if (!required.empty()) cfg.check_keyword = required.front();
    cfg.forbidden_keywords = r.strList("forbidden");
  }
  return item;
}

CheckItem decodeLegacyItem(const json& e, const std::string& path) {
  if (!e.is_object()) refuse(path + ": must be an object");
  Fields f{e, path, true};
  CheckItem item;
  item.request_id = f.str("RequestID");
  item.blog_id = static_cast<std::uint64_t>(std::max<std::int64_t>(0, f.num("BlogID")));
  item.url = f.str("URL");
  item.timeout_ms = f.num("TimeoutSeconds") * 1000;
  if (item.url.empty()) refuse(path + ".URL: is required");
  SiteConfig& cfg = item.rules;
  cfg.check_keyword = f.str("Keyword");
  std::string one = f.str("ForbiddenKeyword");
  if (!one.empty()) cfg.forbidden_keywords.push_back(one);
  for (auto& k : f.strList("ForbiddenKeywords"))
    if (!k.empty()) cfg.forbidden_keywords.push_back(std::move(k));
  cfg.custom_headers = f.headers("CustomHeaders");
  cfg.redirect_policy = redirectPolicyOf(f.str("RedirectPolicy"), path + ".RedirectPolicy");
  return item;
}

// ---- reply decoding (the client) ---------------------------------------------------------

std::string str(const json& obj, const char* key) {
  auto it = obj.find(key);
  return (it != obj.end() && it->is_string()) ? it->get<std::string>() : std::string();
}

std::int64_t num(const json& obj, const char* key) {
  auto it = obj.find(key);
  if (it == obj.end()) return 0;
  if (it->is_number_integer()) return it->get<std::int64_t>();
  if (it->is_number_float()) return static_cast<std::int64_t>(it->get<double>());
  return 0;
}

ErrorCode errorCodeOf(std::int64_t code) {
  return static_cast<ErrorCode>(std::clamp<std::int64_t>(code, 0, 9));
}

std::uint32_t rttOf(std::int64_t ms) {
  return static_cast<std::uint32_t>(std::max<std::int64_t>(0, ms));
}

}  // namespace

std::string_view checkPath(Protocol protocol) {
  return protocol == Protocol::kLegacy ? "/check" : "/v2/check";
}

std::optional<Protocol> protocolOfPath(std::string_view path) {
  if (path == "/v2/check") return Protocol::kV2;
  if (path == "/check") return Protocol::kLegacy;
  return std::nullopt;
}

Protocol protocolNamed(std::string_view name) {
  return name == "legacy" ? Protocol::kLegacy : Protocol::kV2;
}

VerifierVote::Outcome outcomeNamed(std::string_view s) {
  using O = VerifierVote::Outcome;
  for (O o : {O::kUp, O::kDown, O::kTimeout, O::kProbeError, O::kOverloaded}) {
    if (s == toString(o)) return o;
  }
  return O::kUnknown;
}

std::string_view redirectPolicyName(RedirectPolicy p) {
  switch (p) {
    case RedirectPolicy::kAlert:
      return "alert";
    case RedirectPolicy::kFail:
      return "fail";
    case RedirectPolicy::kFollow:
      break;
  }
  return "follow";
}

std::string encodeRequest(Protocol protocol, const CheckRequest& request) {
  json items = json::array();
  for (const CheckItem& item : request.items) {
    const SiteConfig& c = item.rules;
    json headers = json::object();
    for (const auto& [k, v] : c.custom_headers) headers[k] = v;
    if (protocol == Protocol::kLegacy) {
      items.push_back({{"BlogID", item.blog_id},
                       {"URL", item.url},
                       {"TimeoutSeconds", (item.timeout_ms + 999) / 1000},
                       {"Keyword", c.check_keyword},
                       {"ForbiddenKeyword", ""},
                       {"ForbiddenKeywords", c.forbidden_keywords},
                       {"CustomHeaders", headers},
                       {"RedirectPolicy", redirectPolicyName(c.redirect_policy)},
                       {"RequestID", item.request_id}});
      continue;
    }
    json rules = {
        {"required", c.check_keyword.empty() ? json::array() : json::array({c.check_keyword})},
        {"forbidden", c.forbidden_keywords}};
    items.push_back({{"request_id", item.request_id},
                     {"blog_id", item.blog_id},
                     {"url", item.url},
                     {"timeout_ms", item.timeout_ms},
                     {"method", c.method == HttpMethod::kHead ? "HEAD" : "GET"},
                     {"headers", headers},
                     {"body_rules", rules},
                     {"redirect_policy", redirectPolicyName(c.redirect_policy)}});
  }
  if (protocol == Protocol::kLegacy) return dump(json{{"sites", std::move(items)}});
  return dump(json{{"batch_id", request.batch_id},
                   {"deadline_ms", request.deadline_ms},
                   {"requests", std::move(items)}});
}

CheckRequest decodeRequest(Protocol protocol, std::string_view body) {
  json doc;
  try {
    doc = json::parse(body);
  } catch (const json::exception& e) {
    refuse(std::string("bad JSON: ") + e.what());
  }
  if (!doc.is_object()) refuse("body must be a JSON object");
  CheckRequest request;
  if (protocol == Protocol::kLegacy) {
    const json* sites = member(doc, "sites", true);
    if (sites == nullptr || !sites->is_array()) refuse("sites: must be a list");
    for (std::size_t i = 0; i < sites->size(); ++i)
      request.items.push_back(decodeLegacyItem((*sites)[i], "sites[" + std::to_string(i) + "]"));
    return request;
  }
  const json* reqs = member(doc, "requests", false);
  if (reqs == nullptr || !reqs->is_array()) refuse("requests: must be a list");
  for (std::size_t i = 0; i < reqs->size(); ++i)
    request.items.push_back(decodeV2Item((*reqs)[i], "requests[" + std::to_string(i) + "]"));
  if (const json* id = member(doc, "batch_id", false)) request.batch_id = *id;
  request.deadline_ms = Fields{doc, "", false}.num("deadline_ms");
  return request;
}

json vantageJson(const AgentIdentity& a) {
  return {{"id", a.vantage_id}, {"region", a.region}, {"provider", ""}};
}

json agentJson(const AgentIdentity& a) {
  return {
      {"id", a.agent_id}, {"host", a.host}, {"version", a.version}, {"protocol", "v2-json-http"}};
}

EncodedReply encodeReply(Protocol protocol, const json& batch_id,
                         const std::vector<ItemAnswer>& answers, const AgentIdentity& agent,
                         bool deadline_expired) {
  using O = VerifierVote::Outcome;
  if (protocol == Protocol::kLegacy) {
    for (const ItemAnswer& a : answers) {
      if (a.outcome == O::kOverloaded) return {503, dump(json{{"error", "agent_overloaded"}})};
      if (a.outcome == O::kTimeout || a.result == nullptr)
        return {504, dump(json{{"error", "request deadline expired before the check completed"}})};
    }
    json results = json::array();
    for (const ItemAnswer& a : answers) {
      results.push_back({{"BlogID", a.item->blog_id},
                         {"URL", a.item->url},
                         {"Host", agent.host},
                         {"Success", a.success},
                         {"HTTPCode", a.result->http_code},
                         {"ErrorCode", static_cast<int>(a.result->error)},
                         {"RTTMs", a.result->timings.rtt_ms},
                         {"RequestID", a.item->request_id},
                         {"Outcome", toString(a.outcome)}});
    }
    return {200, dump(json{{"results", std::move(results)}})};
  }
  json results = json::array();
  for (const ItemAnswer& a : answers) {
    const ProbeResult* r = a.result;
    json j = {{"request_id", a.item->request_id},
              {"blog_id", a.item->blog_id},
              {"url", a.item->url},
              {"vantage_id", agent.vantage_id},
              {"agent_id", agent.agent_id},
              {"host", agent.host},
              {"outcome", toString(a.outcome)},
              {"success", r != nullptr && a.success},
              {"http_code", r ? r->http_code : 0},
              {"error_code", r ? static_cast<int>(r->error) : 0},
              {"rtt_ms", r ? r->timings.rtt_ms : 0}};
    if (r != nullptr) {
      const auto& t = r->timings;
      j["timings_ms"] = {
          {"dns", t.dns_ms}, {"tcp", t.tcp_ms}, {"tls", t.tls_ms}, {"ttfb", t.ttfb_ms}};
      if (!r->error_detail.empty()) j["error"] = r->error_detail;
    }
    results.push_back(std::move(j));
  }
  json body = {{"batch_id", batch_id},
               {"vantage", vantageJson(agent)},
               {"agent", agentJson(agent)},
               {"results", std::move(results)}};
  if (deadline_expired) body["deadline_expired"] = true;
  return {200, dump(body)};
}

ReplyVote decodeReply(Protocol protocol, std::string_view text, const std::string& request_id) {
  using O = VerifierVote::Outcome;
  json body = json::parse(text);
  ReplyVote vote;
  const json* item = nullptr;
  auto results = body.find("results");
  if (protocol == Protocol::kLegacy) {
    if (results != body.end() && results->is_array() && !results->empty()) item = &(*results)[0];
    if (item == nullptr || !item->is_object()) throw std::runtime_error("no result in the reply");
    bool success = item->value("Success", false);
    vote.http_code = static_cast<int>(num(*item, "HTTPCode"));
    vote.error = errorCodeOf(num(*item, "ErrorCode"));
    vote.rtt_ms = rttOf(num(*item, "RTTMs"));
    vote.host = str(*item, "Host");
    // Probe safety (code 9) means the verifier refused to look: not a statement about the site.
    if (vote.error == ErrorCode::kProbeSafety)
      vote.outcome = O::kProbeError;
    else
      vote.outcome = success ? O::kUp : O::kDown;
    return vote;
  }
  if (results != body.end() && results->is_array()) {
    for (const auto& res : *results)
      if (res.is_object() && str(res, "request_id") == request_id) item = &res;
    if (item == nullptr && results->size() == 1 && (*results)[0].is_object()) item = &(*results)[0];
  }
  if (item == nullptr) throw std::runtime_error("no result for our request_id");
  vote.outcome = outcomeNamed(str(*item, "outcome"));
  vote.http_code = static_cast<int>(num(*item, "http_code"));
  vote.error = errorCodeOf(num(*item, "error_code"));
  vote.rtt_ms = rttOf(num(*item, "rtt_ms"));
  vote.host = str(*item, "host");
  vote.vantage_id = str(*item, "vantage_id");
  if (auto v = body.find("vantage"); v != body.end() && v->is_object()) {
    if (vote.vantage_id.empty()) vote.vantage_id = str(*v, "id");
    vote.region = str(*v, "region");
  }
  if (auto a = body.find("agent"); vote.host.empty() && a != body.end() && a->is_object())
    vote.host = str(*a, "host");
  return vote;
}

std::string randomHex(std::size_t bytes) {
  std::vector<unsigned char> raw(bytes);
  if (RAND_bytes(raw.data(), static_cast<int>(raw.size())) != 1) {
    // The CSPRNG failing is practically impossible; a request id only needs to be unique
    // enough to correlate logs, so fall back to a counter mixed with the clock.
    static std::atomic<std::uint64_t> counter{0};
    std::uint64_t x =
        counter.fetch_add(1) ^
        static_cast<std::uint64_t>(std::chrono::steady_clock::now().time_since_epoch().count());
    for (std::size_t i = 0; i < bytes; ++i) raw[i] = static_cast<unsigned char>(x >> ((i % 8) * 8));
  }
  static const char* kHex = "0123456789abcdef";
  std::string out;
  out.reserve(bytes * 2);
  for (unsigned char c : raw) {
    out += kHex[c >> 4];
    out += kHex[c & 15];
  }
  return out;
}

}  // namespace tidewatch::services
