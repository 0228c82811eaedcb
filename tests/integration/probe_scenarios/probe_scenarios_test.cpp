// probe.http (built from YAML through the registry, as the daemon does) against
// tidewatch-fixture: each scenarios.md §4 row that a single check decides, with the exact
// error code, DNS kind, phase and timing fields the classifier and the database will see.
// Deadlines are shortened (default_timeout_s: 4) so 35 s stalls cost 4 s here; the codes
// are the same as with Jetmon's 10 s.
#include <gtest/gtest.h>
#include <sys/resource.h>

#include <fstream>
#include <future>

#include "io/event_loop.h"
#include "pipeline/config.h"
#include "core/metrics.h"
#include "pipeline/registry.h"
#include "stages/register_all.h"
#include "tests/fakes/probe_callbacks.h"
#include "tests/support/fixture_process.h"
#include "tests/support/process_memory.h"

namespace tidewatch {
namespace {

using nlohmann::json;

constexpr int kDeadlineS = 4;
// Forbidden patterns an operator would configure for defacement and injected content; the
// healthy "fatal error" article must not trip them (scenario 29 trap).
const std::vector<std::string> kForbidden = {
    "HACKED",   "DARKLOCK",     "H4CK3D",      "<b>Fatal error</b>",
    "coinhive", "cheap viagra", "casino bonus"};

class ProbeScenarios : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    fixture_ = new testing::FixtureProcess(testing::FixtureProcess::Options{.fleet_count = 1000});
    std::string yaml =
        "pipeline:\n"
        "  source: {type: source.generated, url: 'http://site-%07d.fleet.test/', count: 1}\n"
        "  probe: {type: probe.http}\n"
        "resolver:\n"
        "  servers: ['127.0.0.1:" +
        std::to_string(fixture_->dnsPort(0)) +
        "', '127.0.0.1:" + std::to_string(fixture_->dnsPort(1)) +
        "']\n"
        "  timeout_ms: 500\n"
        "  tries: 2\n"
        "probe:\n"
        "  tls12_resumption: true\n"
        "  allow_private_targets: true\n"
        "  ca_file: '" +
        fixture_->caFile() +
        "'\n"
        "  default_timeout_s: " +
        std::to_string(kDeadlineS) + "\n";
    ConfigDiagnostics diag;
    config_ = new Config(parseConfigString(yaml, builtinStages(), diag));
    if (!diag.ok()) throw std::runtime_error("config: " + diag.firstError() + "\n" + yaml);
    loop_ = new io::AsioEventLoop(2);
    loop_->start();
    metrics_ = new Metrics;
    ctx_ = new StageContext{*config_, *loop_, *metrics_, loop_};
    probe_ = builtinStages().create<Probe>(config_->pipeline.probe, *ctx_).release();
  }
  static void TearDownTestSuite() {
    delete probe_;
    loop_->stop();
    delete loop_;
    delete ctx_;
    delete metrics_;
    delete config_;
    delete fixture_;
  }
  void TearDown() override { fixture_->deactivateAll(); }

  // A fresh host per test (no DNS cache carry-over between scenarios).
  static std::uint32_t nextHost() {
    static std::uint32_t id = 1;
    return id++;
  }

  std::string host(std::uint32_t id) { return fixture_->hostName(id); }
  std::string httpUrl(std::uint32_t id, const std::string& path = "/") {
    return "http://" + host(id) + ":" + std::to_string(fixture_->httpPort()) + path;
  }
  std::string httpsUrl(std::uint32_t id, const std::string& path = "/") {
    return "https://" + host(id) + ":" + std::to_string(fixture_->httpsPort()) + path;
  }

  ProbeResult check(const std::string& url, SiteConfig site = {}) {
    CheckPtr c = testing::checkOf(url, std::move(site));
    testing::PromisedCheck done;
    auto t0 = std::chrono::steady_clock::now();
    probe_->start(c, done);
    auto f = done.promise.get_future();
    if (f.wait_for(std::chrono::seconds(kDeadlineS + 5)) != std::future_status::ready) {
      ADD_FAILURE() << "check did not complete within its deadline";
      std::abort();
    }
    EXPECT_LT(std::chrono::steady_clock::now() - t0,
              std::chrono::seconds(kDeadlineS) + std::chrono::milliseconds(700));
    return f.get()->result;
  }

  ProbeResult checkWith(const json& failure, const std::string& url, SiteConfig site = {}) {
    fixture_->activate(failure);
    return check(url, std::move(site));
  }

