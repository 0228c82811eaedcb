#include "services/verifier/client.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <asio/post.hpp>
#include <chrono>
#include <mutex>

#include "io/http/call.h"
#include "services/verifier/protocol.h"
#include "services/verifier/quorum.h"

namespace tidewatch::services {
namespace {

using Clock = std::chrono::steady_clock;
using Ms = std::chrono::milliseconds;

// Cooldown after an RPC error, no result or a non-vote (compat §6.4): 30 s doubling to 2 min,
// forgotten 10 min after it expired, cleared by a healthy reply.
constexpr Ms kCooldownFirst{30'000};
constexpr Ms kCooldownMax{120'000};
constexpr Ms kForgetAfter{600'000};

std::string metricSegment(const std::string& s) {
  std::string out = s;
  for (char& c : out)
    if (c == '.' || c == ':' || c == '-' || c == '/' || c == ' ') c = '_';
  return out;
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

// Everything an in-flight escalation needs, shared so the client may go away first.
struct Shared {
  VerifierClientOptions options;
  asio::io_context& io;
  Metrics& metrics;
  int min_healthy_floor;
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
  DeferralBook deferrals;

  Shared(VerifierClientOptions o, asio::io_context& io_, Metrics& m)
      : options(std::move(o)),
        io(io_),
        metrics(m),
        min_healthy_floor(minHealthyFloor(options.verification.min_healthy,
                                          options.verification.peer_offline_limit,
                                          options.verifiers.size())),
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
        verifiers(options.verifiers.size()) {
    for (const auto& v : options.verifiers) {
      std::string p = "verifier.host." + metricSegment(v.host + "_" + std::to_string(v.port)) + ".";
      host_metrics.push_back(
          {&m.counter(p + "rpc.success.count"), &m.counter(p + "rpc.error.count"),
           &m.counter(p + "vote.confirm_down.count"), &m.counter(p + "vote.disagree.count"),
           &m.counter(p + "cooldown.count"), &m.gauge(p + "rpc.duration")});
    }
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
  std::size_t pending = 0;
  std::function<void(Verification)> done;
};

void decideEscalation(const std::shared_ptr<Escalation>& e);

// One verifier's reply (or failure) as a vote, with its health bookkeeping.
void onReply(const std::shared_ptr<Escalation>& e, std::size_t index, const io::HttpCallResult& r) {
  Shared& s = *e->shared;
  const VerifierEndpoint& ep = s.options.verifiers[index];
  VerifierVote vote;
  vote.verifier = ep.name;
  vote.region = ep.region;
  std::string reply_vantage;
  bool rpc_ok = false;
  if (!r.completed) {
    vote.outcome = VerifierVote::Outcome::kRpcError;
    vote.detail = r.error;
  } else if (r.status != 200) {
    vote.outcome =
        r.status == 503 ? VerifierVote::Outcome::kOverloaded : VerifierVote::Outcome::kRpcError;
    vote.detail =
        "HTTP " + std::to_string(r.status) + (r.body.empty() ? "" : ": " + r.body.substr(0, 200));
  } else {
    try {
      ReplyVote reply = decodeReply(protocolNamed(ep.protocol), r.body, e->request_id);
      vote.outcome = reply.outcome;
      vote.http_code = reply.http_code;
      vote.error = reply.error;
      vote.rtt_ms = reply.rtt_ms;
      vote.host = std::move(reply.host);
      reply_vantage = std::move(reply.vantage_id);
      if (vote.region.empty()) vote.region = std::move(reply.region);
      rpc_ok = true;
    } catch (const std::exception& ex) {
      vote.outcome = VerifierVote::Outcome::kRpcError;
      vote.detail = std::string("bad reply: ") + ex.what();
    }
  }
  // Vote identity: the configured vantage, else what the verifier reports, else its host
  // name, else its address (compat §6.4).
  vote.vantage_id = !ep.vantage_id.empty()   ? ep.vantage_id
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
    spdlog::debug("verifier {}: no vote for request {} ({}: {})", ep.name, e->request_id,
                  toString(vote.outcome), vote.detail);
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
  if (last) decideEscalation(e);
}

void decideEscalation(const std::shared_ptr<Escalation>& e) {
  Shared& s = *e->shared;
  Verification v;
  v.votes = e->votes;
  Tally tally = tallyVotes(v.votes, e->skipped);
  if (tally.duplicates > 0) s.vote_duplicate.fetch_add(tally.duplicates, std::memory_order_relaxed);
  for (std::size_t i : tally.counted) {
    bool down = v.votes[i].outcome == VerifierVote::Outcome::kDown;
    (down ? s.vote_confirm : s.vote_disagree).fetch_add(1, std::memory_order_relaxed);
    (down ? s.host_metrics[i].confirm_down : s.host_metrics[i].disagree)
        ->fetch_add(1, std::memory_order_relaxed);
  }
  decide(v, tally, s.options.verification.peer_offline_limit, s.min_healthy_floor);
  const bool deferred = v.decision == Verification::Decision::kDeferred;
  {
    std::lock_guard lock(s.mu);
    if (deferred)
      v.retry_after_ms = s.deferrals.defer(e->target_id, Clock::now()).count();
    else
      s.deferrals.clear(e->target_id);
  }
  if (deferred)
    (tally.all_skipped ? s.cooldown_skipped : s.insufficient_healthy)
        .fetch_add(1, std::memory_order_relaxed);
  else if (v.decision == Verification::Decision::kConfirmed)
    s.quorum_met.fetch_add(1, std::memory_order_relaxed);
  spdlog::debug("verification {} target {}: {} (healthy {}, confirmations {}, quorum {}{})",
                e->request_id, e->target_id, toString(v.decision), v.healthy, v.confirmations,
                v.quorum, v.regional_outcome.empty() ? "" : "; " + v.regional_outcome);
  auto done = std::move(e->done);
  try {
    done(std::move(v));
  } catch (const std::exception& ex) {
    spdlog::error("verification callback threw: {}", ex.what());
  } catch (...) {
    spdlog::error("verification callback threw");
  }
}

class HttpVerifierClient final : public VerifierClient {
 public:
  HttpVerifierClient(VerifierClientOptions options, asio::io_context& io, Metrics& metrics)
      : shared_(std::make_shared<Shared>(std::move(options), io, metrics)) {}

  std::size_t configured() const override { return shared_->options.verifiers.size(); }

  void verify(const TargetPtr& target, const ProbeResult& local,
              std::function<void(Verification)> done) override {
    Shared& s = *shared_;
    if (s.options.verifiers.empty()) {
      asio::post(s.io, [done = std::move(done)] {
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
    const std::size_t n = s.options.verifiers.size();
    e->votes.resize(n);
    e->skipped.assign(n, false);

    int site_timeout_s = (target && target->config && target->config->timeout_seconds > 0)
                             ? target->config->timeout_seconds
                             : std::max(1, s.options.default_timeout_s);
    std::int64_t timeout_ms = site_timeout_s * 1000LL;
    Ms deadline{timeout_ms + std::max(0, s.options.verification.extra_timeout_s) * 1000LL};

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
          vote.verifier = s.options.verifiers[i].name;
          vote.region = s.options.verifiers[i].region;
          vote.detail =
              "skipped: cooling down for " +
              std::to_string(std::chrono::duration_cast<Ms>(st.cooldown_until - now).count()) +
              " ms";
        } else {
          contact.push_back(i);
        }
      }
      e->pending = contact.size();
    }
    if (contact.empty()) {
      asio::post(s.io, [e] { decideEscalation(e); });
      return;
    }
    if (!target) {
      // No target, nothing to ask: answer as if every verifier errored (a programming error
      // upstream, but never a crash or a verdict).
      asio::post(s.io, [e, contact] {
        for (std::size_t i : contact)
          onReply(e, i, io::HttpCallResult{false, false, "no target", 0, {}, 0});
      });
      return;
    }
    CheckRequest request;
    request.batch_id = e->request_id;
    request.deadline_ms = deadline.count();
    CheckItem& item = request.items.emplace_back();
    item.request_id = e->request_id;
    item.blog_id = target->blog_id;
    item.url = target->url;
    item.timeout_ms = timeout_ms;
    item.rules = target->config ? *target->config : *defaultSiteConfig();
    for (std::size_t i : contact) {
      const VerifierEndpoint& ep = s.options.verifiers[i];
      const Protocol protocol = protocolNamed(ep.protocol);
      io::HttpCall call;
      call.method = "POST";
      call.host = ep.host;
      call.port = ep.port;
      call.target = std::string(checkPath(protocol));
      call.headers = {{"Content-Type", "application/json"},
                      {"Accept", "application/json"},
                      {"Authorization", "Bearer " + ep.auth_token}};
      call.body = encodeRequest(protocol, request);
      call.timeout = deadline;
      io::httpCall(s.io, std::move(call), [e, i](io::HttpCallResult r) { onReply(e, i, r); });
    }
    (void)local;
  }

 private:
  std::shared_ptr<Shared> shared_;
};

}  // namespace

VerifierClientOptions verifierClientOptions(const Config& config) {
  VerifierClientOptions o;
  o.verifiers = config.verifiers;
  o.verification = config.verification;
  o.default_timeout_s = config.probe.default_timeout_s;
  return o;
}

std::unique_ptr<VerifierClient> makeVerifierClient(VerifierClientOptions options,
                                                   asio::io_context& io, Metrics& metrics) {
  return std::make_unique<HttpVerifierClient>(std::move(options), io, metrics);
}

}  // namespace tidewatch::services
