#include "io/verifier_server.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <asio/dispatch.hpp>
#include <asio/ip/tcp.hpp>
#include <asio/post.hpp>
#include <asio/steady_timer.hpp>
#include <asio/strand.hpp>
#include <asio/write.hpp>
#include <atomic>
#include <condition_variable>
#include <deque>
#include <mutex>
#include <stdexcept>

#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>

namespace tidewatch::io {

using json = nlohmann::json;
using asio::ip::tcp;
using Clock = std::chrono::steady_clock;

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

std::string localHostName() {
  char buf[256] = {};
  if (gethostname(buf, sizeof buf - 1) != 0) return "localhost";
  return buf;
}

std::pair<std::string, std::uint16_t> splitHostPort(const std::string& listen) {
  auto colon = listen.rfind(':');
  if (colon == std::string::npos) throw std::runtime_error("verifier.listen must be host:port");
  std::string host = listen.substr(0, colon);
  if (host.size() > 2 && host.front() == '[' && host.back() == ']') host = host.substr(1, host.size() - 2);
  if (host.empty()) host = "0.0.0.0";
  int port = 0;
  try {
    port = std::stoi(listen.substr(colon + 1));
  } catch (const std::exception&) {
    throw std::runtime_error("verifier.listen: bad port in '" + listen + "'");
  }
  if (port < 0 || port > 65535) throw std::runtime_error("verifier.listen: port out of range");
  return {host, static_cast<std::uint16_t>(port)};
}

// A request we refuse, with the status and the reason sent back as {"error": reason}.
struct Refusal {
  int status;
  std::string reason;
};

std::string lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r')) s.remove_suffix(1);
  return s;
}

const char* reasonPhrase(int status) {
  switch (status) {
    case 200: return "OK";
    case 400: return "Bad Request";
    case 401: return "Unauthorized";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 408: return "Request Timeout";
    case 411: return "Length Required";
    case 413: return "Payload Too Large";
    case 431: return "Request Header Fields Too Large";
    case 500: return "Internal Server Error";
    case 503: return "Service Unavailable";
    case 504: return "Gateway Timeout";
  }
  return "Error";
}

// Every JSON we write is dumped with error_handler_t::replace: strings may carry bytes from
// the network or the database that are not UTF-8 (a parser error quoting the input, a URL),
// and the default handler would throw from inside an I/O handler.

// ---- request decoding -------------------------------------------------------------------

// Case-insensitive member lookup (Go's encoding/json matches field names that way).
const json* member(const json& obj, std::string_view key, bool case_insensitive) {
  if (!case_insensitive) {
    auto it = obj.find(std::string(key));
    return it == obj.end() ? nullptr : &*it;
  }
  const json* found = nullptr;
  for (auto it = obj.begin(); it != obj.end(); ++it) {
    const std::string& k = it.key();
    if (k.size() != key.size()) continue;
    bool eq = true;
    for (std::size_t i = 0; i < k.size() && eq; ++i)
      eq = std::tolower(static_cast<unsigned char>(k[i])) == std::tolower(static_cast<unsigned char>(key[i]));
    if (eq) {
      if (k == key) return &*it;  // an exact match wins, like Go
      if (found == nullptr) found = &*it;
    }
  }
  return found;
}

struct Fields {
  const json& obj;
  std::string path;
  bool ci;