  static SiteConfig contentRules() {
    SiteConfig s;
    s.check_keyword = "uptime-bench-canary";
    s.forbidden_keywords = kForbidden;
    return s;
  }

  static inline testing::FixtureProcess* fixture_ = nullptr;
  static inline Config* config_ = nullptr;
  static inline io::AsioEventLoop* loop_ = nullptr;
  static inline Metrics* metrics_ = nullptr;
  static inline StageContext* ctx_ = nullptr;
  static inline Probe* probe_ = nullptr;
};

void expectUp(const ProbeResult& r) {
  EXPECT_EQ(r.error, ErrorCode::kNone) << r.error_detail;
  EXPECT_EQ(r.http_code, 200);
  EXPECT_EQ(r.dns_error, DnsErrorKind::kNone);
  EXPECT_EQ(r.failed_phase, ProbePhase::kNone);
}

// ---- healthy baseline ----

TEST_F(ProbeScenarios, HealthySiteIsUpWithTimings) {
  auto id = nextHost();
  auto r = check(httpUrl(id), contentRules());
  expectUp(r);
  EXPECT_EQ(r.resolved_ip, fixture_->addressOf(id));
  EXPECT_GT(r.body_bytes, 300u);
  EXPECT_EQ(r.tls.version, 0);
  EXPECT_EQ(r.timings.tls_ms, 0u);
  EXPECT_LE(r.timings.ttfb_ms, r.timings.rtt_ms);
}

TEST_F(ProbeScenarios, HealthyHttpsSiteHasTlsFactsAndResumes) {
  auto id = nextHost();
  auto r = check(httpsUrl(id));
  expectUp(r);
  EXPECT_GE(r.tls.version, 0x0303);
  EXPECT_FALSE(r.tls.cipher.empty());
  EXPECT_GT(r.tls.cert_not_after, std::time(nullptr));
  // probe.tls12_resumption: check 2 is a full handshake capped at TLS 1.2 (the fixture, like
  // an OpenSSL/nginx server, issues a TLS 1.2 ticket), check 3 resumes it.
  auto capped = check(httpsUrl(id));
  expectUp(capped);
  EXPECT_TRUE(capped.tls.tls12_capped);
  EXPECT_FALSE(capped.tls.resumed);
  auto again = check(httpsUrl(id));
  expectUp(again);
  EXPECT_TRUE(again.tls.resumed);
  EXPECT_TRUE(again.tls.tls12_capped);
  EXPECT_EQ(again.tls.version, 0x0303);
}

// ---- §4 rows 1, 4–13: HTTP ----

TEST_F(ProbeScenarios, Row1Http503) {
  auto id = nextHost();
  auto r =
      checkWith({{"type", "http_status"}, {"host", host(id)}, {"status_code", 503}}, httpUrl(id));
  EXPECT_EQ(r.http_code, 503);
  EXPECT_EQ(r.error, ErrorCode::kNone);
}

TEST_F(ProbeScenarios, Row4HeadOkGet503IsDown) {
  auto id = nextHost();
  auto r = checkWith(
      {{"type", "http_method_status"}, {"host", host(id)}, {"method", "GET"}, {"status_code", 503}},
      httpUrl(id));
  EXPECT_EQ(r.http_code, 503);
  EXPECT_EQ(r.method, HttpMethod::kGet);
}

TEST_F(ProbeScenarios, Row5TrapHead405Get200IsUp) {
  auto id = nextHost();
  expectUp(checkWith({{"type", "http_method_status"},
                      {"host", host(id)},
                      {"method", "HEAD"},
                      {"status_code", 405}},
                     httpUrl(id)));
}

TEST_F(ProbeScenarios, Row6TrapHeadStallGet200IsUp) {
  auto id = nextHost();
  expectUp(checkWith({{"type", "http_timeout"},
                      {"host", host(id)},
                      {"method", "HEAD"},
                      {"phase", "ttfb"},
                      {"delay", 35}},
                     httpUrl(id)));
}

TEST_F(ProbeScenarios, Row7GetTtfbStallIsTimeout) {
  auto id = nextHost();
  auto r = checkWith({{"type", "http_timeout"},
                      {"host", host(id)},
                      {"method", "GET"},
                      {"phase", "ttfb"},
                      {"delay", 35}},
                     httpUrl(id));
  EXPECT_EQ(r.error, ErrorCode::kTimeout);
  EXPECT_EQ(r.failed_phase, ProbePhase::kFirstByte);
  EXPECT_EQ(r.timings.ttfb_ms, 0u);
  EXPECT_EQ(r.timings.rtt_ms, 0u);
  EXPECT_GT(r.timings.tcp_ms + 1, 0u);
}

