#include "services/verifier/server.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <asio/post.hpp>
#include <asio/steady_timer.hpp>
#include <atomic>
#include <mutex>
#include <nlohmann/json.hpp>
#include <stdexcept>

#include "core/text.h"
#include "io/http/server.h"
#include "io/net/host_name.h"
#include "services/verifier/admission.h"
#include "services/verifier/protocol.h"

namespace tidewatch::services {

using json = nlohmann::json;
using io::HttpReply;
using io::HttpRequestHead;
using io::HttpServer;
using Outcome = VerifierVote::Outcome;

bool secretEquals(std::string_view given, std::string_view expected) {
  unsigned char a[EVP_MAX_MD_SIZE] = {}, b[EVP_MAX_MD_SIZE] = {};
  unsigned int la = 0, lb = 0;
  bool ok = EVP_Digest(given.data(), given.size(), a, &la, EVP_sha256(), nullptr) == 1 &&
            EVP_Digest(expected.data(), expected.size(), b, &lb, EVP_sha256(), nullptr) == 1;
  // Both digests are always computed and compared in full: no early exit on a length or
  // content mismatch. An empty expected token never matches (the service refuses to start
  // without one, this is a second guard).
  bool same = CRYPTO_memcmp(a, b, 32) == 0;
  return ok && same && !expected.empty();
}

namespace {

std::string dump(const json& j) {
  return j.dump(-1, ' ', false, json::error_handler_t::replace);
}

// One check item of a batch, from decoding to its final answer.
struct Item {
  CheckItem check;
  TargetPtr target;
  enum class State : std::uint8_t { kWaiting, kQueued, kRunning, kDone } state = State::kWaiting;
  Outcome outcome = Outcome::kUnknown;  // final: up, down, timeout, probe_error, agent_overloaded
  bool has_result = false;
  ProbeResult result;
  Verdict verdict;
};

TargetPtr makeTarget(const CheckItem& item) {
  auto t = std::make_shared<Target>();
  t->blog_id = item.blog_id;
  t->id = item.blog_id;
  t->url = item.url;
  SiteConfig cfg = item.rules;
  if (item.timeout_ms > 0)
    cfg.timeout_seconds = static_cast<std::uint16_t>(
        std::clamp<std::int64_t>((item.timeout_ms + 999) / 1000, 1, 3600));
  t->config = std::make_shared<const SiteConfig>(std::move(cfg));
  return t;
}

}  // namespace

struct Batch;

struct VerifierServer::Impl : std::enable_shared_from_this<VerifierServer::Impl> {
  Impl(asio::io_context& io_, VerifierServerOptions o, Probe& p, ClassifyFn c, Metrics& m)
      : io(io_),
        options(std::move(o)),
        probe(p),
        classify(std::move(c)),
        metrics(m),
        admission(options.max_concurrency, options.queue_capacity),
        m_received(m.counter("verifier.checks.received.count")),
        m_completed(m.counter("verifier.checks.completed.count")),
        m_rejected(m.counter("verifier.checks.rejected.count")),
        m_auth_rejected(m.counter("verifier.auth.rejected.count")),
        m_duration_ms(m.counter("verifier.checks.duration.total_ms")),
        m_bad_requests(m.counter("verifier.requests.bad.count")) {}

  void listen();
  std::optional<HttpReply> onHead(const HttpRequestHead& head);
  void onRequest(const HttpRequestHead& head, std::string body, HttpServer::Responder responder);
  HttpReply refusal(int status, std::string reason);
  void admit(const std::shared_ptr<Batch>& batch);
  void startItem(const std::shared_ptr<Batch>& batch, std::size_t index);
  void onItemDone(const std::shared_ptr<Batch>& batch, std::size_t index, const CheckPtr& check);
  AgentIdentity identity() const;
  json statusObject() const;

  asio::io_context& io;
  VerifierServerOptions options;
  Probe& probe;
  ClassifyFn classify;
  Metrics& metrics;
  Admission admission;
  std::unique_ptr<HttpServer> http;
  std::atomic<std::uint64_t>& m_received;
  std::atomic<std::uint64_t>& m_completed;
  std::atomic<std::uint64_t>& m_rejected;
  std::atomic<std::uint64_t>& m_auth_rejected;
  std::atomic<std::uint64_t>& m_duration_ms;
  std::atomic<std::uint64_t>& m_bad_requests;
};

struct Batch : std::enable_shared_from_this<Batch> {
  Protocol protocol = Protocol::kV2;
  json batch_id;
  std::vector<Item> items;
  HttpServer::Responder responder{nullptr};
  std::shared_ptr<VerifierServer::Impl> server;
  std::unique_ptr<asio::steady_timer> deadline;
  std::mutex mu;
  std::size_t remaining = 0;
  bool answered = false;