  const json* get(std::string_view key) const {
    const json* v = member(obj, key, ci);
    return (v == nullptr || v->is_null()) ? nullptr : v;
  }
  std::string str(std::string_view key) const {
    const json* v = get(key);
    if (v == nullptr) return "";
    if (!v->is_string()) throw Refusal{400, path + "." + std::string(key) + ": must be a string"};
    return v->get<std::string>();
  }
  std::int64_t num(std::string_view key, std::int64_t def = 0) const {
    const json* v = get(key);
    if (v == nullptr) return def;
    if (v->is_number_integer()) return v->get<std::int64_t>();
    if (v->is_number_float()) return static_cast<std::int64_t>(v->get<double>());
    throw Refusal{400, path + "." + std::string(key) + ": must be a number"};
  }
  std::vector<std::string> strList(std::string_view key) const {
    std::vector<std::string> out;
    const json* v = get(key);
    if (v == nullptr) return out;
    if (!v->is_array()) throw Refusal{400, path + "." + std::string(key) + ": must be a list of strings"};
    for (const auto& e : *v) {
      if (!e.is_string()) throw Refusal{400, path + "." + std::string(key) + ": must be a list of strings"};
      out.push_back(e.get<std::string>());
    }
    return out;
  }
  // {"Name": "value"} or [["Name","value"]] or ["Name: value"].
  std::vector<std::pair<std::string, std::string>> headers(std::string_view key) const {
    std::vector<std::pair<std::string, std::string>> out;
    const json* v = get(key);
    if (v == nullptr) return out;
    std::string where = path + "." + std::string(key);
    if (v->is_object()) {
      for (auto it = v->begin(); it != v->end(); ++it) {
        if (!it->is_string()) throw Refusal{400, where + ": header values must be strings"};
        out.emplace_back(it.key(), it->get<std::string>());
      }
    } else if (v->is_array()) {
      for (const auto& e : *v) {
        if (e.is_array() && e.size() == 2 && e[0].is_string() && e[1].is_string()) {
          out.emplace_back(e[0].get<std::string>(), e[1].get<std::string>());
        } else if (e.is_string()) {
          std::string line = e.get<std::string>();
          auto colon = line.find(':');
          if (colon == std::string::npos) throw Refusal{400, where + ": expected 'Name: value'"};
          out.emplace_back(std::string(trim(line.substr(0, colon))), std::string(trim(line.substr(colon + 1))));
        } else {
          throw Refusal{400, where + ": must be an object of strings"};
        }
      }
    } else {
      throw Refusal{400, where + ": must be an object of strings"};
    }
    for (const auto& [k, val] : out) {
      // Header injection: a CR or LF would let a caller smuggle requests through the probe.
      if (k.find_first_of("\r\n:") != std::string::npos || val.find_first_of("\r\n") != std::string::npos)
        throw Refusal{400, where + ": header names and values must not contain CR, LF (or ':' in names)"};
    }
    return out;
  }
};

RedirectPolicy redirectPolicyOf(const std::string& text, const std::string& path) {
  std::string l = lower(text);
  if (l.empty() || l == "follow") return RedirectPolicy::kFollow;
  if (l == "alert") return RedirectPolicy::kAlert;
  if (l == "fail") return RedirectPolicy::kFail;
  throw Refusal{400, path + ": must be follow, alert or fail"};
}

struct Item {
  std::string request_id;
  std::uint64_t blog_id = 0;
  std::string url;
  std::int64_t timeout_ms = 0;
  TargetPtr target;
  enum class State : std::uint8_t { kWaiting, kQueued, kRunning, kDone } state = State::kWaiting;
  std::string outcome;  // final: up, down, timeout, probe_error, agent_overloaded, unknown
  bool has_result = false;
  ProbeResult result;
  Verdict verdict;
};

TargetPtr makeTarget(const Item& item, SiteConfig cfg) {
  auto t = std::make_shared<Target>();
  t->blog_id = item.blog_id;
  t->id = item.blog_id;
  t->url = item.url;
  if (item.timeout_ms > 0)
    cfg.timeout_seconds = static_cast<std::uint16_t>(std::clamp<std::int64_t>((item.timeout_ms + 999) / 1000, 1, 3600));
  t->config = std::make_shared<const SiteConfig>(std::move(cfg));
  return t;
}

Item parseV2Item(const json& e, const std::string& path) {
  if (!e.is_object()) throw Refusal{400, path + ": must be an object"};
  Fields f{e, path, false};
  Item item;
  item.request_id = f.str("request_id");
  item.blog_id = static_cast<std::uint64_t>(std::max<std::int64_t>(0, f.num("blog_id")));
  item.url = f.str("url");
  item.timeout_ms = f.num("timeout_ms");
  if (item.url.empty()) throw Refusal{400, path + ".url: is required"};
  SiteConfig cfg;
  std::string method = lower(f.str("method"));
  if (method == "head") cfg.method = HttpMethod::kHead;
  else if (!method.empty() && method != "get") throw Refusal{400, path + ".method: must be GET or HEAD"};
  cfg.custom_headers = f.headers("headers");
  cfg.redirect_policy = redirectPolicyOf(f.str("redirect_policy"), path + ".redirect_policy");
  if (const json* rules = f.get("body_rules")) {
    if (!rules->is_object()) throw Refusal{400, path + ".body_rules: must be an object"};
    Fields r{*rules, path + ".body_rules", false};
    std::vector<std::string> required = r.strList("required");
    if (required.size() > 1) throw Refusal{400, path + ".body_rules.required: at most one keyword is supported"};
    if (!required.empty()) cfg.check_keyword = required.front();
    cfg.forbidden_keywords = r.strList("forbidden");
  }
  item.target = makeTarget(item, std::move(cfg));
  return item;
}