TEST_F(ProbeScenarios, Row8TimeoutBodyAndTotal) {
  auto id = nextHost();
  auto body =
      checkWith({{"type", "http_timeout"}, {"host", host(id)}, {"phase", "body"}, {"delay", 35}},
                httpUrl(id));
  EXPECT_EQ(body.error, ErrorCode::kTimeout);
  EXPECT_EQ(body.failed_phase, ProbePhase::kBody);
  EXPECT_EQ(body.http_code, 200);
  fixture_->deactivateAll();
  auto id2 = nextHost();
  auto total =
      checkWith({{"type", "http_timeout"}, {"host", host(id2)}, {"phase", "total"}, {"delay", 35}},
                httpUrl(id2));
  EXPECT_EQ(total.error, ErrorCode::kTimeout);
}

TEST_F(ProbeScenarios, Row9LatencyIsRecordedInRtt) {
  auto id = nextHost();
  auto r = checkWith({{"type", "http_latency"}, {"host", host(id)}, {"delay", 2}}, httpUrl(id));
  expectUp(r);
  EXPECT_GE(r.timings.rtt_ms, 2000u);
  EXPECT_GE(r.timings.ttfb_ms, 2000u);
}

TEST_F(ProbeScenarios, Row10HeaderStatusNeedsTheCustomHeader) {
  auto id = nextHost();
  fixture_->activate({{"type", "http_header_status"},
                      {"host", host(id)},
                      {"header_name", "X-Uptime-Bench"},
                      {"header_value", "header-status"},
                      {"status_code", 503}});
  SiteConfig site;
  site.custom_headers = {{"X-Uptime-Bench", "header-status"}};
  EXPECT_EQ(check(httpUrl(id), site).http_code, 503);
  expectUp(check(httpUrl(id)));
}

TEST_F(ProbeScenarios, Row11PartialBodyIsCode8) {
  auto id = nextHost();
  auto r = checkWith({{"type", "http_partial"}, {"host", host(id)}, {"truncate_after_bytes", 100}},
                     httpUrl(id));
  EXPECT_EQ(r.error, ErrorCode::kBodyRead) << r.error_detail;
  EXPECT_EQ(r.http_code, 200);
  EXPECT_EQ(r.failed_phase, ProbePhase::kBody);
  EXPECT_EQ(r.body_bytes, 100u);
}

TEST_F(ProbeScenarios, Row12RedirectLoopIsCode4) {
  auto id = nextHost();
  auto r =
      checkWith({{"type", "http_redirect"}, {"host", host(id)}, {"variant", "loop"}}, httpUrl(id));
  EXPECT_EQ(r.error, ErrorCode::kRedirect) << r.error_detail;
}

TEST_F(ProbeScenarios, Row13EndlessRedirectChainIsCode4AfterTenHops) {
  auto id = nextHost();
  auto r = checkWith(
      {{"type", "http_redirect"}, {"host", host(id)}, {"variant", "chain"}, {"chain_length", 15}},
      httpUrl(id));
  EXPECT_EQ(r.error, ErrorCode::kRedirect) << r.error_detail;
  EXPECT_EQ(r.redirects, 10);
}

// ---- rows 14–15: TCP ----

TEST_F(ProbeScenarios, Row14TcpRefusedIsCode2) {
  auto id = nextHost();
  auto r = checkWith({{"type", "tcp_refused"}, {"host", host(id)}}, httpUrl(id));
  EXPECT_EQ(r.error, ErrorCode::kConnect) << r.error_detail;
  EXPECT_EQ(r.dns_error, DnsErrorKind::kNone);
}

TEST_F(ProbeScenarios, Row15TcpTimeoutIsCode1) {
  auto id = nextHost();
  auto r = checkWith({{"type", "tcp_timeout"}, {"host", host(id)}, {"delay", 60}}, httpUrl(id));
  EXPECT_EQ(r.error, ErrorCode::kTimeout) << r.error_detail;
  EXPECT_EQ(r.failed_phase, ProbePhase::kFirstByte);
}

// ---- rows 16–18: DNS ----