  // Marks item `i` final; answers when every item is final. Caller holds no lock.
  void settle(std::size_t i, Outcome outcome, const ProbeResult* result, const Verdict* verdict) {
    std::unique_lock lock(mu);
    if (answered || items[i].state == Item::State::kDone) return;
    Item& it = items[i];
    it.state = Item::State::kDone;
    it.outcome = outcome;
    if (result) {
      it.has_result = true;
      it.result = *result;
      it.verdict = *verdict;
    }
    if (--remaining == 0) {
      answered = true;
      lock.unlock();
      answer(false);
    }
  }

  // The request deadline: whatever is not final now is answered as the agent's own timeout
  // (running) or overload (still queued). The running probes finish later and are discarded.
  void expire() {
    {
      std::lock_guard lock(mu);
      if (answered) return;
      answered = true;
      for (auto& it : items) {
        if (it.state == Item::State::kDone) continue;
        it.outcome = it.state == Item::State::kRunning ? Outcome::kTimeout : Outcome::kOverloaded;
        it.state = Item::State::kDone;
      }
    }
    server->admission.cancel(this);
    answer(true);
  }

  void answer(bool expired) {
    if (deadline) deadline->cancel();
    std::vector<ItemAnswer> answers;
    answers.reserve(items.size());
    for (const Item& it : items)
      answers.push_back({&it.check, it.outcome, it.has_result ? &it.result : nullptr,
                         it.has_result && it.verdict.success});
    EncodedReply reply = encodeReply(protocol, batch_id, answers, server->identity(), expired);
    responder.send(HttpReply{reply.status, "application/json", std::move(reply.body)});
  }
};

namespace {

// One probe in flight. The probe contract wants a ProbeCallback that outlives the check:
// this object owns itself and is deleted after the single callback.
class ItemCallback final : public ProbeCallback {
 public:
  ItemCallback(std::shared_ptr<Batch> batch, std::size_t index)
      : batch_(std::move(batch)), index_(index) {}
  void onProbeDone(CheckPtr check) override {
    auto server = batch_->server;
    try {
      server->onItemDone(batch_, index_, check);
    } catch (...) {
      // Never unwind into the probe's I/O thread.
    }
    delete this;
  }