Item parseLegacyItem(const json& e, const std::string& path) {
  if (!e.is_object()) throw Refusal{400, path + ": must be an object"};
  Fields f{e, path, true};
  Item item;
  item.request_id = f.str("RequestID");
  item.blog_id = static_cast<std::uint64_t>(std::max<std::int64_t>(0, f.num("BlogID")));
  item.url = f.str("URL");
  item.timeout_ms = f.num("TimeoutSeconds") * 1000;
  if (item.url.empty()) throw Refusal{400, path + ".URL: is required"};
  SiteConfig cfg;
  cfg.check_keyword = f.str("Keyword");
  std::string one = f.str("ForbiddenKeyword");
  if (!one.empty()) cfg.forbidden_keywords.push_back(one);
  for (auto& k : f.strList("ForbiddenKeywords"))
    if (!k.empty()) cfg.forbidden_keywords.push_back(std::move(k));
  cfg.custom_headers = f.headers("CustomHeaders");
  cfg.redirect_policy = redirectPolicyOf(f.str("RedirectPolicy"), path + ".RedirectPolicy");
  item.target = makeTarget(item, std::move(cfg));
  return item;
}

struct ParsedHead {
  std::string method;
  std::string path;
  std::string authorization;
  std::optional<std::uint64_t> content_length;
  bool chunked = false;
};

// Parses a request head (through the blank line). Refusal on anything malformed.
ParsedHead parseHead(std::string_view head) {
  ParsedHead h;
  auto eol = head.find("\r\n");
  std::string_view line = head.substr(0, eol);
  auto sp1 = line.find(' ');
  auto sp2 = sp1 == std::string_view::npos ? sp1 : line.find(' ', sp1 + 1);
  if (sp1 == std::string_view::npos || sp2 == std::string_view::npos || line.substr(sp2 + 1).rfind("HTTP/1.", 0) != 0)
    throw Refusal{400, "malformed request line"};
  h.method = std::string(line.substr(0, sp1));
  std::string_view target = line.substr(sp1 + 1, sp2 - sp1 - 1);
  h.path = std::string(target.substr(0, target.find('?')));
  std::size_t pos = eol == std::string_view::npos ? head.size() : eol + 2;
  while (pos < head.size()) {
    auto next = head.find("\r\n", pos);
    if (next == std::string_view::npos) next = head.size();
    std::string_view hl = head.substr(pos, next - pos);
    pos = next + 2;
    if (hl.empty()) break;
    auto colon = hl.find(':');
    if (colon == std::string_view::npos || colon == 0) throw Refusal{400, "malformed header line"};
    std::string name = lower(trim(hl.substr(0, colon)));
    std::string_view value = trim(hl.substr(colon + 1));
    if (name == "authorization") {
      h.authorization = std::string(value);
    } else if (name == "content-length") {
      std::uint64_t n = 0;
      if (value.empty() || value.size() > 18) throw Refusal{400, "bad Content-Length"};
      for (char c : value) {
        if (c < '0' || c > '9') throw Refusal{400, "bad Content-Length"};
        n = n * 10 + static_cast<std::uint64_t>(c - '0');
      }
      if (h.content_length && *h.content_length != n) throw Refusal{400, "conflicting Content-Length"};
      h.content_length = n;
    } else if (name == "transfer-encoding") {
      h.chunked = true;
    }
  }
  return h;
}

}  // namespace

// ---- the server --------------------------------------------------------------------------

struct Batch;

struct VerifierServer::Impl : std::enable_shared_from_this<VerifierServer::Impl> {
  Impl(asio::io_context& io_, VerifierServerOptions o, Probe& p, ClassifyFn c, Metrics& m)
      : io(io_),
        acceptor(io_),
        options(std::move(o)),
        probe(p),
        classify(std::move(c)),
        metrics(m),
        m_received(m.counter("verifier.checks.received.count")),
        m_completed(m.counter("verifier.checks.completed.count")),
        m_rejected(m.counter("verifier.checks.rejected.count")),
        m_auth_rejected(m.counter("verifier.auth.rejected.count")),
        m_duration_ms(m.counter("verifier.checks.duration.total_ms")),
        m_bad_requests(m.counter("verifier.requests.bad.count")) {}