TEST_F(ProbeScenarios, Row16DnsFailuresAreCode2WithTheirKind) {
  struct Case {
    const char* type;
    DnsErrorKind kind;
  } cases[] = {{"dns_nxdomain", DnsErrorKind::kNxDomain},
               {"dns_servfail", DnsErrorKind::kServFail},
               {"dns_timeout", DnsErrorKind::kTimeout},
               {"dns_cname_nxdomain", DnsErrorKind::kNxDomain}};
  for (const auto& c : cases) {
    auto id = nextHost();
    auto r = checkWith({{"type", c.type}, {"host", host(id)}}, httpUrl(id));
    EXPECT_EQ(r.error, ErrorCode::kConnect) << c.type << ": " << r.error_detail;
    EXPECT_EQ(r.dns_error, c.kind) << c.type << ": " << r.error_detail;
    EXPECT_EQ(r.failed_phase, ProbePhase::kResolve) << c.type;
    EXPECT_EQ(r.timings.dns_ms, 0u);
    EXPECT_EQ(r.http_code, 0);
  }
}

TEST_F(ProbeScenarios, Row17DnsLatencyCountsTowardsTheCheckButStaysUp) {
  auto id = nextHost();
  // Below the 500 ms per-try timeout: slow but answered on the first try.
  auto r = checkWith({{"type", "dns_latency"}, {"host", host(id)}, {"added_latency_ms", 300}},
                     httpUrl(id));
  expectUp(r);
  EXPECT_GE(r.timings.dns_ms, 300u);
  EXPECT_GE(r.timings.rtt_ms, r.timings.dns_ms);
}

TEST_F(ProbeScenarios, Row18TrapOneOfTwoNameserversDownIsUp) {
  for (const char* mode : {"silent", "servfail"}) {
    auto id = nextHost();
    auto r = checkWith(
        {{"type", "dns_ns_unavailable"}, {"host", host(id)}, {"mode", mode}, {"instance", "ns1"}},
        httpUrl(id));
    expectUp(r);
    fixture_->deactivateAll();
  }
}

// ---- rows 19–23: TLS ----

TEST_F(ProbeScenarios, Row19ExpiredCertificateIsCode6) {
  auto id = nextHost();
  auto r =
      checkWith({{"type", "tls_expired"}, {"host", host(id)}, {"days_expired", 30}}, httpsUrl(id));
  EXPECT_EQ(r.error, ErrorCode::kTlsExpired) << r.error_detail;
  EXPECT_LT(r.tls.cert_not_after, std::time(nullptr) - 29 * 86400);
}

TEST_F(ProbeScenarios, Row20InvalidCertificatesAreCode3) {
  for (const char* variant : {"self_signed", "hostname_mismatch"}) {
    auto id = nextHost();
    auto r = checkWith({{"type", "tls_invalid"}, {"host", host(id)}, {"variant", variant}},
                       httpsUrl(id));
    EXPECT_EQ(r.error, ErrorCode::kSsl) << variant << ": " << r.error_detail;
    EXPECT_EQ(r.failed_phase, ProbePhase::kTlsHandshake);
    fixture_->deactivateAll();
  }
}

TEST_F(ProbeScenarios, Row21HandshakeVersionMismatchIsCode3) {
  auto id = nextHost();
  auto r =
      checkWith({{"type", "tls_handshake"}, {"host", host(id)}, {"reason", "version_mismatch"}},
                httpsUrl(id));
  EXPECT_EQ(r.error, ErrorCode::kSsl) << r.error_detail;
}

TEST_F(ProbeScenarios, Row22ExpiringCertificateIsUpWithItsExpiry) {
  auto id = nextHost();
  auto r = checkWith({{"type", "tls_expiring"}, {"host", host(id)}, {"days_remaining", 5}},
                     httpsUrl(id));
  expectUp(r);
  auto left = r.tls.cert_not_after - std::time(nullptr);
  EXPECT_GT(left, 4 * 86400);
  EXPECT_LT(left, 6 * 86400);
}

TEST_F(ProbeScenarios, Row23DeprecatedTls11IsAdvisoryCode7) {
  auto id = nextHost();
  auto r = checkWith({{"type", "tls_deprecated"}, {"host", host(id)}, {"variant", "TLS11"}},
                     httpsUrl(id));
  EXPECT_EQ(r.error, ErrorCode::kTlsDeprecated) << r.error_detail;
  EXPECT_EQ(r.http_code, 200);
  EXPECT_EQ(r.tls.version, 0x0302);
}

