// Shared by the incident-engine tests: one engine (sink.incidents as the daemon builds it,
// minus the factory) driven by a fake clock, with our own fakes of our own interfaces
// (tests/fakes: the in-memory IncidentStore, a scripted VerifierClient, a recording
// Notifier), helpers that build checks the way probe.http + classify.jetmon would, and
// readers of what the store holds. No database: the MySQL store has its own tests
// (tests/io/mysql) and incident_mysql_test.cpp runs the engine on it end to end.
#pragma once

#include <atomic>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "core/incident_store.h"
#include "core/metrics.h"
#include "stages/classify/jetmon/jetmon_classifier.h"
#include "stages/sink/incidents/incident_sink.h"
#include "tests/fakes/fake_clock.h"
#include "tests/fakes/fake_incident_store.h"
#include "tests/fakes/fake_verifier_client.h"
#include "tests/fakes/recording_notifier.h"

namespace tidewatch::stages::test {

using fakes::FakeIncidentStore;
using FakeVerifier = fakes::FakeVerifierClient;

constexpr std::int64_t kSec = 1000;
constexpr std::int64_t kMin = 60 * kSec;

// Where an Engine keeps its incidents: `open` gives the store at start and after every
// restart (the data outlives it); `add_site` creates a jetpack_monitor_sites row.
struct StoreBackend {
  std::function<std::shared_ptr<IncidentStore>()> open;
  std::function<void(std::uint64_t site, std::uint64_t blog, SiteStatus status)> add_site;
};

// One engine on one store, driven by a fake clock.
struct Engine {
  Metrics metrics;
  fakes::FakeClock now{1'800'000'000'000};  // 2027-01-15, a fixed "now"
  std::shared_ptr<FakeIncidentStore> fake;  // the store, unless another backend was given
  StoreBackend backend;
  std::shared_ptr<IncidentStore> store;
  std::shared_ptr<FakeVerifier> verifier = std::make_shared<FakeVerifier>();
  fakes::RecordingNotifier notifier;
  IncidentOptions options;
  std::unique_ptr<IncidentSink> sink;

  explicit Engine(IncidentOptions o = defaults()) : options(o) {
    fake = std::make_shared<FakeIncidentStore>(FakeIncidentStore::Options{"test-host", now.source()});
    backend.open = [f = fake] { return f; };
    backend.add_site = [f = fake](std::uint64_t site, std::uint64_t blog, SiteStatus status) {
      f->addSite(site, blog, status);
    };
    start();
  }
  Engine(IncidentOptions o, StoreBackend b) : backend(std::move(b)), options(o) { start(); }
  ~Engine() { stop(); }

  static IncidentOptions defaults() {
    IncidentOptions o;
    o.tick_ms = 0;  // the test ticks
    o.shards = 8;
    o.workers = 2;
    o.store_workers = 2;
    o.correlation.hold_ms = 0;  // only the correlation tests hold first failures
    return o;
  }

  void start() {
    store = backend.open();
    IncidentDeps d;
    d.store = store;
    d.verifier = verifier;
    d.notifiers = {&notifier};
    d.metrics = &metrics;
    d.now_ms = now.source();
    d.num_of_checks = 3;
    d.source = "test-host";
    sink = makeIncidentSink(options, d);
  }
  // A process restart: the engine goes (after flushing), the store's data stays.
  void stop() {
    if (sink) sink->flush();
    sink.reset();
    store.reset();
  }
  void restart() {
    stop();
    start();
  }

  static std::uint64_t blogOf(std::uint64_t id) { return 5000 + id; }
  void addSite(std::uint64_t id, SiteStatus status = SiteStatus::kRunning) { backend.add_site(id, blogOf(id), status); }

