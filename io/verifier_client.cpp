// The monitor's side of remote verification (compat §6.2–6.4; docs/verifier.md).
//
// One escalation = one HTTP POST to every configured verifier that is not cooling down, all in
// parallel on the event loop, each bounded by the site's timeout + verification.
// extra_timeout_s. When every reply (or error) is in, the votes are de-duplicated by vantage
// and the decision is taken with the quorum, the min-healthy floor and deferral: a verifier
// outage defers the decision (retry later), it never becomes a false alarm (bug B3).
#include "io/verifier_client.h"

#include <algorithm>
#include <chrono>
#include <map>
#include <mutex>
#include <set>
#include <unordered_map>

#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>

#include "io/event_loop.h"
#include "io/verifier_http.h"

namespace tidewatch::io {
namespace {

using json = nlohmann::json;
using Clock = std::chrono::steady_clock;
using Ms = std::chrono::milliseconds;

// Cooldown after an RPC error, no result or a non-vote (compat §6.4): 30 s doubling to 2 min,
// forgotten 10 min after it expired, cleared by a healthy reply.
constexpr Ms kCooldownFirst{30'000};
constexpr Ms kCooldownMax{120'000};
constexpr Ms kForgetAfter{600'000};
// Deferral back-off per site: 15 s doubling to 2 min (the incident engine caps it at the
// site's interval).
constexpr Ms kDeferFirst{15'000};
constexpr Ms kDeferMax{120'000};
// Deferral state is per site; sites that stopped deferring are pruned once the map is big.
constexpr std::size_t kDeferPruneAt = 100'000;

std::string metricSegment(const std::string& s) {
  std::string out = s;
  for (char& c : out)
    if (c == '.' || c == ':' || c == '-' || c == '/' || c == ' ') c = '_';
  return out;
}

const char* redirectName(RedirectPolicy p) {
  switch (p) {
    case RedirectPolicy::kAlert: return "alert";
    case RedirectPolicy::kFail: return "fail";
    case RedirectPolicy::kFollow: break;
  }
  return "follow";
}

VerifierVote::Outcome outcomeOf(const std::string& s) {
  if (s == "up") return VerifierVote::Outcome::kUp;
  if (s == "down") return VerifierVote::Outcome::kDown;
  if (s == "timeout") return VerifierVote::Outcome::kTimeout;
  if (s == "probe_error") return VerifierVote::Outcome::kProbeError;
  if (s == "agent_overloaded") return VerifierVote::Outcome::kOverloaded;
  return VerifierVote::Outcome::kUnknown;
}

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

struct HostMetrics {
  std::atomic<std::uint64_t>* rpc_success;
  std::atomic<std::uint64_t>* rpc_error;
  std::atomic<std::uint64_t>* confirm_down;
  std::atomic<std::uint64_t>* disagree;
  std::atomic<std::uint64_t>* cooldown;
  std::atomic<std::int64_t>* rpc_duration;
};

struct VerifierState {
  Clock::time_point cooldown_until{};  // epoch = not cooling down
  Ms next_cooldown{kCooldownFirst};
};

struct DeferState {
  int deferrals = 0;
  Clock::time_point last{};
};

// Everything an in-flight escalation needs, shared so the client may go away first.
struct Shared {
  Config config;  // a copy: the daemon's Config may be reloaded
  asio::io_context& io;
  EventLoop& loop;
  Metrics& metrics;
  std::vector<HostMetrics> host_metrics;
  std::atomic<std::uint64_t>& rpc_success;
  std::atomic<std::uint64_t>& rpc_error;
  std::atomic<std::int64_t>& rpc_duration;
  std::atomic<std::uint64_t>& vote_confirm;
  std::atomic<std::uint64_t>& vote_disagree;
  std::atomic<std::uint64_t>& vote_duplicate;
  std::atomic<std::uint64_t>& vote_non_vote;
  // The incident engine owns detection.verifier.{escalation,no_clients,deferred,false_alarm}
  // and the healthy/confirmations/quorum gauges (it adds the per-class variants); the client
  // counts only what the engine cannot see: why a decision was deferred, and quorum met.
  std::atomic<std::uint64_t>& quorum_met;
  std::atomic<std::uint64_t>& insufficient_healthy;
  std::atomic<std::uint64_t>& cooldown_skipped;

  std::mutex mu;
  std::vector<VerifierState> verifiers;
  std::unordered_map<std::uint64_t, DeferState> defer;

  Shared(const Config& c, EventLoop& l, Metrics& m)
      : config(c),
        io(ioContextOf(l)),
        loop(l),
        metrics(m),
        rpc_success(m.counter("verifier.rpc.success.count")),
        rpc_error(m.counter("verifier.rpc.error.count")),
        rpc_duration(m.gauge("verifier.rpc.duration")),
        vote_confirm(m.counter("verifier.vote.confirm_down.count")),
        vote_disagree(m.counter("verifier.vote.disagree.count")),
        vote_duplicate(m.counter("verifier.vote.duplicate_identity.count")),
        vote_non_vote(m.counter("verifier.vote.non_vote.count")),
        quorum_met(m.counter("detection.verifier.quorum_met.count")),
        insufficient_healthy(m.counter("detection.verifier.insufficient_healthy.count")),
        cooldown_skipped(m.counter("detection.verifier.cooldown_skipped.count")),
        verifiers(c.verifiers.size()) {
    for (const auto& v : config.verifiers) {
      std::string p = "verifier.host." + metricSegment(v.host + "_" + std::to_string(v.port)) + ".";
      host_metrics.push_back({&m.counter(p + "rpc.success.count"), &m.counter(p + "rpc.error.count"),
                              &m.counter(p + "vote.confirm_down.count"), &m.counter(p + "vote.disagree.count"),
                              &m.counter(p + "cooldown.count"), &m.gauge(p + "rpc.duration")});
    }
  }

  int minHealthyFloor() const {
    const auto& v = config.verification;
    if (v.min_healthy >= 0) return v.min_healthy;
    std::size_t n = config.verifiers.size();
    if (n == 0) return 0;
    if (n == 1 || v.peer_offline_limit <= 1) return 1;
    return 2;
  }
};

// One escalation in flight.
struct Escalation {
  std::shared_ptr<Shared> shared;
  std::uint64_t target_id = 0;
  std::string request_id;
  std::mutex mu;
  std::vector<VerifierVote> votes;
  std::vector<bool> skipped;  // cooling down: not contacted
  std::vector<std::string> reply_regions;
  std::size_t pending = 0;
  std::function<void(Verification)> done;
};

void decide(const std::shared_ptr<Escalation>& e);

void onReply(const std::shared_ptr<Escalation>& e, std::size_t index, const HttpCallResult& r) {
  Shared& s = *e->shared;
  const VerifierEndpoint& ep = s.config.verifiers[index];
  VerifierVote vote;
  vote.verifier = ep.name;
  std::string region = ep.region;
  std::string reply_vantage;
  bool rpc_ok = false;
  if (!r.completed) {
    vote.outcome = VerifierVote::Outcome::kRpcError;
    vote.detail = r.error;
  } else if (r.status != 200) {
    vote.outcome = r.status == 503 ? VerifierVote::Outcome::kOverloaded : VerifierVote::Outcome::kRpcError;
    vote.detail = "HTTP " + std::to_string(r.status) + (r.body.empty() ? "" : ": " + r.body.substr(0, 200));
  } else {
    try {
      json body = json::parse(r.body);
      const json* item = nullptr;
      if (ep.protocol == "legacy") {
        auto it = body.find("results");
        if (it != body.end() && it->is_array() && !it->empty()) item = &(*it)[0];
        if (item == nullptr || !item->is_object()) throw std::runtime_error("no result in the reply");
        bool success = item->value("Success", false);
        vote.http_code = static_cast<int>(num(*item, "HTTPCode"));
        vote.error = static_cast<ErrorCode>(std::clamp<std::int64_t>(num(*item, "ErrorCode"), 0, 9));
        vote.rtt_ms = static_cast<std::uint32_t>(std::max<std::int64_t>(0, num(*item, "RTTMs")));
        vote.host = str(*item, "Host");
        // Probe safety (code 9) means the verifier refused to look: not a statement about the site.
        if (vote.error == ErrorCode::kProbeSafety) vote.outcome = VerifierVote::Outcome::kProbeError;
        else vote.outcome = success ? VerifierVote::Outcome::kUp : VerifierVote::Outcome::kDown;
      } else {
        auto it = body.find("results");
        if (it != body.end() && it->is_array()) {
          for (const auto& res : *it)
            if (res.is_object() && str(res, "request_id") == e->request_id) item = &res;
          if (item == nullptr && it->size() == 1 && (*it)[0].is_object()) item = &(*it)[0];
        }
        if (item == nullptr) throw std::runtime_error("no result for our request_id");
        vote.outcome = outcomeOf(str(*item, "outcome"));
        vote.http_code = static_cast<int>(num(*item, "http_code"));
        vote.error = static_cast<ErrorCode>(std::clamp<std::int64_t>(num(*item, "error_code"), 0, 9));
        vote.rtt_ms = static_cast<std::uint32_t>(std::max<std::int64_t>(0, num(*item, "rtt_ms")));
        vote.host = str(*item, "host");
        reply_vantage = str(*item, "vantage_id");
        if (auto v = body.find("vantage"); v != body.end() && v->is_object()) {
          if (reply_vantage.empty()) reply_vantage = str(*v, "id");
          if (region.empty()) region = str(*v, "region");
        }
        if (auto a = body.find("agent"); vote.host.empty() && a != body.end() && a->is_object()) vote.host = str(*a, "host");
      }
      rpc_ok = true;
    } catch (const std::exception& ex) {
      vote.outcome = VerifierVote::Outcome::kRpcError;
      vote.detail = std::string("bad reply: ") + ex.what();
    }
  }
  vote.region = region;
  // Vote identity: the configured vantage, else what the verifier reports, else its host
  // name, else its address (compat §6.4).
  vote.vantage_id = !ep.vantage_id.empty() ? ep.vantage_id
                    : !reply_vantage.empty() ? reply_vantage
                    : !vote.host.empty()     ? vote.host
                                             : ep.host + ":" + std::to_string(ep.port);

  HostMetrics& hm = s.host_metrics[index];
  (rpc_ok ? s.rpc_success : s.rpc_error).fetch_add(1, std::memory_order_relaxed);
  (rpc_ok ? hm.rpc_success : hm.rpc_error)->fetch_add(1, std::memory_order_relaxed);
  s.rpc_duration.store(r.elapsed_ms, std::memory_order_relaxed);
  hm.rpc_duration->store(r.elapsed_ms, std::memory_order_relaxed);
  if (!vote.isVote()) {
    s.vote_non_vote.fetch_add(1, std::memory_order_relaxed);
    spdlog::debug("verifier {}: no vote for request {} ({}: {})", ep.name, e->request_id, toString(vote.outcome),
                  vote.detail);
  }

  // Health bookkeeping.
  {
    std::lock_guard lock(s.mu);
    VerifierState& st = s.verifiers[index];
    auto now = Clock::now();
    if (vote.isVote()) {
      st.cooldown_until = {};
      st.next_cooldown = kCooldownFirst;
    } else {
      if (st.cooldown_until != Clock::time_point{} && now > st.cooldown_until + kForgetAfter)
        st.next_cooldown = kCooldownFirst;
      st.cooldown_until = now + st.next_cooldown;
      st.next_cooldown = std::min(kCooldownMax, st.next_cooldown * 2);
      hm.cooldown->fetch_add(1, std::memory_order_relaxed);
    }
  }

  bool last;
  {
    std::lock_guard lock(e->mu);
    e->votes[index] = std::move(vote);
    last = --e->pending == 0;
  }
  if (last) decide(e);
}

// "confirmed in us-east; up in eu-west" when regions disagree, "" when every region agrees
// (or only one region voted).
std::string regionalOutcome(const std::vector<const VerifierVote*>& counted) {
  std::map<std::string, std::pair<int, int>> by_region;  // region -> (down, up)
  for (const VerifierVote* v : counted) {
    auto& c = by_region[v->region.empty() ? "unknown-region" : v->region];
    (v->outcome == VerifierVote::Outcome::kDown ? c.first : c.second)++;
  }
  std::set<std::string> labels;
  std::string out;
  for (const auto& [r, c] : by_region) {
    std::string label = c.second == 0 ? "confirmed" : c.first == 0 ? "up" : "split";
    labels.insert(label);
    if (!out.empty()) out += "; ";
    out += label + " in " + r;
    if (label == "split") out += " (" + std::to_string(c.first) + " down, " + std::to_string(c.second) + " up)";
  }
  return labels.size() > 1 ? out : "";
}

void decide(const std::shared_ptr<Escalation>& e) {
  Shared& s = *e->shared;
  Verification v;
  v.votes = e->votes;
  std::set<std::string> seen;
  std::vector<const VerifierVote*> counted;
  bool all_skipped = !e->skipped.empty();
  for (std::size_t i = 0; i < v.votes.size(); ++i) {
    all_skipped = all_skipped && e->skipped[i];
    const VerifierVote& vote = v.votes[i];
    if (!vote.isVote()) continue;
    if (!seen.insert(vote.vantage_id).second) {
      s.vote_duplicate.fetch_add(1, std::memory_order_relaxed);
      continue;
    }
    counted.push_back(&vote);
    bool down = vote.outcome == VerifierVote::Outcome::kDown;
    if (down) ++v.confirmations;
    (down ? s.vote_confirm : s.vote_disagree).fetch_add(1, std::memory_order_relaxed);
    (down ? s.host_metrics[i].confirm_down : s.host_metrics[i].disagree)->fetch_add(1, std::memory_order_relaxed);
  }
  v.healthy = static_cast<int>(counted.size());
  const int floor = s.minHealthyFloor();
  v.quorum = std::max({std::min(s.config.verification.peer_offline_limit, v.healthy), 1, floor});
  // healthy == 0 always defers, even with min_healthy: 0 — no answer is never a verdict (B3).
  bool defer = all_skipped || v.healthy < floor || v.healthy == 0;
  {
    std::lock_guard lock(s.mu);
    auto now = Clock::now();
    if (defer) {
      DeferState& d = s.defer[e->target_id];
      if (d.last != Clock::time_point{} && now - d.last > kForgetAfter) d.deferrals = 0;
      Ms backoff = kDeferFirst;
      for (int i = 0; i < d.deferrals && backoff < kDeferMax; ++i) backoff *= 2;
      v.retry_after_ms = std::min(backoff, kDeferMax).count();
      d.deferrals++;
      d.last = now;
    } else {
      s.defer.erase(e->target_id);
    }
    if (s.defer.size() > kDeferPruneAt) {
      for (auto it = s.defer.begin(); it != s.defer.end();)
        it = now - it->second.last > kForgetAfter ? s.defer.erase(it) : std::next(it);
    }
  }
  if (defer) {
    v.decision = Verification::Decision::kDeferred;
    if (all_skipped) s.cooldown_skipped.fetch_add(1, std::memory_order_relaxed);
    else s.insufficient_healthy.fetch_add(1, std::memory_order_relaxed);
  } else if (v.confirmations >= v.quorum) {
    v.decision = Verification::Decision::kConfirmed;
    s.quorum_met.fetch_add(1, std::memory_order_relaxed);
  } else {
    v.decision = Verification::Decision::kDisagreed;
  }
  if (!defer) v.regional_outcome = regionalOutcome(counted);
  spdlog::debug("verification {} target {}: {} (healthy {}, confirmations {}, quorum {}{})", e->request_id, e->target_id,
                toString(v.decision), v.healthy, v.confirmations, v.quorum,
                v.regional_outcome.empty() ? "" : "; " + v.regional_outcome);
  auto done = std::move(e->done);
  try {
    done(std::move(v));
  } catch (const std::exception& ex) {
    spdlog::error("verification callback threw: {}", ex.what());
  } catch (...) {
    spdlog::error("verification callback threw");
  }
}

std::string requestBody(const VerifierEndpoint& ep, const Target& t, const std::string& request_id,
                        std::int64_t timeout_ms, std::int64_t deadline_ms) {
  const SiteConfig& c = t.config ? *t.config : *defaultSiteConfig();
  json headers = json::object();
  for (const auto& [k, v] : c.custom_headers) headers[k] = v;
  if (ep.protocol == "legacy") {
    json site = {{"BlogID", t.blog_id},
                 {"URL", t.url},
                 {"TimeoutSeconds", (timeout_ms + 999) / 1000},
                 {"Keyword", c.check_keyword},
                 {"ForbiddenKeyword", ""},
                 {"ForbiddenKeywords", c.forbidden_keywords},
                 {"CustomHeaders", headers},
                 {"RedirectPolicy", redirectName(c.redirect_policy)},
                 {"RequestID", request_id}};
    return json{{"sites", json::array({site})}}.dump(-1, ' ', false, json::error_handler_t::replace);
  }
  json rules = {{"required", c.check_keyword.empty() ? json::array() : json::array({c.check_keyword})},
                {"forbidden", c.forbidden_keywords}};
  json req = {{"request_id", request_id},
              {"blog_id", t.blog_id},
              {"url", t.url},
              {"timeout_ms", timeout_ms},
              {"method", c.method == HttpMethod::kHead ? "HEAD" : "GET"},
              {"headers", headers},
              {"body_rules", rules},
              {"redirect_policy", redirectName(c.redirect_policy)}};
  return json{{"batch_id", request_id}, {"deadline_ms", deadline_ms}, {"requests", json::array({req})}}.dump(-1, ' ', false, json::error_handler_t::replace);
}

class HttpVerifierClient final : public VerifierClient {
 public:
  HttpVerifierClient(const Config& config, EventLoop& loop, Metrics& metrics)
      : shared_(std::make_shared<Shared>(config, loop, metrics)) {}

  std::size_t configured() const override { return shared_->config.verifiers.size(); }

  void verify(const TargetPtr& target, const ProbeResult& local, std::function<void(Verification)> done) override {
    Shared& s = *shared_;
    if (s.config.verifiers.empty()) {
      s.loop.post([done = std::move(done)] {
        Verification v;
        v.decision = Verification::Decision::kNoVerifiers;
        done(std::move(v));
      });
      return;
    }
    auto e = std::make_shared<Escalation>();
    e->shared = shared_;
    e->target_id = target ? target->id : 0;
    e->request_id = randomHex(16);
    e->done = std::move(done);
    const std::size_t n = s.config.verifiers.size();
    e->votes.resize(n);
    e->skipped.assign(n, false);

    int site_timeout_s = (target && target->config && target->config->timeout_seconds > 0)
                             ? target->config->timeout_seconds
                             : std::max(1, s.config.probe.default_timeout_s);
    std::int64_t timeout_ms = site_timeout_s * 1000LL;
    Ms deadline{timeout_ms + std::max(0, s.config.verification.extra_timeout_s) * 1000LL};

    std::vector<std::size_t> contact;
    {
      std::lock_guard lock(s.mu);
      auto now = Clock::now();
      for (std::size_t i = 0; i < n; ++i) {
        const VerifierState& st = s.verifiers[i];
        if (st.cooldown_until != Clock::time_point{} && now < st.cooldown_until) {
          e->skipped[i] = true;
          VerifierVote& vote = e->votes[i];
          vote.outcome = VerifierVote::Outcome::kRpcError;
          vote.verifier = s.config.verifiers[i].name;
          vote.region = s.config.verifiers[i].region;
          vote.detail = "skipped: cooling down for " +
                        std::to_string(std::chrono::duration_cast<Ms>(st.cooldown_until - now).count()) + " ms";
        } else {
          contact.push_back(i);
        }
      }
      e->pending = contact.size();
    }
    if (contact.empty()) {
      s.loop.post([e] { decide(e); });
      return;
    }
    if (!target) {
      // No target, nothing to ask: answer as if every verifier errored (a programming error
      // upstream, but never a crash or a verdict).
      s.loop.post([e, contact] {
        for (std::size_t i : contact) onReply(e, i, HttpCallResult{false, false, "no target", 0, {}, 0});
      });
      return;
    }
    for (std::size_t i : contact) {
      const VerifierEndpoint& ep = s.config.verifiers[i];
      HttpCall call;
      call.method = "POST";
      call.host = ep.host;
      call.port = ep.port;
      call.target = ep.protocol == "legacy" ? "/check" : "/v2/check";
      call.headers = {{"Content-Type", "application/json"},
                      {"Accept", "application/json"},
                      {"Authorization", "Bearer " + ep.auth_token}};
      call.body = requestBody(ep, *target, e->request_id, timeout_ms, deadline.count());
      call.timeout = deadline;
      httpCall(s.io, std::move(call), [e, i](HttpCallResult r) { onReply(e, i, r); });
    }
    (void)local;
  }

 private:
  std::shared_ptr<Shared> shared_;
};

}  // namespace

std::unique_ptr<VerifierClient> makeVerifierClient(const Config& config, EventLoop& loop, Metrics& metrics) {
  return std::make_unique<HttpVerifierClient>(config, loop, metrics);
}

}  // namespace tidewatch::io