  void accept();
  void admit(const std::shared_ptr<Batch>& batch);
  void startItem(const std::shared_ptr<Batch>& batch, std::size_t index);
  void onItemDone(const std::shared_ptr<Batch>& batch, std::size_t index, const CheckPtr& check);
  void cancelQueued(const Batch* batch);
  json statusObject() const;

  asio::io_context& io;
  tcp::acceptor acceptor;
  VerifierServerOptions options;
  Probe& probe;
  ClassifyFn classify;
  Metrics& metrics;
  std::atomic<std::uint64_t>& m_received;
  std::atomic<std::uint64_t>& m_completed;
  std::atomic<std::uint64_t>& m_rejected;
  std::atomic<std::uint64_t>& m_auth_rejected;
  std::atomic<std::uint64_t>& m_duration_ms;
  std::atomic<std::uint64_t>& m_bad_requests;

  // Admission state.
  mutable std::mutex mu;
  mutable std::condition_variable idle_cv;
  std::int64_t active = 0;
  std::deque<std::pair<std::shared_ptr<Batch>, std::size_t>> queue;
};

class Connection : public std::enable_shared_from_this<Connection> {
 public:
  Connection(std::shared_ptr<VerifierServer::Impl> server, tcp::socket socket)
      : server_(std::move(server)), socket_(std::move(socket)), timer_(socket_.get_executor()) {}

  void start() {
    arm(server_->options.header_timeout);
    readHead();
  }

  // Called from any thread; the write happens on the connection's strand.
  void respond(int status, std::string body) {
    auto self = shared_from_this();
    asio::dispatch(socket_.get_executor(), [self, status, body = std::move(body)]() mutable {
      self->write(status, std::move(body));
    });
  }

 private:
  void arm(std::chrono::milliseconds limit) {
    timer_.expires_after(limit);
    auto self = shared_from_this();
    timer_.async_wait([self](std::error_code ec) {
      if (ec || self->responded_) return;
      // Slow client: we never got the whole request in time.
      self->write(408, json{{"error", "request not received in time"}}.dump(-1, ' ', false, json::error_handler_t::replace));
    });
  }

  void readHead() {
    auto self = shared_from_this();
    socket_.async_read_some(asio::buffer(chunk_), [self](std::error_code ec, std::size_t n) {
      if (self->responded_) return;
      self->data_.append(self->chunk_.data(), n);
      if (ec) {
        // A client that half-closed mid-request can still read why it was refused.
        if (ec == asio::error::eof && !self->data_.empty()) return self->refuse({400, "request ended before the end of its head"});
        return self->close();
      }
      auto end = self->data_.find("\r\n\r\n");
      if (end == std::string::npos) {
        if (self->data_.size() > kMaxHead) return self->refuse({431, "request head over 32 KiB"});
        return self->readHead();
      }
      self->head_end_ = end + 4;
      self->onHead();
    });
  }

  void onHead() {
    auto& s = *server_;
    try {
      head_ = parseHead(std::string_view(data_).substr(0, head_end_));
      bool check = head_.path == "/check" || head_.path == "/v2/check";
      bool status = head_.path == "/status" || head_.path == "/v2/status";
      if (status) {
        if (head_.method != "GET" && head_.method != "HEAD") throw Refusal{405, "GET only"};
        timer_.cancel();
        return write(200, s.statusObject().dump(-1, ' ', false, json::error_handler_t::replace));
      }
      if (!check) throw Refusal{404, "no such endpoint (POST /v2/check, POST /check, GET /status, GET /v2/status)"};
      if (head_.method != "POST") throw Refusal{405, "POST only"};
      std::string_view auth = head_.authorization;
      std::string_view token;
      if (auth.size() > 7 && lower(auth.substr(0, 7)) == "bearer ") token = trim(auth.substr(7));
      if (!secretEquals(token, s.options.auth_token)) {
        s.m_auth_rejected.fetch_add(1, std::memory_order_relaxed);
        throw Refusal{401, token.empty() ? "missing bearer token" : "bad bearer token"};
      }
      if (head_.chunked) throw Refusal{411, "send the body with Content-Length"};
      std::uint64_t length = head_.content_length.value_or(0);
      if (length > s.options.max_body_bytes)
        throw Refusal{413, "body of " + std::to_string(length) + " bytes over the limit of " +
                               std::to_string(s.options.max_body_bytes)};
      body_length_ = static_cast<std::size_t>(length);
      arm(s.options.body_timeout);
      readBody();
    } catch (const Refusal& r) {
      refuse(r);
    }
  }

