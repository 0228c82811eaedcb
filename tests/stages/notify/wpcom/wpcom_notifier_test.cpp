// notify.wpcom as the daemon builds it (YAML → registry → Notifier) against the fixture's
// mock WPCOM: modern POST + Bearer, legacy GET ?data=, retry once, circuit breaker and its
// queue, 404 permanent, the enable switch, and the delivery callback.
#include <gtest/gtest.h>

#include <future>
#include <thread>

#include <nlohmann/json.hpp>

#include "io/event_loop.h"
#include "stages/notify/wpcom/wpcom_client.h"
#include "pipeline/config.h"
#include "core/metrics.h"
#include "pipeline/registry.h"
#include "stages/register_all.h"
#include "tests/support/fake_http.h"
#include "tests/support/fixture_process.h"

namespace tidewatch {
namespace {

using json = nlohmann::json;
using testing::FixtureProcess;

// One fixture for the whole suite: each test resets the mock.
FixtureProcess& fixture() {
  static FixtureProcess fx(FixtureProcess::Options{.fleet_count = 1, .args = {"--no-https", "--no-dns"}});
  return fx;
}

StatusChange downChange(std::uint64_t blog_id = 42) {
  StatusChange c;
  c.blog_id = blog_id;
  c.target_id = 7;
  c.monitor_url = "https://example.test/";
  c.status_id = 2;
  c.last_check = 1764370800;          // 2025-11-28T23:00:00Z
  c.last_status_change = 1764370805;  // 2025-11-28T23:00:05Z
  c.status_type = StatusType::kServer;
  c.checks = {{1, "monitor-1", 0, 120, 503}, {2, "verifier-a", 0, 80, 503}};
  return c;
}

class WpcomNotifierTest : public ::testing::Test {
 protected:
  void SetUp() override {
    fixture().wpcomReset();  // records, status and delay; the token is reset here too
    fixture().wpcomConfigure({{"token", ""}, {"status_code", 0}, {"delay_ms", 0}});
    loop.start();
  }
  void TearDown() override {
    notifier.reset();
    loop.stop();
  }

  std::string endpoint(const std::string& mode) const {
    std::string base = "http://127.0.0.1:" + std::to_string(fixture().wpcomPort());
    return mode == "legacy" ? base + "/jetmon/" : base + "/wpcom/v2/jetpack-monitor/status-change";
  }

  void build(const std::string& options) {
    std::string yaml = "pipeline:\n"
                       "  source: {type: source.generated, url: 'http://s-%d.test/', count: 1}\n"
                       "  probe: {type: probe.simulated}\n"
                       "  notify: {type: notify.wpcom, " + options + "}\n";
    ConfigDiagnostics diag;
    cfg = parseConfigString(yaml, builtinStages(), diag);
    ASSERT_TRUE(diag.ok()) << diag.firstError();
    StageContext ctx{cfg, loop, metrics, &loop};
    notifier = builtinStages().create<Notifier>(cfg.pipeline.notifiers.at(0), ctx);
  }

  // Sends one change and waits for its delivery callback.
  bool send(StatusChange c) {
    auto p = std::make_shared<std::promise<bool>>();
    auto f = p->get_future();
    c.on_delivered = [p](bool ok) { p->set_value(ok); };  // set twice would throw: exactly once
    notifier->notify(c);
    EXPECT_EQ(f.wait_for(std::chrono::seconds(20)), std::future_status::ready);
    return f.get();
  }

  json records() const { return fixture().wpcomNotifications(); }
  std::uint64_t counter(const std::string& n) { return metrics.counter(n).load(); }