  // Routes a check the way the graph does (wants() then consume()) and waits for the engine.
  bool feed(const CheckPtr& c, bool wait = true) {
    bool wanted = sink->wants(*c);
    if (wanted) sink->consume(c);
    if (wait) idle();
    return wanted;
  }
  void idle() { EXPECT_TRUE(sink->waitIdle(std::chrono::seconds(20))); }
  void advance(std::int64_t ms) { now.advance(ms); }
  void tick() {
    sink->tick();
    idle();
  }
};

struct TargetSpec {
  std::uint64_t id = 1;
  std::uint32_t interval_s = 60;
  SiteStatus status = SiteStatus::kRunning;
  std::int32_t cooldown_minutes = -1;
  std::int64_t maintenance_start = 0, maintenance_end = 0;
  std::int64_t last_alert_sent_at = 0;
  std::int64_t ssl_expiry_date = 0;
};

inline TargetPtr target(const TargetSpec& s) {
  auto t = std::make_shared<Target>();
  t->id = s.id;
  t->blog_id = Engine::blogOf(s.id);
  t->url = "http://site" + std::to_string(s.id) + ".test/";
  t->interval_s = s.interval_s;
  t->site_status = s.status;
  t->last_alert_sent_at = s.last_alert_sent_at;
  t->ssl_expiry_date = s.ssl_expiry_date;
  auto c = std::make_shared<SiteConfig>();
  c->alert_cooldown_minutes = s.cooldown_minutes;
  c->maintenance_start = s.maintenance_start;
  c->maintenance_end = s.maintenance_end;
  t->config = c;
  return t;
}

inline CheckPtr check(const TargetPtr& t, std::int64_t now_ms, int http_code, ErrorCode error = ErrorCode::kNone,
                      DnsErrorKind dns = DnsErrorKind::kNone) {
  auto c = std::make_shared<Check>();
  c->request.slot = static_cast<std::uint32_t>(t->id);
  c->request.target = t;
  c->result.http_code = http_code;
  c->result.error = error;
  c->result.dns_error = dns;
  c->result.timings.rtt_ms = 120;
  c->result.started_at_ms = now_ms - 120;
  c->result.finished_at_ms = now_ms;
  c->verdict = classifyJetmon(c->result);
  return c;
}

inline CheckPtr ok(const TargetPtr& t, std::int64_t now) { return check(t, now, 200); }
inline CheckPtr http503(const TargetPtr& t, std::int64_t now) { return check(t, now, 503); }
inline CheckPtr timeout(const TargetPtr& t, std::int64_t now) { return check(t, now, 0, ErrorCode::kTimeout); }
inline CheckPtr refused(const TargetPtr& t, std::int64_t now) { return check(t, now, 0, ErrorCode::kConnect); }

// ---- what the store holds (the fake's tables) ------------------------------------------------

using Event = FakeIncidentStore::Event;
using Audit = FakeIncidentStore::Audit;
using Transition = FakeIncidentStore::Transition;

inline nlohmann::json meta(const std::string& text) {
  return text.empty() ? nlohmann::json() : nlohmann::json::parse(text);
}

template <class Row, class Pred>
std::vector<Row> where(std::vector<Row> rows, Pred pred) {
  std::vector<Row> out;
  for (auto& r : rows)
    if (pred(r)) out.push_back(std::move(r));
  return out;
}
template <class Row, class Pred>
long long countWhere(const std::vector<Row>& rows, Pred pred) {
  return static_cast<long long>(where(rows, pred).size());
}

inline std::vector<Event> eventsOf(const Engine& e, const std::string& type) {
  return where(e.fake->events(), [&](const Event& ev) { return ev.identity.check_type == type; });
}
inline long long eventCount(const Engine& e) { return static_cast<long long>(e.fake->events().size()); }
inline long long openEventCount(const Engine& e) {
  return countWhere(e.fake->events(), [](const Event& ev) { return ev.open; });
}
// "state/severity/resolution" of each http event in order ("open" while open), " | " between.
inline std::string httpEvents(const Engine& e) {
  std::string out;
  for (const Event& ev : eventsOf(e, "http")) {
    if (!out.empty()) out += " | ";
    out += ev.state + "/" + std::to_string(static_cast<int>(ev.severity)) + "/" +
           (ev.open ? "open" : ev.resolution_reason);
  }
  return out;
}

// The transition reasons, in order, of the events of `type` (or of one site), comma-separated.
inline std::string joinReasons(const std::vector<Transition>& ts) {
  std::string out;
  for (const Transition& t : ts) out += (out.empty() ? "" : ",") + t.reason;
  return out;
}
inline std::string reasons(const Engine& e, const std::string& type = "http") {
  return joinReasons(where(e.fake->transitions(), [&](const Transition& t) { return t.identity.check_type == type; }));
}
inline std::string reasonsOfSite(const Engine& e, std::uint64_t site) {
  return joinReasons(where(e.fake->transitions(), [&](const Transition& t) { return t.identity.endpoint_id == site; }));
}
// The metadata of the first transition with this reason.
inline nlohmann::json transitionMeta(const Engine& e, const std::string& reason) {
  auto ts = where(e.fake->transitions(), [&](const Transition& t) { return t.reason == reason; });
  return ts.empty() ? nlohmann::json() : meta(ts.front().metadata);
}

inline std::vector<Audit> auditsOf(const Engine& e, const std::string& type) {
  return where(e.fake->audits(), [&](const Audit& a) { return a.event_type == type; });
}
inline long long audits(const Engine& e, const std::string& type) {
  return static_cast<long long>(auditsOf(e, type).size());
}
// The details of the audit rows of `type`, in order, comma-separated.
inline std::string details(const Engine& e, const std::string& type) {
  std::string out;
  for (const Audit& a : auditsOf(e, type)) out += (out.empty() ? "" : ",") + a.detail;
  return out;
}
inline std::string lastDetail(const Engine& e, const std::string& type) {
  auto rows = auditsOf(e, type);
  return rows.empty() ? "" : rows.back().detail;
}
inline long long auditsWithDetail(const Engine& e, const std::string& prefix) {
  return countWhere(e.fake->audits(), [&](const Audit& a) { return a.detail.rfind(prefix, 0) == 0; });
}

inline long long falsePositives(const Engine& e) { return static_cast<long long>(e.fake->falsePositives().size()); }
inline long long siteStatus(const Engine& e, std::uint64_t id) {
  auto s = e.fake->site(id);
  return s ? static_cast<long long>(s->status) : -1;
}

}  // namespace tidewatch::stages::test
