#include "core/metrics.h"

#include <gtest/gtest.h>

#include <cstdio>
#include <fstream>
#include <thread>

#include "core/metrics_export.h"

namespace tidewatch {
namespace {

TEST(Histogram, CountsIntoLeBucketsAndEstimatesQuantiles) {
  Histogram h({0.1, 0.5, 1.0});
  for (double v : {0.05, 0.1, 0.2, 0.3, 0.4, 0.6, 2.0}) h.observe(v);
  auto s = h.snapshot();
  ASSERT_EQ(s.counts.size(), 4u);
  EXPECT_EQ(s.counts[0], 2u);  // 0.05 and 0.1 (le is inclusive)
  EXPECT_EQ(s.counts[1], 3u);
  EXPECT_EQ(s.counts[2], 1u);
  EXPECT_EQ(s.counts[3], 1u);  // +Inf
  EXPECT_EQ(s.count, 7u);
  EXPECT_NEAR(s.sum, 3.65, 1e-6);
  EXPECT_GT(s.quantile(0.5), 0.1);
  EXPECT_LE(s.quantile(0.5), 0.5);
  EXPECT_DOUBLE_EQ(s.quantile(1.0), 1.0);  // +Inf reports the last finite bound
  h.observe(0.05);
  auto d = h.snapshot().since(s);
  EXPECT_EQ(d.count, 1u);
  EXPECT_EQ(d.counts[0], 1u);
}

TEST(Histogram, ConcurrentObservationsAreAllCounted) {
  Histogram h(Histogram::exponential(0.001, 2, 16));
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t)
    threads.emplace_back([&] {
      for (int i = 0; i < 100000; ++i) h.observe(0.001 * (i % 100));
    });
  for (auto& t : threads) t.join();
  EXPECT_EQ(h.snapshot().count, 400000u);
}

MetricCatalog testCatalog() {
  return MetricCatalog({
      {"checks.*.*.count", "tidewatch_checks_total", MetricType::kCounter, {"status_type", "error_code"}, 1,
       "Checks completed, by outcome and Jetmon error code.", "", ""},
      {"scheduler.streaming.pending.count", "tidewatch_pending_checks", MetricType::kGauge, {}, 1,
       "Checks due but not dispatched.", "", ""},
      {"scheduler.streaming.max_lag.time", "tidewatch_max_lag_seconds", MetricType::kGauge, {}, 0.001,
       "Lateness of the oldest pending check.", "", "", true},
      {"latency.*", "tidewatch_check_phase_seconds", MetricType::kHistogram, {"phase"}, 1,
       "Check latency by phase.", "", ""},
      {"freshness.age", "tidewatch_target_age_seconds", MetricType::kSummary, {}, 1,
       "Age of each target's last completed check.", "", ""},
      {"scheduler.streaming.check.success.count", "", MetricType::kCounter, {}, 1, "StatsD only.", "", ""},
  });
}

TEST(MetricsExport, PrometheusTextGroupsFamiliesWithHelpTypeLabelsAndBaseUnits) {
  Metrics m;
  m.counter("checks.success.0.count") += 5;
  m.counter("checks.server.0.count") += 2;
  m.gauge("scheduler.streaming.pending.count") = 42;
  m.gauge("scheduler.streaming.max_lag.time") = 1500;
  m.counter("scheduler.streaming.check.success.count") += 5;
  m.counter("mystery.thing.count") += 1;
  auto& h = m.histogram("latency.connect", {0.01, 0.1});
  h.observe(0.005);
  h.observe(0.05);
  h.observe(3);
  m.setDistribution("freshness.age", {1000, 10, 1500, 120, 200, 280, 290});
  const std::string text = prometheusText(m, testCatalog());
  EXPECT_NE(text.find("# HELP tidewatch_checks_total Checks completed, by outcome and Jetmon error code.\n"
                      "# TYPE tidewatch_checks_total counter\n"),
            std::string::npos);
  EXPECT_NE(text.find("tidewatch_checks_total{status_type=\"success\",error_code=\"0\"} 5\n"), std::string::npos);
  EXPECT_NE(text.find("tidewatch_checks_total{status_type=\"server\",error_code=\"0\"} 2\n"), std::string::npos);
  EXPECT_NE(text.find("tidewatch_max_lag_seconds 1.5\n"), std::string::npos);
  EXPECT_NE(text.find("tidewatch_check_phase_seconds_bucket{phase=\"connect\",le=\"0.01\"} 1\n"), std::string::npos);
  EXPECT_NE(text.find("tidewatch_check_phase_seconds_bucket{phase=\"connect\",le=\"+Inf\"} 3\n"), std::string::npos);
  EXPECT_NE(text.find("tidewatch_check_phase_seconds_count{phase=\"connect\"} 3\n"), std::string::npos);
  EXPECT_NE(text.find("tidewatch_target_age_seconds{quantile=\"0.99\"} 280\n"), std::string::npos);
  EXPECT_EQ(text.find("scheduler_streaming_check_success"), std::string::npos) << "StatsD-only entries stay out";
  EXPECT_NE(text.find("# HELP tidewatch_mystery_thing_total Undocumented metric mystery.thing.count.\n"),
            std::string::npos);
}

TEST(MetricsExport, PromtoolAcceptsTheExposition) {
  Metrics m;
  m.counter("checks.success.0.count") += 5;
  m.gauge("scheduler.streaming.pending.count") = 42;
  m.gauge("scheduler.streaming.max_lag.time") = 1500;
  m.histogram("latency.total", Histogram::exponential(0.001, 2.5, 12)).observe(0.2);
  m.setDistribution("freshness.age", {1000, 10, 1500, 120, 200, 280, 290});
  ProcessStats p = readProcessStats();
  EXPECT_GT(p.resident_bytes, 0);
  EXPECT_GT(p.open_fds, 0);
  EXPECT_GE(p.threads, 1);
  EXPECT_GT(p.start_time_seconds, 1.7e9);
  const std::string path = ::testing::TempDir() + "/tw_metrics.txt";
  std::ofstream(path) << prometheusText(m, testCatalog(), &p);
  const std::string cmd = "promtool check metrics < " + path + " 2>&1";
  FILE* f = popen(cmd.c_str(), "r");
  ASSERT_NE(f, nullptr);
  std::string output;
  char buf[256];
  while (fgets(buf, sizeof buf, f)) output += buf;
  const int rc = pclose(f);
  EXPECT_EQ(rc, 0) << output;
  EXPECT_EQ(output, "");
}

TEST(MetricsExport, StatsdSendsCounterDeltasGaugesAndTimersUnderJetmonPrefix) {
  Metrics m;
  std::map<std::string, std::int64_t> previous;
  const std::string prefix = statsdPrefix("jetmon-host.dc1");
  EXPECT_EQ(prefix, "com.jetpack.jetmon.jetmon_host_dc1");
  m.counter("scheduler.streaming.check.success.count") += 7;
  m.gauge("scheduler.streaming.max_lag.time") = 1200;
  auto lines = statsdLines(m, testCatalog(), prefix, previous);
  EXPECT_NE(std::find(lines.begin(), lines.end(), prefix + ".scheduler.streaming.check.success.count:7|c"), lines.end());
  EXPECT_NE(std::find(lines.begin(), lines.end(), prefix + ".scheduler.streaming.max_lag.time:1200|ms"), lines.end());
  m.counter("scheduler.streaming.check.success.count") += 3;
  lines = statsdLines(m, testCatalog(), prefix, previous);
  EXPECT_NE(std::find(lines.begin(), lines.end(), prefix + ".scheduler.streaming.check.success.count:3|c"), lines.end());
}

}  // namespace
}  // namespace tidewatch