// ---- rows 24–29: content ----

TEST_F(ProbeScenarios, Rows24To29ContentRules) {
  struct Case {
    const char* variant;
    ErrorCode code;
    KeywordRule rule;
  } cases[] = {
      {"keyword_missing", ErrorCode::kKeyword, KeywordRule::kRequired},
      {"keyword_injected", ErrorCode::kKeyword, KeywordRule::kForbidden},
      {"empty", ErrorCode::kKeyword, KeywordRule::kRequired},
      {"error_page", ErrorCode::kKeyword, KeywordRule::kRequired},
      {"ransomware", ErrorCode::kKeyword, KeywordRule::kRequired},
      {"defacement", ErrorCode::kKeyword, KeywordRule::kRequired},
      {"malicious_script", ErrorCode::kKeyword, KeywordRule::kForbidden},
      {"spam_links", ErrorCode::kKeyword, KeywordRule::kForbidden},
      {"wp_php_fatal", ErrorCode::kKeyword,
       KeywordRule::kRequired},  // canary gone too: required is checked first
      {"healthy_fatal_article", ErrorCode::kNone, KeywordRule::kNone},  // trap
  };
  for (const auto& c : cases) {
    auto id = nextHost();
    auto r = checkWith({{"type", "http_body"}, {"host", host(id)}, {"variant", c.variant}},
                       httpUrl(id), contentRules());
    EXPECT_EQ(r.error, c.code) << c.variant << ": " << r.error_detail;
    EXPECT_EQ(r.keyword_rule, c.rule) << c.variant;
    EXPECT_EQ(r.http_code, 200) << c.variant;
    fixture_->deactivateAll();
  }
}

// ---- transport oddities ----

TEST_F(ProbeScenarios, TrickleOneBytePerSecondIsCutOffByTheDeadline) {
  auto id = nextHost();
  auto r = checkWith(
      {{"type", "http_body"}, {"host", host(id)}, {"variant", "trickle"}, {"interval", 1}},
      httpUrl(id));
  EXPECT_EQ(r.error, ErrorCode::kTimeout) << r.error_detail;
}

TEST_F(ProbeScenarios, OneGigabyteBodyKeepsMemoryFlat) {
  long before = testing::rssKb();
  for (const char* variant : {"huge", "huge_no_length"}) {
    auto id = nextHost();
    auto r =
        checkWith({{"type", "http_body"}, {"host", host(id)}, {"variant", variant}}, httpUrl(id));
    expectUp(r);
    EXPECT_EQ(r.body_bytes, 1024u * 1024) << variant;
    fixture_->deactivateAll();
  }
  EXPECT_LT(testing::rssKb() - before, 8 * 1024);
}

TEST_F(ProbeScenarios, OneMegabyteHeaderLineIsClassifiedAndMemoryFlat) {
  long before = testing::rssKb();
  auto id = nextHost();
  auto r = checkWith(
      {{"type", "http_body"}, {"host", host(id)}, {"variant", "header_line"}, {"bytes", 1 << 20}},
      httpUrl(id));
  EXPECT_EQ(r.error, ErrorCode::kConnect) << r.error_detail;
  EXPECT_EQ(r.failed_phase, ProbePhase::kHeaders);
  EXPECT_LT(testing::rssKb() - before, 8 * 1024);
}

TEST_F(ProbeScenarios, GarbageInsteadOfHttpIsClassified) {
  auto id = nextHost();
  auto r =
      checkWith({{"type", "http_body"}, {"host", host(id)}, {"variant", "garbage"}}, httpUrl(id));
  EXPECT_EQ(r.error, ErrorCode::kConnect) << r.error_detail;
  EXPECT_EQ(r.failed_phase, ProbePhase::kHeaders);
}

TEST_F(ProbeScenarios, ChunkedBodiesComplete) {
  auto id = nextHost();
  expectUp(checkWith({{"type", "http_body"}, {"host", host(id)}, {"variant", "chunked"}},
                     httpUrl(id), contentRules()));
  fixture_->deactivateAll();
  auto id2 = nextHost();
  auto r =
      checkWith({{"type", "http_body"}, {"host", host(id2)}, {"variant", "chunked_unfinished"}},
                httpUrl(id2));
  EXPECT_EQ(r.error, ErrorCode::kBodyRead) << r.error_detail;
}

}  // namespace
}  // namespace tidewatch