 private:
  std::shared_ptr<Batch> batch_;
  std::size_t index_;
};

}  // namespace

HttpReply VerifierServer::Impl::refusal(int status, std::string reason) {
  if (status == 400 || status == 411 || status == 431)
    m_bad_requests.fetch_add(1, std::memory_order_relaxed);
  return HttpReply{status, "application/json", dump(json{{"error", std::move(reason)}})};
}

std::optional<HttpReply> VerifierServer::Impl::onHead(const HttpRequestHead& head) {
  if (head.path == "/status" || head.path == "/v2/status") {
    if (head.method != "GET" && head.method != "HEAD") return refusal(405, "GET only");
    return HttpReply{200, "application/json", dump(statusObject())};
  }
  if (!protocolOfPath(head.path))
    return refusal(404,
                   "no such endpoint (POST /v2/check, POST /check, GET /status, GET /v2/status)");
  if (head.method != "POST") return refusal(405, "POST only");
  std::string_view auth = head.header("authorization");
  std::string_view token;
  if (auth.size() > 7 && istartsWith(auth, "bearer ")) {
    token = auth.substr(7);
    while (!token.empty() && (token.front() == ' ' || token.front() == '\t'))
      token.remove_prefix(1);
  }
  if (!secretEquals(token, options.auth_token)) {
    m_auth_rejected.fetch_add(1, std::memory_order_relaxed);
    return refusal(401, token.empty() ? "missing bearer token" : "bad bearer token");
  }
  return std::nullopt;  // read the body
}

void VerifierServer::Impl::onRequest(const HttpRequestHead& head, std::string body,
                                     HttpServer::Responder responder) {
  auto batch = std::make_shared<Batch>();
  batch->protocol = *protocolOfPath(head.path);
  batch->responder = responder;
  batch->server = shared_from_this();
  CheckRequest request;
  try {
    request = decodeRequest(batch->protocol, body);
  } catch (const ProtocolError& e) {
    return responder.send(refusal(e.status, e.reason));
  }
  batch->batch_id = std::move(request.batch_id);
  for (CheckItem& c : request.items) {
    Item item;
    item.target = makeTarget(c);
    item.check = std::move(c);
    batch->items.push_back(std::move(item));
  }
  m_received.fetch_add(batch->items.size(), std::memory_order_relaxed);
  if (batch->items.empty()) {
    batch->answered = true;
    return batch->answer(false);
  }

  // Request deadline: configured, else the longest item timeout + 5 s; a smaller deadline
  // from the client wins (it stops waiting then anyway).
  std::int64_t longest_ms = 0;
  for (const auto& it : batch->items)
    longest_ms = std::max<std::int64_t>(longest_ms, it.check.timeout_ms > 0
                                                        ? it.check.timeout_ms
                                                        : options.default_timeout_s * 1000);
  std::int64_t deadline_ms =
      options.request_deadline_s > 0 ? options.request_deadline_s * 1000LL : longest_ms + 5000;
  if (request.deadline_ms > 0) deadline_ms = std::min(deadline_ms, request.deadline_ms);
  batch->remaining = batch->items.size();
  batch->deadline =
      std::make_unique<asio::steady_timer>(io, std::chrono::milliseconds(deadline_ms));
  std::weak_ptr<Batch> weak = batch;
  batch->deadline->async_wait([weak](std::error_code ec) {
    if (ec) return;
    if (auto b = weak.lock()) b->expire();
  });
  admit(batch);
}

void VerifierServer::Impl::admit(const std::shared_ptr<Batch>& batch) {
  using D = Admission::Decision;
  auto decisions = admission.admit(batch, batch->items.size(), [&](const std::vector<D>& d) {
    std::lock_guard block(batch->mu);
    for (std::size_t i = 0; i < d.size(); ++i) {
      if (d[i] == D::kRun)
        batch->items[i].state = Item::State::kRunning;
      else if (d[i] == D::kQueue)
        batch->items[i].state = Item::State::kQueued;
    }
  });
  std::size_t shed = std::count(decisions.begin(), decisions.end(), D::kShed);
  if (shed > 0) m_rejected.fetch_add(shed, std::memory_order_relaxed);
  for (std::size_t i = 0; i < decisions.size(); ++i)
    if (decisions[i] == D::kShed) batch->settle(i, Outcome::kOverloaded, nullptr, nullptr);
  for (std::size_t i = 0; i < decisions.size(); ++i)
    if (decisions[i] == D::kRun) startItem(batch, i);
}

void VerifierServer::Impl::startItem(const std::shared_ptr<Batch>& batch, std::size_t index) {
  auto check = std::make_shared<Check>();
  check->request.target = batch->items[index].target;
  check->request.dispatched_at_ms = unixNowMs();
  auto* cb = new ItemCallback(batch, index);
  try {
    probe.start(std::move(check), *cb);
  } catch (const std::exception& e) {
    // A probe must not throw; if one does, the item is the agent's error, not a vote.
    spdlog::warn("verifier: probe threw for {}: {}", batch->items[index].check.url, e.what());
    delete cb;
    onItemDone(batch, index, nullptr);
  }
}

void VerifierServer::Impl::onItemDone(const std::shared_ptr<Batch>& batch, std::size_t index,
                                      const CheckPtr& check) {
  std::optional<Admission::Ticket> next = admission.release([](const Admission::Ticket& t) {
    auto* b = static_cast<Batch*>(t.owner.get());
    std::lock_guard block(b->mu);
    if (b->answered) return false;
    b->items[t.index].state = Item::State::kRunning;
    return true;
  });
  m_completed.fetch_add(1, std::memory_order_relaxed);
  if (check) {
    const ProbeResult& r = check->result;
    std::int64_t took =
        r.finished_at_ms > r.started_at_ms ? r.finished_at_ms - r.started_at_ms : r.timings.rtt_ms;
    m_duration_ms.fetch_add(static_cast<std::uint64_t>(std::max<std::int64_t>(0, took)),
                            std::memory_order_relaxed);
    Verdict v = classify(r);
    // up/down are statements about the site (a site timeout is "down", exactly as the local
    // probe counts it); a check the agent refused to make (probe safety) is its own error.
    Outcome outcome =
        v.probe_safety_blocked ? Outcome::kProbeError : (v.success ? Outcome::kUp : Outcome::kDown);
    batch->settle(index, outcome, &r, &v);
  } else {
    batch->settle(index, Outcome::kProbeError, nullptr, nullptr);
  }
  if (next) startItem(std::static_pointer_cast<Batch>(next->owner), next->index);
}

AgentIdentity VerifierServer::Impl::identity() const {
  AgentIdentity a;
  a.host = options.host.empty() ? io::localHostName() : options.host;
  a.agent_id = options.agent_id.empty() ? a.host : options.agent_id;
  a.vantage_id = options.vantage_id;
  a.region = options.region;
  a.version = options.version;
  return a;
}

json VerifierServer::Impl::statusObject() const {
  std::int64_t act = admission.active(), depth = admission.queued();
  std::uint64_t completed = m_completed.load(std::memory_order_relaxed);
  double avg = completed ? static_cast<double>(m_duration_ms.load(std::memory_order_relaxed)) /
                               static_cast<double>(completed)
                         : 0.0;
  AgentIdentity agent = identity();
  return json{{"status", "OK"},
              {"version", options.version},
              {"commit", ""},
              {"build", ""},
              {"protocols", {"legacy-json-http", "v2-json-http"}},
              {"vantage", vantageJson(agent)},
              {"agent", agentJson(agent)},
              {"capacity",
               {{"max_concurrency", options.max_concurrency},
                {"queue_capacity", options.queue_capacity},
                {"queue_depth", depth},
                {"active", act},
                {"in_flight", act + depth},
                {"completed", completed},
                {"rejected", m_rejected.load(std::memory_order_relaxed)},
                {"avg_check_ms", avg}}}};
}

void VerifierServer::Impl::listen() {
  io::HttpServerOptions h;
  h.listen = options.listen;
  h.config_key = "verifier.listen";
  h.max_head_bytes = 32 * 1024;
  h.max_body_bytes = options.max_body_bytes;
  h.head_timeout = options.header_timeout;
  h.body_timeout = options.body_timeout;
  h.write_timeout = std::chrono::seconds(35);  // write limit (compat §6.1)
  // The HTTP server holds these handlers: a weak reference, so the server (owned by this
  // Impl) does not keep its owner alive.
  std::weak_ptr<Impl> weak = weak_from_this();
  HttpServer::Handlers handlers;
  handlers.on_head = [weak](const HttpRequestHead& head) -> std::optional<HttpReply> {
    if (auto self = weak.lock()) return self->onHead(head);
    return HttpReply{503, "application/json", dump(json{{"error", "shutting down"}})};
  };
  handlers.on_request = [weak](const HttpRequestHead& head, std::string body,
                               HttpServer::Responder responder) {
    if (auto self = weak.lock())
      return self->onRequest(head, std::move(body), std::move(responder));
    responder.send(HttpReply{503, "application/json", dump(json{{"error", "shutting down"}})});
  };
  handlers.refusal = [weak](int status, std::string reason) {
    if (auto self = weak.lock()) return self->refusal(status, std::move(reason));
    return HttpReply{status, "application/json", dump(json{{"error", std::move(reason)}})};
  };
  http = std::make_unique<HttpServer>(io, std::move(h), std::move(handlers));
}

VerifierServer::VerifierServer(asio::io_context& io, VerifierServerOptions options, Probe& probe,
                               ClassifyFn classify, Metrics& metrics) {
  if (options.auth_token.empty())
    throw std::runtime_error("verifier.auth_token is required: refusing to start without one");
  if (options.max_concurrency <= 0) options.max_concurrency = 256;
  if (options.queue_capacity < 0) options.queue_capacity = 0;
  impl_ = std::make_shared<Impl>(io, std::move(options), probe, std::move(classify), metrics);
  impl_->listen();
}

VerifierServer::~VerifierServer() {
  stop();
  // Completions may still arrive on the loop: none of them may start a queued item on a
  // probe the owner is about to destroy.
  if (impl_) impl_->admission.close();
}

std::uint16_t VerifierServer::port() const {
  return impl_->http->port();
}

void VerifierServer::stop() {
  if (impl_) impl_->http->stop();
}

bool VerifierServer::waitIdle(std::chrono::milliseconds timeout) const {
  return impl_->admission.waitIdle(timeout);
}

VerifierServerStats VerifierServer::stats() const {
  VerifierServerStats s;
  s.active = impl_->admission.active();
  s.queue_depth = impl_->admission.queued();
  s.received = impl_->m_received.load();
  s.completed = impl_->m_completed.load();
  s.rejected = impl_->m_rejected.load();
  s.auth_rejected = impl_->m_auth_rejected.load();
  s.avg_check_ms = s.completed ? static_cast<double>(impl_->m_duration_ms.load()) /
                                     static_cast<double>(s.completed)
                               : 0;
  return s;
}

std::string VerifierServer::statusJson() const {
  return dump(impl_->statusObject());
}

}  // namespace tidewatch::services
