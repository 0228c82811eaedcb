// Shared by the incident-engine tests: a private MariaDB per test process, a fresh migrated
// database per test, our own fakes of our own interfaces (VerifierClient, Notifier), a fake
// clock, and helpers that build checks the way probe.http + classify.jetmon would.
#pragma once

#include <atomic>
#include <functional>
#include <mutex>
#include <sstream>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "io/mysql/event_store.h"
#include "io/mysql/pool.h"
#include "core/metrics.h"
#include "stages/classify/jetmon/jetmon_classifier.h"
#include "stages/sink/incidents/incident_sink.h"
#include "tests/support/test_database.h"

namespace tidewatch::stages::test {

// Answers escalations from a script (synchronously, or parked until the test releases them).
class FakeVerifier final : public VerifierClient {
 public:
  std::function<Verification(const TargetPtr&)> decide;
  bool park = false;
  std::size_t count = 3;

  void verify(const TargetPtr& target, const ProbeResult&, std::function<void(Verification)> done) override {
    calls.fetch_add(1);
    if (park) {
      std::lock_guard lock(mu);
      parked.push_back({target, std::move(done)});
      return;
    }
    done(decide ? decide(target) : confirmed());
  }
  std::size_t configured() const override { return count; }

  void releaseAll(const Verification& v) {
    std::vector<std::pair<TargetPtr, std::function<void(Verification)>>> p;
    {
      std::lock_guard lock(mu);
      p.swap(parked);
    }
    for (auto& [t, done] : p) done(v);
  }

  static VerifierVote vote(int i, VerifierVote::Outcome outcome, int http_code) {
    VerifierVote v;
    v.outcome = outcome;
    v.verifier = "v" + std::to_string(i);
    v.vantage_id = "vantage-" + std::to_string(i);
    v.host = "127.0.0." + std::to_string(i + 1);
    v.http_code = http_code;
    v.rtt_ms = 40 + static_cast<std::uint32_t>(i);
    return v;
  }
  static Verification confirmed() {
    Verification v;
    v.decision = Verification::Decision::kConfirmed;
    v.quorum = v.healthy = v.confirmations = 3;
    for (int i = 1; i <= 3; ++i) v.votes.push_back(vote(i, VerifierVote::Outcome::kDown, 503));
    return v;
  }
  static Verification disagreed() {
    Verification v;
    v.decision = Verification::Decision::kDisagreed;
    v.quorum = v.healthy = 3;
    v.confirmations = 0;
    for (int i = 1; i <= 3; ++i) v.votes.push_back(vote(i, VerifierVote::Outcome::kUp, 200));
    return v;
  }
  static Verification deferred(std::int64_t retry_after_ms) {
    Verification v;
    v.decision = Verification::Decision::kDeferred;
    v.retry_after_ms = retry_after_ms;
    for (int i = 1; i <= 3; ++i) {
      VerifierVote n = vote(i, VerifierVote::Outcome::kRpcError, 0);
      n.detail = "connection refused";
      v.votes.push_back(n);
    }
    return v;
  }

  std::atomic<int> calls{0};
  std::mutex mu;
  std::vector<std::pair<TargetPtr, std::function<void(Verification)>>> parked;
};

// Records every change and, like notify.wpcom, reports delivery (or failure) when the
// StatusChange carries a delivery callback.
class RecordingNotifier final : public Notifier {
 public:
  std::atomic<bool> deliver{true};

  void notify(const StatusChange& change) override {
    {
      std::lock_guard lock(mu);
      changes.push_back(change);
    }
    if constexpr (requires { change.on_delivered; }) {
      if (change.on_delivered) change.on_delivered(deliver.load());
    }
  }
  std::vector<StatusChange> all() {
    std::lock_guard lock(mu);
    return changes;
  }
  int count(int status_id) {
    std::lock_guard lock(mu);
    int n = 0;
    for (auto& c : changes) n += c.status_id == status_id;
    return n;
  }
  std::mutex mu;
  std::vector<StatusChange> changes;
};

// One engine on one fresh database, driven by a fake clock.
struct Engine {
  testing::TestDatabase db;
  Metrics metrics;
  std::shared_ptr<mysql::Pool> pool;
  std::shared_ptr<mysql::EventStore> store;
  std::shared_ptr<FakeVerifier> verifier = std::make_shared<FakeVerifier>();
  RecordingNotifier notifier;
  std::atomic<std::int64_t> now{1'800'000'000'000};  // 2027-01-15, a fixed "now"
  std::unique_ptr<IncidentSink> sink;
  IncidentOptions options;

  explicit Engine(IncidentOptions o = defaults()) : options(o) {
    pool = std::make_shared<mysql::Pool>(db.connection(), 4, &metrics);
    start();
  }
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
    mysql::EventStore::Options so;
    so.workers = 2;
    so.source = "test-host";
    store = std::make_shared<mysql::EventStore>(pool, so, &metrics);
    IncidentDeps d;
    d.store = store;
    d.verifier = verifier;
    d.notifiers = {&notifier};
    d.metrics = &metrics;
    d.now_ms = [this] { return now.load(); };
    d.num_of_checks = 3;
    d.source = "test-host";
    sink = makeIncidentSink(options, d);
  }
  // A process restart: the engine and its store go, the database stays.
  void stop() {
    if (sink) sink->flush();
    sink.reset();
    if (store) store->stop();
    store.reset();
  }
  void restart() {
    stop();
    start();
  }

  void addSite(std::uint64_t id, int status = 1) {
    db.q("INSERT INTO jetpack_monitor_sites (jetpack_monitor_site_id, blog_id, monitor_url, site_status) VALUES (" +
               std::to_string(id) + ", " + std::to_string(blogOf(id)) + ", 'http://site" + std::to_string(id) +
               ".test/', " + std::to_string(status) + ")");
  }
  static std::uint64_t blogOf(std::uint64_t id) { return 5000 + id; }

  // Routes a check the way the graph does (wants() then consume()) and waits for the engine.
  bool feed(const CheckPtr& c, bool wait = true) {
    bool wanted = sink->wants(*c);
    if (wanted) sink->consume(c);
    if (wait) idle();
    return wanted;
  }
  void idle() { EXPECT_TRUE(sink->waitIdle(std::chrono::seconds(20))); }
  void advance(std::int64_t ms) { now.fetch_add(ms); }
  void tick() {
    sink->tick();
    idle();
  }

  std::string s(const std::string& sql) { return db.q(sql); }
  long long n(const std::string& sql) { return db.qi(sql); }
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

}  // namespace tidewatch::stages::test