  void readBody() {
    if (data_.size() - head_end_ >= body_length_) return onBody();
    auto self = shared_from_this();
    socket_.async_read_some(asio::buffer(chunk_), [self](std::error_code ec, std::size_t n) {
      if (self->responded_) return;
      self->data_.append(self->chunk_.data(), n);
      if (ec) {
        if (ec == asio::error::eof) return self->refuse({400, "request ended before the end of its body"});
        return self->close();
      }
      self->readBody();
    });
  }

  void onBody();

  void refuse(const Refusal& r) {
    if (r.status == 400 || r.status == 411 || r.status == 431) server_->m_bad_requests.fetch_add(1, std::memory_order_relaxed);
    write(r.status, json{{"error", r.reason}}.dump(-1, ' ', false, json::error_handler_t::replace));
  }

  void write(int status, std::string body) {
    if (responded_) return;
    responded_ = true;
    timer_.cancel();
    out_ = "HTTP/1.1 " + std::to_string(status) + " " + reasonPhrase(status) +
           "\r\nContent-Type: application/json\r\nContent-Length: " + std::to_string(body.size()) +
           "\r\nConnection: close\r\n\r\n";
    if (head_.method != "HEAD") out_ += body;
    body.clear();
    auto self = shared_from_this();
    timer_.expires_after(std::chrono::seconds(35));  // write limit (compat §6.1)
    timer_.async_wait([self](std::error_code ec) {
      if (!ec) self->close();
    });
    asio::async_write(socket_, asio::buffer(out_), [self](std::error_code, std::size_t) {
      std::error_code ignored;
      self->socket_.shutdown(tcp::socket::shutdown_send, ignored);
      self->close();
    });
  }

  void close() {
    std::error_code ignored;
    timer_.cancel();
    socket_.close(ignored);
  }

  static constexpr std::size_t kMaxHead = 32 * 1024;

  std::shared_ptr<VerifierServer::Impl> server_;
  tcp::socket socket_;
  asio::steady_timer timer_;
  std::array<char, 16 * 1024> chunk_{};
  std::string data_;
  std::size_t head_end_ = 0;
  std::size_t body_length_ = 0;
  ParsedHead head_;
  std::string out_;
  bool responded_ = false;
};

struct Batch : std::enable_shared_from_this<Batch> {
  bool legacy = false;
  json batch_id;
  std::vector<Item> items;
  std::shared_ptr<Connection> conn;
  std::shared_ptr<VerifierServer::Impl> server;
  std::unique_ptr<asio::steady_timer> deadline;
  std::mutex mu;
  std::size_t remaining = 0;
  bool answered = false;

