// probe.http built exactly as the daemon builds it: YAML → Config → registry → Probe.
#include <gtest/gtest.h>

#include <future>

#include "io/event_loop.h"
#include "pipeline/config.h"
#include "core/metrics.h"
#include "pipeline/registry.h"
#include "stages/register_all.h"
#include "tests/fakes/probe_callbacks.h"
#include "tests/support/fake_dns.h"
#include "tests/support/fake_http.h"

namespace tidewatch {
namespace {

using testing::FakeDns;
using testing::FakeServer;

std::string yaml(const FakeDns& dns, const std::string& extra_probe = "") {
  return "pipeline:\n"
         "  source: {type: source.generated, url: 'http://site-%07d.fleet.test/', count: 1}\n"
         "  probe: {type: probe.http}\n"
         "resolver:\n"
         "  servers: ['" +
         dns.address() +
         "']\n"
         "  timeout_ms: 300\n"
         "  tries: 1\n"
         "probe:\n"
         "  allow_private_targets: true\n"
         "  default_timeout_s: 2\n" +
         extra_probe;
}

ProbeResult runOne(const std::string& config_yaml, const std::string& url) {
  ConfigDiagnostics diag;
  Config cfg = parseConfigString(config_yaml, builtinStages(), diag);
  EXPECT_TRUE(diag.ok()) << diag.firstError();
  io::AsioEventLoop loop(1);
  loop.start();
  Metrics metrics;
  StageContext ctx{cfg, loop, metrics, &loop};
  auto probe = builtinStages().create<Probe>(cfg.pipeline.probe, ctx);
  testing::PromisedCheck done;
  probe->start(testing::checkOf(url), done);
  auto f = done.promise.get_future();
  EXPECT_EQ(f.wait_for(std::chrono::seconds(10)), std::future_status::ready);
  ProbeResult r = f.get()->result;
  probe.reset();
  loop.stop();
  return r;
}

TEST(HttpProbeStage, IsRegisteredAsProbeHttp) {
  const StageFactory* f = builtinStages().find("probe.http");
  ASSERT_NE(f, nullptr);
  EXPECT_EQ(f->kind, StageKind::kProbe);
}

TEST(HttpProbeStage, BuiltFromYamlChecksASite) {
  FakeDns dns;
  dns.set("site.test", {FakeDns::Mode::kAnswer, {"127.0.0.1"}, {}, 300});
  FakeServer s(testing::respondWith(testing::okResponse("hello")));
  auto r = runOne(yaml(dns), "http://site.test:" + std::to_string(s.port()) + "/");
  EXPECT_EQ(r.error, ErrorCode::kNone) << r.error_detail;
  EXPECT_EQ(r.http_code, 200);
}

TEST(HttpProbeStage, OwnIoThreadsWhenConfigured) {
  FakeDns dns;
  dns.set("site.test", {FakeDns::Mode::kAnswer, {"127.0.0.1"}, {}, 300});
  FakeServer s(testing::respondWith("HTTP/1.1 503 Busy\r\nContent-Length: 0\r\n\r\n"));
  auto r =
      runOne(yaml(dns, "  io_threads: 2\n"), "http://site.test:" + std::to_string(s.port()) + "/");
  EXPECT_EQ(r.http_code, 503);
}

TEST(HttpProbeStage, SafetyIsOnByDefault) {
  FakeDns dns;
  FakeServer s(testing::respondWith(testing::okResponse("internal")));
  std::string cfg = yaml(dns);
  cfg.replace(cfg.find("allow_private_targets: true"), 27, "allow_private_targets: false");
  auto r = runOne(cfg, "http://127.0.0.1:" + std::to_string(s.port()) + "/");
  EXPECT_EQ(r.error, ErrorCode::kProbeSafety);
  EXPECT_EQ(s.connections(), 0);
}

TEST(HttpProbeStage, FollowRedirectsFalseFollowsNone) {
  FakeDns dns;
  dns.set("site.test", {FakeDns::Mode::kAnswer, {"127.0.0.1"}, {}, 300});
  FakeServer s([](int fd, const std::atomic<bool>&) {  // every path redirects to a longer one
    std::string head = testing::readRequestHead(fd);
    std::string path = head.substr(4, head.find(' ', 4) - 4);
    testing::writeAll(fd, "HTTP/1.1 302 Found\r\nLocation: " + path + "x\r\nContent-Length: 0\r\n\r\n");
  });
  std::string url = "http://site.test:" + std::to_string(s.port()) + "/";
  auto r = runOne(yaml(dns, "  follow_redirects: false\n"), url);
  EXPECT_EQ(r.error, ErrorCode::kRedirect);
  EXPECT_EQ(r.http_code, 302);
  EXPECT_EQ(r.redirects, 0);
  EXPECT_NE(r.error_detail.find("probe.follow_redirects"), std::string::npos) << r.error_detail;
  EXPECT_EQ(s.connections(), 1);
  auto followed = runOne(yaml(dns, "  max_redirects: 1\n"), url);  // /x redirects to /xx
  EXPECT_EQ(followed.error, ErrorCode::kRedirect);
  EXPECT_EQ(followed.redirects, 1);
  EXPECT_NE(followed.error_detail.find("probe.max_redirects"), std::string::npos)
      << followed.error_detail;
}

TEST(HttpProbeStage, UnknownOptionIsAConfigError) {
  ConfigDiagnostics diag;
  parseConfigString(
      "pipeline:\n  source: {type: source.generated, url: 'http://s-%d.t/'}\n  probe: {type: "
      "probe.http, bogus: 1}\n",
      builtinStages(), diag);
  EXPECT_FALSE(diag.ok());
  EXPECT_NE(diag.firstError().find("bogus"), std::string::npos) << diag.firstError();
}

}  // namespace
}  // namespace tidewatch