  io::AsioEventLoop loop{2};
  Metrics metrics;
  Config cfg;
  std::unique_ptr<Notifier> notifier;
};

TEST(WpcomPayload, ModernAndLegacyFields) {
  json modern = json::parse(stages::wpcomPayload(downChange(), stages::WpcomOptions::Mode::kModern, "tok"));
  EXPECT_EQ(modern, json::parse(R"({"blog_id":42,"monitor_url":"https://example.test/","status_id":2,
      "last_check":"2025-11-28T23:00:00Z","last_status_change":"2025-11-28T23:00:05Z","status_type":"server",
      "checks":[{"type":1,"host":"monitor-1","status":0,"rtt":120,"code":503},
                {"type":2,"host":"verifier-a","status":0,"rtt":80,"code":503}]})"));
  json legacy = json::parse(stages::wpcomPayload(downChange(), stages::WpcomOptions::Mode::kLegacy, "tok"));
  EXPECT_FALSE(legacy.contains("status_type"));
  EXPECT_EQ(legacy["token"], "tok");
  EXPECT_EQ(legacy["checks"], modern["checks"]);
}

TEST_F(WpcomNotifierTest, ModernPostWithBearer) {
  build("endpoint: '" + endpoint("modern") + "', auth_token: wpcom-secret");
  EXPECT_TRUE(send(downChange()));
  json r = records();
  ASSERT_EQ(r.size(), 1u) << r.dump();
  EXPECT_EQ(r[0]["form"], "modern");
  EXPECT_EQ(r[0]["method"], "POST");
  EXPECT_EQ(r[0]["token"], "wpcom-secret");
  EXPECT_EQ(r[0]["status"], 200);
  EXPECT_EQ(r[0]["payload"]["blog_id"], 42);
  EXPECT_EQ(r[0]["payload"]["status_id"], 2);
  EXPECT_EQ(r[0]["payload"]["status_type"], "server");
  EXPECT_EQ(r[0]["payload"]["last_check"], "2025-11-28T23:00:00Z");
  EXPECT_EQ(r[0]["payload"]["checks"].size(), 2u);
  EXPECT_EQ(counter("wpcom.notification.delivered.count"), 1u);
  EXPECT_EQ(counter("wpcom.notification.status.confirmed_down.delivered.count"), 1u);
}

TEST_F(WpcomNotifierTest, WrongTokenIsAFailure) {
  fixture().wpcomConfigure({{"token", "right"}});
  build("endpoint: '" + endpoint("modern") + "', auth_token: wrong");
  EXPECT_FALSE(send(downChange()));
  EXPECT_EQ(records().size(), 2u);  // 403, retried once
}

TEST_F(WpcomNotifierTest, LegacyGetWithDataAndToken) {
  build("mode: legacy, endpoint: '" + endpoint("legacy") + "', auth_token: legacy-secret");
  StatusChange c = downChange(77);
  c.status_id = 1;
  c.status_type = StatusType::kSuccess;
  c.checks = {{1, "monitor-1", 1, 90, 200}};
  EXPECT_TRUE(send(c));
  json r = records();
  ASSERT_EQ(r.size(), 1u) << r.dump();
  EXPECT_EQ(r[0]["form"], "legacy");
  EXPECT_EQ(r[0]["method"], "GET");
  EXPECT_EQ(r[0]["token"], "legacy-secret");
  EXPECT_EQ(r[0]["payload"]["blog_id"], 77);
  EXPECT_EQ(r[0]["payload"]["status_id"], 1);
  EXPECT_EQ(r[0]["payload"]["token"], "legacy-secret");
  EXPECT_FALSE(r[0]["payload"].contains("status_type"));
  EXPECT_EQ(counter("wpcom.notification.status.running.delivered.count"), 1u);
}

TEST_F(WpcomNotifierTest, LegacyNeedsSuccessTrueInTheBody) {
  testing::FakeServer plain(testing::respondWith(testing::okResponse("{\"success\": false}")));
  build("mode: legacy, endpoint: 'http://127.0.0.1:" + std::to_string(plain.port()) + "/jetmon/', auth_token: t");
  EXPECT_FALSE(send(downChange()));
  EXPECT_EQ(plain.connections(), 2);  // counted as an error and retried once
}

TEST_F(WpcomNotifierTest, RetriesOnceThenFails) {
  fixture().wpcomConfigure({{"status_code", 500}});
  build("endpoint: '" + endpoint("modern") + "', auth_token: t");
  EXPECT_FALSE(send(downChange()));
  EXPECT_EQ(records().size(), 2u);
  EXPECT_EQ(counter("wpcom.notification.retry.count"), 1u);
  EXPECT_EQ(counter("wpcom.notification.failed.count"), 1u);
  EXPECT_EQ(counter("wpcom.notification.delivered.count"), 0u);
}

TEST_F(WpcomNotifierTest, BreakerOpensAfterFiveFailuresQueuesThenFlushes) {
  fixture().wpcomConfigure({{"status_code", 500}});
  build("endpoint: '" + endpoint("modern") + "', auth_token: t, breaker_open_s: 2");
  for (int i = 0; i < 5; ++i) EXPECT_FALSE(send(downChange(100 + i)));
  EXPECT_EQ(records().size(), 10u);  // 5 × (attempt + one retry)
  // Open: these wait in the queue, nothing reaches WPCOM.
  std::vector<std::future<bool>> waiting;
  for (int i = 0; i < 3; ++i) {
    auto p = std::make_shared<std::promise<bool>>();
    waiting.push_back(p->get_future());
    StatusChange c = downChange(200 + i);
    c.on_delivered = [p](bool ok) { p->set_value(ok); };
    notifier->notify(c);
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(500));
  EXPECT_EQ(records().size(), 10u);
  EXPECT_EQ(counter("wpcom.notification.queued.count"), 3u);
  // WPCOM recovers; once the 2 s open period is over the queue is delivered in order.
  fixture().wpcomConfigure({{"status_code", 0}});
  for (auto& f : waiting) {
    ASSERT_EQ(f.wait_for(std::chrono::seconds(10)), std::future_status::ready);
    EXPECT_TRUE(f.get());
  }
  json r = records();
  ASSERT_EQ(r.size(), 13u);
  EXPECT_EQ(r[10]["payload"]["blog_id"], 200);
  EXPECT_EQ(r[12]["payload"]["blog_id"], 202);
}

TEST_F(WpcomNotifierTest, QueueWhileOpenDropsTheOldestBeyondItsLimit) {
  fixture().wpcomConfigure({{"status_code", 500}});
  build("endpoint: '" + endpoint("modern") + "', auth_token: t, breaker_failures: 1, breaker_open_s: 30, queue_max: 2");
  EXPECT_FALSE(send(downChange(1)));
  auto first = std::make_shared<std::promise<bool>>();
  auto first_f = first->get_future();
  StatusChange c = downChange(2);
  c.on_delivered = [first](bool ok) { first->set_value(ok); };
  notifier->notify(c);
  notifier->notify(downChange(3));
  notifier->notify(downChange(4));  // the queue holds 2: blog 2 is dropped
  ASSERT_EQ(first_f.wait_for(std::chrono::seconds(5)), std::future_status::ready);
  EXPECT_FALSE(first_f.get());
  EXPECT_EQ(counter("wpcom.notification.dropped.count"), 1u);
  // flush() delivers what is queued even while the breaker is open (bounded by timeouts).
  fixture().wpcomConfigure({{"status_code", 0}});
  notifier->flush();
  json r = records();
  ASSERT_EQ(r.size(), 4u);
  EXPECT_EQ(r[2]["payload"]["blog_id"], 3);
  EXPECT_EQ(r[3]["payload"]["blog_id"], 4);
}

TEST_F(WpcomNotifierTest, NotFoundIsPermanentNoRetryNoBreaker) {
  fixture().wpcomConfigure({{"status_code", 404}});
  build("endpoint: '" + endpoint("modern") + "', auth_token: t");
  for (int i = 0; i < 6; ++i) EXPECT_FALSE(send(downChange(300 + i)));
  // The mock does not record the 404s it answers: count attempts on our side.
  EXPECT_EQ(counter("wpcom.notification.attempt.count"), 6u);  // no retries, breaker never opened
  EXPECT_EQ(counter("wpcom.notification.permanent_failure.count"), 6u);
  EXPECT_EQ(counter("wpcom.notification.http.404.permanent_failure.count"), 6u);
  EXPECT_EQ(counter("wpcom.notification.retry.count"), 0u);
  fixture().wpcomConfigure({{"status_code", 410}});
  EXPECT_FALSE(send(downChange(400)));
  EXPECT_EQ(records().size(), 1u);  // one 410, not retried
  EXPECT_EQ(counter("wpcom.notification.http.410.permanent_failure.count"), 1u);
}

TEST_F(WpcomNotifierTest, DisabledSendsNothing) {
  build("endpoint: '" + endpoint("modern") + "', enable: false");
  EXPECT_FALSE(send(downChange()));
  EXPECT_FALSE(send(downChange()));
  EXPECT_EQ(records().size(), 0u);
  EXPECT_EQ(counter("wpcom.notification.disabled.count"), 2u);
}

TEST_F(WpcomNotifierTest, NotifyNeverBlocksOnASlowWpcom) {
  fixture().wpcomConfigure({{"status_code", 0}, {"delay_ms", 1500}});
  build("endpoint: '" + endpoint("modern") + "', auth_token: t, timeout_s: 1");
  auto t0 = std::chrono::steady_clock::now();
  for (int i = 0; i < 50; ++i) notifier->notify(downChange(i));
  EXPECT_LT(std::chrono::steady_clock::now() - t0, std::chrono::milliseconds(100));
}

TEST_F(WpcomNotifierTest, ConfigErrors) {
  for (const char* bad : {"mode: sideways, auth_token: t", "auth_token: t, endpoint: 'ftp://x/'", "endpoint: 'http://127.0.0.1:1/'"}) {
    std::string yaml = "pipeline:\n  source: {type: source.generated, url: 'http://s-%d.test/', count: 1}\n"
                       "  probe: {type: probe.simulated}\n  notify: {type: notify.wpcom, " + std::string(bad) + "}\n";
    ConfigDiagnostics diag;
    parseConfigString(yaml, builtinStages(), diag);
    EXPECT_FALSE(diag.ok()) << bad;
    EXPECT_NE(diag.firstError().find("pipeline.notify"), std::string::npos) << diag.firstError();
  }
}

}  // namespace
}  // namespace tidewatch