  // Marks item `i` final; answers when every item is final. Caller holds no lock.
  void settle(std::size_t i, std::string outcome, const ProbeResult* result, const Verdict* verdict) {
    std::unique_lock lock(mu);
    if (answered || items[i].state == Item::State::kDone) return;
    Item& it = items[i];
    it.state = Item::State::kDone;
    it.outcome = std::move(outcome);
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
        it.outcome = it.state == Item::State::kRunning ? "timeout" : "agent_overloaded";
        it.state = Item::State::kDone;
      }
    }
    server->cancelQueued(this);
    answer(true);
  }

  void answer(bool expired) {
    if (deadline) deadline->cancel();
    const auto& o = server->options;
    std::string host = o.host.empty() ? localHostName() : o.host;
    if (legacy) {
      // The legacy shape has no outcome field and a Jetmon monitor counts `Success: false`
      // as a down vote, so an item the agent could not check must not appear as a result:
      // the whole request fails (503 shed, 504 deadline) and the monitor counts an RPC error.
      for (const auto& it : items) {
        if (it.outcome == "agent_overloaded")
          return conn->respond(503, json{{"error", "agent_overloaded"}}.dump(-1, ' ', false, json::error_handler_t::replace));
        if (it.outcome == "timeout" || !it.has_result)
          return conn->respond(504, json{{"error", "request deadline expired before the check completed"}}.dump(-1, ' ', false, json::error_handler_t::replace));
      }
      json results = json::array();
      for (const auto& it : items) {
        results.push_back({{"BlogID", it.blog_id},
                           {"URL", it.url},
                           {"Host", host},
                           {"Success", it.verdict.success},
                           {"HTTPCode", it.result.http_code},
                           {"ErrorCode", static_cast<int>(it.result.error)},
                           {"RTTMs", it.result.timings.rtt_ms},
                           {"RequestID", it.request_id},
                           {"Outcome", it.outcome}});
      }
      return conn->respond(200, json{{"results", std::move(results)}}.dump(-1, ' ', false, json::error_handler_t::replace));
    }
    std::string agent_id = o.agent_id.empty() ? host : o.agent_id;
    json results = json::array();
    for (const auto& it : items) {
      json r = {{"request_id", it.request_id},
                {"blog_id", it.blog_id},
                {"url", it.url},
                {"vantage_id", o.vantage_id},
                {"agent_id", agent_id},
                {"host", host},
                {"outcome", it.outcome},
                {"success", it.has_result && it.verdict.success},
                {"http_code", it.has_result ? it.result.http_code : 0},
                {"error_code", it.has_result ? static_cast<int>(it.result.error) : 0},
                {"rtt_ms", it.has_result ? it.result.timings.rtt_ms : 0}};
      if (it.has_result) {
        const auto& t = it.result.timings;
        r["timings_ms"] = {{"dns", t.dns_ms}, {"tcp", t.tcp_ms}, {"tls", t.tls_ms}, {"ttfb", t.ttfb_ms}};
        if (!it.result.error_detail.empty()) r["error"] = it.result.error_detail;
      }
      results.push_back(std::move(r));
    }
    json body = {{"batch_id", batch_id},
                 {"vantage", {{"id", o.vantage_id}, {"region", o.region}, {"provider", ""}}},
                 {"agent", {{"id", agent_id}, {"host", host}, {"version", o.version}, {"protocol", "v2-json-http"}}},
                 {"results", std::move(results)}};
    if (expired) body["deadline_expired"] = true;
    conn->respond(200, body.dump(-1, ' ', false, json::error_handler_t::replace));
  }
};

// One probe in flight. The probe contract wants a ProbeCallback that outlives the check:
// this object owns itself and is deleted after the single callback.
class ItemCallback final : public ProbeCallback {
 public:
  ItemCallback(std::shared_ptr<Batch> batch, std::size_t index) : batch_(std::move(batch)), index_(index) {}
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

void Connection::onBody() {
  timer_.cancel();
  auto& s = *server_;
  bool legacy = head_.path == "/check";
  auto batch = std::make_shared<Batch>();
  batch->legacy = legacy;
  batch->conn = shared_from_this();
  batch->server = server_;
  json doc;
  try {
    doc = json::parse(std::string_view(data_).substr(head_end_, body_length_));
  } catch (const json::exception& e) {
    return refuse({400, std::string("bad JSON: ") + e.what()});
  }
  std::int64_t client_deadline_ms = 0;
  try {
    if (!doc.is_object()) throw Refusal{400, "body must be a JSON object"};
    if (legacy) {
      const json* sites = member(doc, "sites", true);
      if (sites == nullptr || !sites->is_array()) throw Refusal{400, "sites: must be a list"};
      for (std::size_t i = 0; i < sites->size(); ++i)
        batch->items.push_back(parseLegacyItem((*sites)[i], "sites[" + std::to_string(i) + "]"));
    } else {
      const json* reqs = member(doc, "requests", false);
      if (reqs == nullptr || !reqs->is_array()) throw Refusal{400, "requests: must be a list"};
      for (std::size_t i = 0; i < reqs->size(); ++i)
        batch->items.push_back(parseV2Item((*reqs)[i], "requests[" + std::to_string(i) + "]"));
      if (const json* id = member(doc, "batch_id", false)) batch->batch_id = *id;
      Fields f{doc, "", false};
      client_deadline_ms = f.num("deadline_ms");
    }
  } catch (const Refusal& r) {
    return refuse(r);
  }
  data_.clear();
  data_.shrink_to_fit();
  s.m_received.fetch_add(batch->items.size(), std::memory_order_relaxed);
  if (batch->items.empty()) {
    batch->answered = true;
    return batch->answer(false);
  }

  // Request deadline: configured, else the longest item timeout + 5 s; a smaller deadline
  // from the client wins (it stops waiting then anyway).
  std::int64_t longest_ms = 0;
  for (const auto& it : batch->items)
    longest_ms = std::max<std::int64_t>(longest_ms, it.timeout_ms > 0 ? it.timeout_ms : s.options.default_timeout_s * 1000);
  std::int64_t deadline_ms = s.options.request_deadline_s > 0 ? s.options.request_deadline_s * 1000LL : longest_ms + 5000;
  if (client_deadline_ms > 0) deadline_ms = std::min(deadline_ms, client_deadline_ms);
  batch->remaining = batch->items.size();
  batch->deadline = std::make_unique<asio::steady_timer>(s.io, std::chrono::milliseconds(deadline_ms));
  std::weak_ptr<Batch> weak = batch;
  batch->deadline->async_wait([weak](std::error_code ec) {
    if (ec) return;
    if (auto b = weak.lock()) b->expire();
  });
  s.admit(batch);
}

void VerifierServer::Impl::accept() {
  auto self = shared_from_this();
  acceptor.async_accept(asio::make_strand(io), [self](std::error_code ec, tcp::socket socket) {
    if (ec == asio::error::operation_aborted || !self->acceptor.is_open()) return;
    if (!ec) {
      std::error_code ignored;
      socket.set_option(tcp::no_delay(true), ignored);
      std::make_shared<Connection>(self, std::move(socket))->start();
    }
    self->accept();
  });
}

void VerifierServer::Impl::admit(const std::shared_ptr<Batch>& batch) {
  std::vector<std::size_t> start_now, shed;
  {
    std::lock_guard lock(mu);
    std::lock_guard block(batch->mu);
    for (std::size_t i = 0; i < batch->items.size(); ++i) {
      if (active < options.max_concurrency) {
        ++active;
        batch->items[i].state = Item::State::kRunning;
        start_now.push_back(i);
      } else if (static_cast<std::int64_t>(queue.size()) < options.queue_capacity) {
        batch->items[i].state = Item::State::kQueued;
        queue.emplace_back(batch, i);
      } else {
        shed.push_back(i);
      }
    }
  }
  if (!shed.empty()) m_rejected.fetch_add(shed.size(), std::memory_order_relaxed);
  for (std::size_t i : shed) batch->settle(i, "agent_overloaded", nullptr, nullptr);
  for (std::size_t i : start_now) startItem(batch, i);
}

void VerifierServer::Impl::startItem(const std::shared_ptr<Batch>& batch, std::size_t index) {
  auto check = std::make_shared<Check>();
  check->request.target = batch->items[index].target;
  check->request.dispatched_at_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                                        std::chrono::system_clock::now().time_since_epoch()).count();
  auto* cb = new ItemCallback(batch, index);
  try {
    probe.start(std::move(check), *cb);
  } catch (const std::exception& e) {
    // A probe must not throw; if one does, the item is the agent's error, not a vote.
    spdlog::warn("verifier: probe threw for {}: {}", batch->items[index].url, e.what());
    delete cb;
    onItemDone(batch, index, nullptr);
  }
}

void VerifierServer::Impl::onItemDone(const std::shared_ptr<Batch>& batch, std::size_t index, const CheckPtr& check) {
  std::shared_ptr<Batch> next_batch;
  std::size_t next_index = 0;
  {
    std::lock_guard lock(mu);
    --active;
    while (!queue.empty()) {
      auto [b, i] = std::move(queue.front());
      queue.pop_front();
      bool live;
      {
        std::lock_guard block(b->mu);
        live = !b->answered;
        if (live) b->items[i].state = Item::State::kRunning;
      }
      if (live) {
        ++active;
        next_batch = std::move(b);
        next_index = i;
        break;
      }
    }
    if (active == 0 && queue.empty()) idle_cv.notify_all();
  }
  m_completed.fetch_add(1, std::memory_order_relaxed);
  if (check) {
    const ProbeResult& r = check->result;
    std::int64_t took = r.finished_at_ms > r.started_at_ms ? r.finished_at_ms - r.started_at_ms : r.timings.rtt_ms;
    m_duration_ms.fetch_add(static_cast<std::uint64_t>(std::max<std::int64_t>(0, took)), std::memory_order_relaxed);
    Verdict v = classify(r);
    // up/down are statements about the site (a site timeout is "down", exactly as the local
    // probe counts it); a check the agent refused to make (probe safety) is its own error.
    std::string outcome = v.probe_safety_blocked ? "probe_error" : (v.success ? "up" : "down");
    batch->settle(index, std::move(outcome), &r, &v);
  } else {
    batch->settle(index, "probe_error", nullptr, nullptr);
  }
  if (next_batch) startItem(next_batch, next_index);
}

void VerifierServer::Impl::cancelQueued(const Batch* batch) {
  std::lock_guard lock(mu);
  queue.erase(std::remove_if(queue.begin(), queue.end(), [batch](const auto& e) { return e.first.get() == batch; }),
              queue.end());
  if (active == 0 && queue.empty()) idle_cv.notify_all();
}

json VerifierServer::Impl::statusObject() const {
  std::int64_t act, depth;
  {
    std::lock_guard lock(mu);
    act = active;
    depth = static_cast<std::int64_t>(queue.size());
  }
  std::uint64_t completed = m_completed.load(std::memory_order_relaxed);
  double avg = completed ? static_cast<double>(m_duration_ms.load(std::memory_order_relaxed)) / static_cast<double>(completed) : 0.0;
  std::string host = options.host.empty() ? localHostName() : options.host;
  return json{{"status", "OK"},
              {"version", options.version},
              {"commit", ""},
              {"build", ""},
              {"protocols", {"legacy-json-http", "v2-json-http"}},
              {"vantage", {{"id", options.vantage_id}, {"region", options.region}, {"provider", ""}}},
              {"agent", {{"id", options.agent_id.empty() ? host : options.agent_id}, {"host", host},
                         {"version", options.version}, {"protocol", "v2-json-http"}}},
              {"capacity", {{"max_concurrency", options.max_concurrency},
                            {"queue_capacity", options.queue_capacity},
                            {"queue_depth", depth},
                            {"active", act},
                            {"in_flight", act + depth},
                            {"completed", completed},
                            {"rejected", m_rejected.load(std::memory_order_relaxed)},
                            {"avg_check_ms", avg}}}};
}

VerifierServer::VerifierServer(asio::io_context& io, VerifierServerOptions options, Probe& probe, ClassifyFn classify,
                               Metrics& metrics) {
  if (options.auth_token.empty()) throw std::runtime_error("verifier.auth_token is required: refusing to start without one");
  if (options.max_concurrency <= 0) options.max_concurrency = 256;
  if (options.queue_capacity < 0) options.queue_capacity = 0;
  auto [host, port] = splitHostPort(options.listen);
  std::error_code ec;
  auto addr = asio::ip::make_address(host, ec);
  if (ec) throw std::runtime_error("verifier.listen: '" + host + "' is not an IP address");
  impl_ = std::make_shared<Impl>(io, std::move(options), probe, std::move(classify), metrics);
  tcp::endpoint ep(addr, port);
  impl_->acceptor.open(ep.protocol());
  impl_->acceptor.set_option(tcp::acceptor::reuse_address(true));
  impl_->acceptor.bind(ep, ec);
  if (ec) throw std::runtime_error("verifier.listen " + impl_->options.listen + ": " + ec.message());
  impl_->acceptor.listen(1024);
  impl_->accept();
}

VerifierServer::~VerifierServer() { stop(); }

std::uint16_t VerifierServer::port() const {
  std::error_code ec;
  auto ep = impl_->acceptor.local_endpoint(ec);
  return ec ? 0 : ep.port();
}

void VerifierServer::stop() {
  if (!impl_) return;
  auto impl = impl_;
  // The acceptor belongs to the io_context's threads: close it there.
  asio::post(impl->io, [impl] {
    std::error_code ignored;
    impl->acceptor.close(ignored);
  });
}

bool VerifierServer::waitIdle(std::chrono::milliseconds timeout) const {
  std::unique_lock lock(impl_->mu);
  return impl_->idle_cv.wait_for(lock, timeout, [&] { return impl_->active == 0 && impl_->queue.empty(); });
}

VerifierServerStats VerifierServer::stats() const {
  VerifierServerStats s;
  {
    std::lock_guard lock(impl_->mu);
    s.active = impl_->active;
    s.queue_depth = static_cast<std::int64_t>(impl_->queue.size());
  }
  s.received = impl_->m_received.load();
  s.completed = impl_->m_completed.load();
  s.rejected = impl_->m_rejected.load();
  s.auth_rejected = impl_->m_auth_rejected.load();
  s.avg_check_ms = s.completed ? static_cast<double>(impl_->m_duration_ms.load()) / static_cast<double>(s.completed) : 0;
  return s;
}

std::string VerifierServer::statusJson() const { return impl_->statusObject().dump(-1, ' ', false, json::error_handler_t::replace); }

}  // namespace tidewatch::io
