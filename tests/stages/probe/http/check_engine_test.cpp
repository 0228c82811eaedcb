// stages::HttpCheckEngine against real loopback servers (tests/support): error codes, phases,
// DNS kinds, timings, redirects, body integrity, content rules, TLS and probe safety.
#include "stages/probe/http/check_engine.h"

#include <gtest/gtest.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/resource.h>
#include <sys/socket.h>

#include <asio/executor_work_guard.hpp>
#include <filesystem>
#include <fstream>
#include <future>
#include <thread>

#include "tests/fakes/probe_callbacks.h"
#include "tests/support/fake_dns.h"
#include "tests/support/fake_http.h"
#include "tests/support/process_memory.h"
#include "tests/support/test_certs.h"

namespace tidewatch::stages {
namespace {

using namespace std::chrono_literals;
using io::Resolver;
using io::ResolverOptions;
using io::TlsContext;
using io::TlsOptions;
using testing::FakeDns;
using testing::FakeServer;
using testing::okResponse;
using testing::readRequestHead;
using testing::respondWith;
using testing::writeAll;

class HttpCheckEngineTest : public ::testing::Test {
 protected:
  void SetUp() override {
    guard_.emplace(io_.get_executor());
    for (int i = 0; i < 2; ++i) threads_.emplace_back([this] { io_.run(); });
    dns_.set("site.test", {FakeDns::Mode::kAnswer, {"127.0.0.1"}, {}, 300});
    dns_.set("localhost.test", {FakeDns::Mode::kAnswer, {"127.0.0.1"}, {}, 300});
  }
  void TearDown() override {
    client_.reset();
    guard_.reset();
    for (auto& t : threads_) t.join();
  }

  HttpCheckEngine& client(bool allow_private = true, std::string ca_file = "") {
    if (!client_) {
      ResolverOptions ro;
      ro.servers = {dns_.address()};
      ro.timeout_ms = 300;
      ro.tries = 1;
      TlsOptions to;
      to.ca_file = std::move(ca_file);
      to.tls12_resumption = true;  // the HTTPS tests below exercise the policy
      HttpCheckOptions co;
      co.allow_private_targets = allow_private;
      client_ = std::make_unique<HttpCheckEngine>(io_, std::make_shared<Resolver>(io_, ro),
                                             std::make_shared<TlsContext>(to), co);
    }
    return *client_;
  }

  // An engine with the test's own options, resolving through the fake DNS unless `ro` names
  // its servers.
  void engine(HttpCheckOptions co, ResolverOptions ro = {}, std::optional<TlsOptions> to = std::nullopt) {
    if (ro.servers.empty()) ro.servers = {dns_.address()};
    client_ = std::make_unique<HttpCheckEngine>(io_, std::make_shared<Resolver>(io_, ro),
                                                to ? std::make_shared<TlsContext>(*to) : nullptr, co);
  }

  ProbeResult check(const std::string& url, SiteConfig site = {}, std::chrono::seconds wait = 30s) {
    CheckPtr c = testing::checkOf(url, std::move(site));
    testing::PromisedCheck done;
    client().start(c, done);
    auto f = done.promise.get_future();
    if (f.wait_for(wait) != std::future_status::ready) {
      ADD_FAILURE() << "check did not complete";
      std::abort();  // `done` is referenced by the in-flight check
    }
    std::this_thread::sleep_for(5ms);
    EXPECT_EQ(done.calls.load(), 1);
    return f.get()->result;
  }

  std::string url(const FakeServer& s, std::string_view path = "/",
                  std::string_view host = "site.test") {
    return "http://" + std::string(host) + ":" + std::to_string(s.port()) + std::string(path);
  }

  asio::io_context io_;
  std::optional<asio::executor_work_guard<asio::io_context::executor_type>> guard_;
  std::vector<std::thread> threads_;
  FakeDns dns_;
  std::unique_ptr<HttpCheckEngine> client_;
};

SiteConfig timeout(int s) {
  SiteConfig c;
  c.timeout_seconds = static_cast<std::uint16_t>(s);
  return c;
}

// ---- basics ----

TEST_F(HttpCheckEngineTest, HealthySiteIsUpWithTimings) {
  FakeServer s(respondWith(okResponse("<html>uptime-bench-canary</html>")));
  auto r = check(url(s));
  EXPECT_EQ(r.error, ErrorCode::kNone) << r.error_detail;
  EXPECT_EQ(r.http_code, 200);
  EXPECT_EQ(r.body_bytes, 32u);
  EXPECT_EQ(r.resolved_ip, "127.0.0.1");
  EXPECT_EQ(r.failed_phase, ProbePhase::kNone);
  EXPECT_LT(r.timings.rtt_ms, 1000u);
  EXPECT_EQ(r.tls.version, 0);
  EXPECT_GT(r.finished_at_ms, 0);
}

TEST_F(HttpCheckEngineTest, ErrorStatusIsReportedWithoutReadingTheBody) {
  FakeServer s(
      respondWith("HTTP/1.1 503 Service Unavailable\r\nContent-Length: 1000000\r\n\r\nbusy"));
  auto r = check(url(s));
  EXPECT_EQ(r.http_code, 503);
  EXPECT_EQ(r.error, ErrorCode::kNone);
}

TEST_F(HttpCheckEngineTest, RequestCarriesUserAgentHostAndCustomHeaders) {
  std::promise<std::string> seen;
  FakeServer s([&](int fd, const std::atomic<bool>&) {
    seen.set_value(readRequestHead(fd));
    writeAll(fd, okResponse("ok"));
  });
  SiteConfig site;
  site.custom_headers = {
      {"X-Uptime-Bench", "header-status"}, {"Bad\r\nHeader", "x"}, {"Connection", "keep-alive"}};
  auto r = check(url(s, "/p?q=1"), site);
  EXPECT_EQ(r.http_code, 200);
  std::string head = seen.get_future().get();
  EXPECT_EQ(head.rfind("GET /p?q=1 HTTP/1.1\r\n", 0), 0u) << head;
  EXPECT_NE(head.find("Host: site.test:" + std::to_string(s.port()) + "\r\n"), std::string::npos);
  EXPECT_NE(head.find("User-Agent: jetmon/2.0 (Jetpack Site Uptime Monitor by WordPress.com)\r\n"),
            std::string::npos);
  EXPECT_NE(head.find("Connection: close\r\n"), std::string::npos);
  EXPECT_EQ(head.find("keep-alive"), std::string::npos);
  EXPECT_NE(head.find("X-Uptime-Bench: header-status\r\n"), std::string::npos);
  EXPECT_EQ(head.find("Bad"), std::string::npos);
}

TEST_F(HttpCheckEngineTest, CustomUserAgentOverridesOurs) {
  std::promise<std::string> seen;
  FakeServer s([&](int fd, const std::atomic<bool>&) {
    seen.set_value(readRequestHead(fd));
    writeAll(fd, okResponse("ok"));
  });
  SiteConfig site;
  site.custom_headers = {{"user-agent", "custom/1"}};
  check(url(s), site);
  std::string head = seen.get_future().get();
  EXPECT_NE(head.find("user-agent: custom/1\r\n"), std::string::npos);
  EXPECT_EQ(head.find("jetmon/2.0"), std::string::npos);
}

TEST_F(HttpCheckEngineTest, HeadMethodPerSite) {
  std::promise<std::string> seen;
  FakeServer s([&](int fd, const std::atomic<bool>&) {
    seen.set_value(readRequestHead(fd));
    writeAll(fd, "HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n");
  });
  SiteConfig site;
  site.method = HttpMethod::kHead;
  auto r = check(url(s), site);
  EXPECT_EQ(r.http_code, 200);
  EXPECT_EQ(r.error, ErrorCode::kNone);
  EXPECT_EQ(r.method, HttpMethod::kHead);
  EXPECT_EQ(seen.get_future().get().rfind("HEAD / HTTP/1.1", 0), 0u);
}

// HEAD → 405 but GET → 200, and HEAD stalls but GET answers: both are traps; we GET by default.
TEST_F(HttpCheckEngineTest, TrapHead405Get200IsUp) {
  FakeServer s([](int fd, const std::atomic<bool>& stop) {
    std::string head = readRequestHead(fd);
    if (head.rfind("HEAD", 0) == 0) {
      writeAll(fd, "HTTP/1.1 405 Method Not Allowed\r\nContent-Length: 0\r\n\r\n");
    } else {
      writeAll(fd, okResponse("fine"));
    }
  });
  auto r = check(url(s));
  EXPECT_EQ(r.http_code, 200);
  EXPECT_EQ(r.error, ErrorCode::kNone);
}

TEST_F(HttpCheckEngineTest, TrapHeadStallGet200IsUp) {
  FakeServer s([](int fd, const std::atomic<bool>& stop) {
    std::string head = readRequestHead(fd);
    if (head.rfind("HEAD", 0) == 0) {
      testing::sleepUnlessStopped(stop, 35000);
    } else {
      writeAll(fd, okResponse("fine"));
    }
  });
  auto r = check(url(s), timeout(2));
  EXPECT_EQ(r.http_code, 200);
  EXPECT_EQ(r.error, ErrorCode::kNone);
}

// ---- transport failures and deadlines ----

TEST_F(HttpCheckEngineTest, RefusedConnectionIsCode2InConnect) {
  std::uint16_t port;
  {
    FakeServer s(respondWith(""));
    port = s.port();
  }
  auto r = check("http://site.test:" + std::to_string(port) + "/");
  EXPECT_EQ(r.error, ErrorCode::kConnect);
  EXPECT_EQ(r.failed_phase, ProbePhase::kConnect);
  EXPECT_EQ(r.timings.tcp_ms, 0u);
  EXPECT_EQ(r.timings.rtt_ms, 0u);
}

TEST_F(HttpCheckEngineTest, AcceptedThenClosedIsCode2) {
  FakeServer s([](int, const std::atomic<bool>&) {});  // tcp_refused: accept, close, no bytes
  auto r = check(url(s));
  EXPECT_EQ(r.error, ErrorCode::kConnect);
  EXPECT_EQ(r.failed_phase, ProbePhase::kFirstByte);
}

TEST_F(HttpCheckEngineTest, SilentServerIsATimeoutAtTheDeadline) {
  FakeServer s(
      [](int fd, const std::atomic<bool>& stop) { testing::sleepUnlessStopped(stop, 60000); });
  auto t0 = std::chrono::steady_clock::now();
  auto r = check(url(s), timeout(1));
  auto took = std::chrono::steady_clock::now() - t0;
  EXPECT_EQ(r.error, ErrorCode::kTimeout);
  EXPECT_EQ(r.failed_phase, ProbePhase::kFirstByte);
  EXPECT_GE(took, 950ms);
  EXPECT_LT(took, 1500ms);
  EXPECT_EQ(r.timings.ttfb_ms, 0u);
  EXPECT_EQ(r.timings.rtt_ms, 0u);
}

TEST_F(HttpCheckEngineTest, OneBytePerSecondTrickleIsCutOffByTheDeadline) {
  FakeServer s([](int fd, const std::atomic<bool>& stop) {
    readRequestHead(fd);
    std::string resp = okResponse(std::string(100, 'x'));
    for (char c : resp) {
      if (!writeAll(fd, std::string_view(&c, 1)) || !testing::sleepUnlessStopped(stop, 1000))
        return;
    }
  });
  auto t0 = std::chrono::steady_clock::now();
  auto r = check(url(s), timeout(2));
  EXPECT_EQ(r.error, ErrorCode::kTimeout);
  EXPECT_EQ(r.failed_phase, ProbePhase::kHeaders);
  EXPECT_LT(std::chrono::steady_clock::now() - t0, 2500ms);
  EXPECT_GT(r.timings.ttfb_ms + 1, 0u);
}

TEST_F(HttpCheckEngineTest, BodyStallAfterHeadersIsATimeout) {
  FakeServer s([](int fd, const std::atomic<bool>& stop) {
    readRequestHead(fd);
    writeAll(fd, "HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\nabc");
    testing::sleepUnlessStopped(stop, 35000);
  });
  auto r = check(url(s), timeout(1));
  EXPECT_EQ(r.error, ErrorCode::kTimeout);
  EXPECT_EQ(r.failed_phase, ProbePhase::kBody);
  EXPECT_EQ(r.http_code, 200);
  EXPECT_GT(r.timings.rtt_ms + 1, 0u);
}

TEST_F(HttpCheckEngineTest, GarbageInsteadOfHttpIsCode2InHeaders) {
  FakeServer s(respondWith("SSH-2.0-OpenSSH_9.2p1 Debian\r\n"));
  auto r = check(url(s));
  EXPECT_EQ(r.error, ErrorCode::kConnect);
  EXPECT_EQ(r.failed_phase, ProbePhase::kHeaders);
  EXPECT_NE(r.error_detail.find("not HTTP"), std::string::npos) << r.error_detail;
}

// The first check of a process touches thread stacks, malloc arenas and OpenSSL tables: warm
// up with one small response from the same server, then measure the big one.
TEST_F(HttpCheckEngineTest, HugeHeaderLineIsRejectedAndMemoryStaysFlat) {
  FakeServer s([](int fd, const std::atomic<bool>&) {
    std::string head = readRequestHead(fd);
    if (head.rfind("GET /warm ", 0) == 0) {
      writeAll(fd, okResponse("warm"));
      return;
    }
    writeAll(fd, "HTTP/1.1 200 OK\r\nX-Big: ");
    std::string chunk(64 * 1024, 'h');
    for (int i = 0; i < 256; ++i) {  // a 16 MiB header line
      if (!writeAll(fd, chunk)) return;
    }
    writeAll(fd, "\r\n\r\n");
  });
  EXPECT_EQ(check(url(s, "/warm")).http_code, 200);
  long before = testing::rssKb();
  auto r = check(url(s));
  EXPECT_EQ(r.error, ErrorCode::kConnect);
  EXPECT_EQ(r.failed_phase, ProbePhase::kHeaders);
  EXPECT_NE(r.error_detail.find("too large"), std::string::npos) << r.error_detail;
  EXPECT_LT(testing::rssKb() - before, 2 * 1024);
}

TEST_F(HttpCheckEngineTest, OneGigabyteBodyIsReadOnlyUpToTheLimitWithFlatMemory) {
  FakeServer s([](int fd, const std::atomic<bool>& stop) {
    std::string head = readRequestHead(fd);
    if (head.rfind("GET /warm ", 0) == 0) {
      writeAll(fd, okResponse("warm"));
      return;
    }
    writeAll(fd, "HTTP/1.1 200 OK\r\nContent-Length: 1000000000\r\n\r\n");
    std::string chunk(64 * 1024, 'b');
    for (int i = 0; i < 1000000000 / (64 * 1024) && !stop; ++i) {
      if (!writeAll(fd, chunk)) return;  // the client hung up: expected
    }
  });
  EXPECT_EQ(check(url(s, "/warm")).http_code, 200);
  long before = testing::rssKb();
  auto t0 = std::chrono::steady_clock::now();
  auto r = check(url(s));
  EXPECT_EQ(r.error, ErrorCode::kNone) << r.error_detail;
  EXPECT_EQ(r.http_code, 200);
  EXPECT_EQ(r.body_bytes, 1024u * 1024);
  EXPECT_LT(std::chrono::steady_clock::now() - t0, 3s);
  EXPECT_LT(testing::rssKb() - before, 2 * 1024);
}

TEST_F(HttpCheckEngineTest, PartialBodyIsCode8) {
  // http_partial: Content-Length twice the real body, 100 bytes, then the connection closes.
  FakeServer s(
      respondWith("HTTP/1.1 200 OK\r\nContent-Length: 200\r\n\r\n" + std::string(100, 'p')));
  auto r = check(url(s));
  EXPECT_EQ(r.error, ErrorCode::kBodyRead);
  EXPECT_EQ(r.failed_phase, ProbePhase::kBody);
  EXPECT_EQ(r.http_code, 200);
  EXPECT_EQ(r.body_bytes, 100u);
}

TEST_F(HttpCheckEngineTest, UnfinishedChunkedBodyIsCode8) {
  FakeServer s(respondWith("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n10\r\nabc"));
  auto r = check(url(s));
  EXPECT_EQ(r.error, ErrorCode::kBodyRead);
}

TEST_F(HttpCheckEngineTest, BodyUntilCloseIsComplete) {
  FakeServer s(respondWith("HTTP/1.0 200 OK\r\n\r\nno length, ends at close"));
  auto r = check(url(s));
  EXPECT_EQ(r.error, ErrorCode::kNone) << r.error_detail;
  EXPECT_EQ(r.body_bytes, 24u);
}

TEST_F(HttpCheckEngineTest, EveryResolvedAddressIsTriedBeforeAConnectFailure) {
  FakeServer s(respondWith(okResponse("second address")));
  dns_.set("multi.test",
           {FakeDns::Mode::kAnswer, {"127.0.0.2", "127.0.0.1"}, {}, 300});  // .2 refuses
  auto r = check(url(s, "/", "multi.test"));
  EXPECT_EQ(r.error, ErrorCode::kNone) << r.error_detail;
  EXPECT_EQ(r.resolved_ip, "127.0.0.1");
}

TEST_F(HttpCheckEngineTest, SourceAddressIsTheConnectionsLocalAddress) {
  // probe.source_address: each verifier of the e2e test probes from its own 127.0.0.x, which
  // is how the fixture tells regions apart.
  std::promise<std::string> peer;
  FakeServer s([&peer](int fd, const std::atomic<bool>&) {
    sockaddr_in a{};
    socklen_t len = sizeof a;
    ::getpeername(fd, reinterpret_cast<sockaddr*>(&a), &len);
    char buf[INET_ADDRSTRLEN] = {};
    ::inet_ntop(AF_INET, &a.sin_addr, buf, sizeof buf);
    peer.set_value(buf);
    readRequestHead(fd);
    writeAll(fd, okResponse("ok"));
  });
  HttpCheckOptions co;
  co.allow_private_targets = true;
  co.source_address = asio::ip::make_address("127.0.0.3");
  engine(co);
  auto r = check(url(s));
  EXPECT_EQ(r.error, ErrorCode::kNone) << r.error_detail;
  EXPECT_EQ(peer.get_future().get(), "127.0.0.3");
}

TEST_F(HttpCheckEngineTest, SourceAddressOfTheOtherFamilyIsAConnectErrorNamingIt) {
  HttpCheckOptions co;
  co.allow_private_targets = true;
  co.source_address = asio::ip::make_address("::1");
  engine(co);
  auto r = check("http://site.test:9/");
  EXPECT_EQ(r.error, ErrorCode::kConnect);
  EXPECT_NE(r.error_detail.find("source address ::1 cannot reach 127.0.0.1"), std::string::npos) << r.error_detail;
}

// ---- DNS ----

TEST_F(HttpCheckEngineTest, DnsFailuresAreCode2WithTheirKind) {
  dns_.set("nx.test", FakeDns::only(FakeDns::Mode::kNxDomain));
  dns_.set("sf.test", FakeDns::only(FakeDns::Mode::kServFail));
  dns_.set("slow.test", FakeDns::only(FakeDns::Mode::kDrop));
  auto nx = check("http://nx.test/");
  EXPECT_EQ(nx.error, ErrorCode::kConnect);
  EXPECT_EQ(nx.dns_error, DnsErrorKind::kNxDomain);
  EXPECT_EQ(nx.failed_phase, ProbePhase::kResolve);
  EXPECT_EQ(nx.timings.dns_ms, 0u);
  auto sf = check("http://sf.test/");
  EXPECT_EQ(sf.error, ErrorCode::kConnect);
  EXPECT_EQ(sf.dns_error, DnsErrorKind::kServFail);
  auto to = check("http://slow.test/");
  EXPECT_EQ(to.error, ErrorCode::kConnect);
  EXPECT_EQ(to.dns_error, DnsErrorKind::kTimeout);
}

TEST_F(HttpCheckEngineTest, DnsSlowerThanTheDeadlineIsATimeoutWithDnsKind) {
  // A resolver configured with long tries against a silent server: the check's 1 s wins.
  dns_.set("never.test", FakeDns::only(FakeDns::Mode::kDrop));
  ResolverOptions ro;
  ro.timeout_ms = 5000;
  engine({}, ro);
  auto r = check("http://never.test/", timeout(1));
  EXPECT_EQ(r.error, ErrorCode::kTimeout);
  EXPECT_EQ(r.dns_error, DnsErrorKind::kTimeout);
  EXPECT_EQ(r.failed_phase, ProbePhase::kResolve);
}

TEST_F(HttpCheckEngineTest, DnsSlowerThanTheResolveBudgetIsCode2Timeout) {
  // The resolve phase has its own budget inside the check: running out of it is a DNS
  // failure (code 2, dns timeout), not the request deadline.
  dns_.set("budget.test", FakeDns::only(FakeDns::Mode::kDrop));
  ResolverOptions ro;
  ro.timeout_ms = 5000;
  HttpCheckOptions co;
  co.resolve_budget = std::chrono::milliseconds(300);
  engine(co, ro);
  auto r = check("http://budget.test/", timeout(3));
  EXPECT_EQ(r.error, ErrorCode::kConnect) << r.error_detail;
  EXPECT_EQ(r.dns_error, DnsErrorKind::kTimeout);
  EXPECT_EQ(r.failed_phase, ProbePhase::kResolve);
}

TEST_F(HttpCheckEngineTest, TrapOneOfTwoNameserversDownIsUp) {
  FakeServer s(respondWith(okResponse("ok")));
  FakeDns dead;
  dead.setDefault(FakeDns::Mode::kDrop);
  ResolverOptions ro;
  ro.servers = {dead.address(), dns_.address()};
  ro.timeout_ms = 500;
  ro.tries = 2;
  HttpCheckOptions co;
  co.allow_private_targets = true;
  engine(co, ro);
  auto r = check(url(s));
  EXPECT_EQ(r.error, ErrorCode::kNone) << r.error_detail;
  EXPECT_EQ(r.http_code, 200);
  EXPECT_GE(r.timings.dns_ms, 400u);  // the dead server's try is visible in dns_ms
}

// ---- redirects ----

TEST_F(HttpCheckEngineTest, RelativeRedirectIsFollowed) {
  FakeServer s([](int fd, const std::atomic<bool>&) {
    std::string head = readRequestHead(fd);
    if (head.rfind("GET /start ", 0) == 0) {
      writeAll(fd,
               "HTTP/1.1 301 Moved\r\nLocation: next/../final?x=1\r\nContent-Length: 0\r\n\r\n");
    } else if (head.rfind("GET /final?x=1 ", 0) == 0) {
      writeAll(fd, okResponse("landed"));
    } else {
      writeAll(fd, "HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n");
    }
  });
  auto r = check(url(s, "/start"));
  EXPECT_EQ(r.http_code, 200);
  EXPECT_EQ(r.error, ErrorCode::kNone) << r.error_detail;
  EXPECT_EQ(r.redirects, 1);
  EXPECT_FALSE(r.redirect_changed);
  EXPECT_EQ(r.final_url, url(s, "/final?x=1"));
}

TEST_F(HttpCheckEngineTest, RedirectLoopIsCode4AtOnce) {
  FakeServer s(respondWith("HTTP/1.1 302 Found\r\nLocation: /loop\r\nContent-Length: 0\r\n\r\n"));
  auto r = check(url(s, "/loop"));
  EXPECT_EQ(r.error, ErrorCode::kRedirect);
  EXPECT_EQ(r.redirects, 0);
  EXPECT_EQ(s.connections(), 1);
}

TEST_F(HttpCheckEngineTest, EndlessRedirectChainStopsAfterTenHops) {
  FakeServer s([](int fd, const std::atomic<bool>&) {
    std::string head = readRequestHead(fd);
    std::string path = head.substr(4, head.find(' ', 4) - 4);
    writeAll(fd, "HTTP/1.1 302 Found\r\nLocation: " + path + "/redir\r\nContent-Length: 0\r\n\r\n");
  });
  auto r = check(url(s, "/a"));
  EXPECT_EQ(r.error, ErrorCode::kRedirect);
  EXPECT_EQ(r.redirects, 10);
  EXPECT_EQ(s.connections(), 11);
}

TEST_F(HttpCheckEngineTest, RedirectPolicies) {
  FakeServer s([](int fd, const std::atomic<bool>&) {
    std::string head = readRequestHead(fd);
    if (head.rfind("GET /old ", 0) == 0) {
      writeAll(fd, "HTTP/1.1 308 Permanent\r\nLocation: /new\r\n\r\n");
    } else {
      writeAll(fd, okResponse("new"));
    }
  });
  SiteConfig fail;
  fail.redirect_policy = RedirectPolicy::kFail;
  auto r1 = check(url(s, "/old"), fail);
  EXPECT_EQ(r1.error, ErrorCode::kRedirect);
  EXPECT_EQ(r1.http_code, 308);
  SiteConfig alert;
  alert.redirect_policy = RedirectPolicy::kAlert;
  auto r2 = check(url(s, "/old"), alert);
  EXPECT_EQ(r2.error, ErrorCode::kNone);
  EXPECT_EQ(r2.http_code, 200);
  EXPECT_TRUE(r2.redirect_changed);
}

TEST_F(HttpCheckEngineTest, ThreeXxWithoutLocationIsUp) {
  FakeServer s(respondWith("HTTP/1.1 304 Not Modified\r\n\r\n"));
  auto r = check(url(s));
  EXPECT_EQ(r.http_code, 304);
  EXPECT_EQ(r.error, ErrorCode::kNone);
}

// ---- content rules ----

TEST_F(HttpCheckEngineTest, KeywordRules) {
  FakeServer s([](int fd, const std::atomic<bool>&) {
    std::string head = readRequestHead(fd);
    std::string body = std::string(20000, '.') + "uptime-bench-canary" + std::string(20000, '.');
    if (head.find("/hacked") != std::string::npos) body += "<b>HACKED</b>";
    if (head.find("/article") != std::string::npos)
      body += "<p>Fixing a PHP Fatal error in WordPress</p>";
    if (head.find("/missing") != std::string::npos) body = "no canary";
    // Chunked, in small pieces written separately, so keywords straddle reads.
    std::string wire = testing::chunkedResponse(body, 777);
    for (std::size_t i = 0; i < wire.size(); i += 1000)
      writeAll(fd, std::string_view(wire).substr(i, 1000));
  });
  SiteConfig rules;
  rules.check_keyword = "uptime-bench-canary";
  rules.forbidden_keywords = {"HACKED", "DARKLOCK"};
  auto ok = check(url(s, "/"), rules);
  EXPECT_EQ(ok.error, ErrorCode::kNone) << ok.error_detail;
  EXPECT_EQ(ok.keyword_rule, KeywordRule::kNone);
  auto article = check(url(s, "/article"), rules);  // the healthy "fatal error" article trap
  EXPECT_EQ(article.error, ErrorCode::kNone);
  auto missing = check(url(s, "/missing"), rules);
  EXPECT_EQ(missing.error, ErrorCode::kKeyword);
  EXPECT_EQ(missing.keyword_rule, KeywordRule::kRequired);
  auto hacked = check(url(s, "/hacked"), rules);
  EXPECT_EQ(hacked.error, ErrorCode::kKeyword);
  EXPECT_EQ(hacked.keyword_rule, KeywordRule::kForbidden);
}

TEST_F(HttpCheckEngineTest, KeywordIsOnlySearchedInTheFirstMebibyte) {
  FakeServer s([](int fd, const std::atomic<bool>&) {
    readRequestHead(fd);
    std::string body = std::string(1024 * 1024 + 10, 'x') + "canary";
    writeAll(fd, okResponse(body));
  });
  SiteConfig rules;
  rules.check_keyword = "canary";
  auto r = check(url(s), rules);
  EXPECT_EQ(r.error, ErrorCode::kKeyword);
  EXPECT_EQ(r.body_bytes, 1024u * 1024);
}

// ---- probe safety ----

TEST_F(HttpCheckEngineTest, ProbeSafetyBlocksInternalTargetsByDefault) {
  FakeServer s(respondWith(okResponse("internal")));
  client(/*allow_private=*/false);
  dns_.set("rebind.test", {FakeDns::Mode::kAnswer, {"10.0.0.1"}, {}, 300});
  auto literal = check("http://127.0.0.1:" + std::to_string(s.port()) + "/");
  EXPECT_EQ(literal.error, ErrorCode::kProbeSafety);
  auto named = check(url(s));  // site.test → 127.0.0.1
  EXPECT_EQ(named.error, ErrorCode::kProbeSafety);
  EXPECT_EQ(check("http://rebind.test/").error, ErrorCode::kProbeSafety);
  EXPECT_EQ(check("http://[::1]/").error, ErrorCode::kProbeSafety);
  EXPECT_EQ(check("ftp://example.com/").error, ErrorCode::kProbeSafety);
  EXPECT_EQ(check("http://user:pw@example.com/").error, ErrorCode::kProbeSafety);
  EXPECT_EQ(s.connections(), 0);
}

TEST_F(HttpCheckEngineTest, BadUrlIsCode2WhenSafetyIsOff) {
  auto r = check("http://exa mple/");
  EXPECT_EQ(r.error, ErrorCode::kConnect);
  auto r2 = check("gopher://x/");
  EXPECT_EQ(r2.error, ErrorCode::kConnect);
}

// ---- TLS ----

class HttpsTest : public HttpCheckEngineTest {
 protected:
  void SetUp() override {
    HttpCheckEngineTest::SetUp();
    ca_ = testing::makeCert("tidewatch test CA", "", -1, 3650, nullptr, true);
    ca_file_ =
        (std::filesystem::temp_directory_path() / ("tw_ca_" + std::to_string(::getpid()) + ".pem"))
            .string();
    testing::writePem(ca_.cert, ca_file_);
    client(true, ca_file_);
  }
  void TearDown() override {
    HttpCheckEngineTest::TearDown();
    std::filesystem::remove(ca_file_);
  }
  std::string https(const FakeServer& s, std::string_view host = "site.test") {
    return "https://" + std::string(host) + ":" + std::to_string(s.port()) + "/";
  }
  testing::KeyAndCert ca_;
  std::string ca_file_;
};

TEST_F(HttpsTest, ValidCertificateIsUpWithTlsFactsAndResumesNextTime) {
  auto leaf = testing::makeCert("site.test", "DNS:site.test", -1, 90, &ca_, false);
  testing::TlsServerContext tls({&leaf, TLS1_2_VERSION, 0, okResponse("secure")});
  FakeServer s(tls.handler());
  auto r = check(https(s));
  ASSERT_EQ(r.error, ErrorCode::kNone) << r.error_detail;
  EXPECT_EQ(r.http_code, 200);
  EXPECT_EQ(r.tls.version, 0x0304);
  EXPECT_FALSE(r.tls.cipher.empty());
  EXPECT_NEAR(static_cast<double>(r.tls.cert_not_after),
              static_cast<double>(std::time(nullptr) + 90 * 86400), 120.0);
  EXPECT_FALSE(r.tls.resumed);
  EXPECT_FALSE(r.tls.tls12_capped);
  // The resumption policy: the next check is a full handshake capped at TLS 1.2 (chain and
  // host verified again), the one after resumes its TLS 1.2 session without a key exchange.
  auto capped = check(https(s));
  EXPECT_EQ(capped.error, ErrorCode::kNone) << capped.error_detail;
  EXPECT_FALSE(capped.tls.resumed);
  EXPECT_TRUE(capped.tls.tls12_capped);
  EXPECT_EQ(capped.tls.version, 0x0303);
  auto again = check(https(s));
  EXPECT_EQ(again.error, ErrorCode::kNone) << again.error_detail;
  EXPECT_TRUE(again.tls.resumed);
  EXPECT_TRUE(again.tls.tls12_capped);
  EXPECT_EQ(again.tls.version, 0x0303);
  EXPECT_EQ(again.tls.cert_not_after, r.tls.cert_not_after);
}

TEST_F(HttpsTest, Tls13OnlyServerNeverFailsBecauseOfTheTls12Policy) {
  auto leaf = testing::makeCert("site.test", "DNS:site.test", -1, 90, &ca_, false);
  testing::TlsServerContext tls({&leaf, TLS1_3_VERSION, TLS1_3_VERSION, okResponse("modern")});
  FakeServer s(tls.handler());
  for (int i = 0; i < 3; ++i) {
    // Check 2 is capped, refused (protocol_version), and retried uncapped in the same check;
    // check 3 is not capped any more. Every one is up, over TLS 1.3.
    auto r = check(https(s));
    ASSERT_EQ(r.error, ErrorCode::kNone) << "check " << i + 1 << ": " << r.error_detail;
    EXPECT_EQ(r.http_code, 200);
    EXPECT_EQ(r.tls.version, 0x0304);
    EXPECT_FALSE(r.tls.tls12_capped);
    EXPECT_EQ(r.tls.resumed, i > 0) << "check " << i + 1;
  }
  EXPECT_EQ(s.connections(), 4);  // one retry, on check 2 only
}

TEST_F(HttpsTest, CappedHandshakeThatStallsIsRetriedUncappedWithinTheDeadline) {
  auto leaf = testing::makeCert("site.test", "DNS:site.test", -1, 90, &ca_, false);
  testing::TlsServerContext tls({&leaf, TLS1_2_VERSION, 0, okResponse("x")});
  auto serve = tls.handler();
  std::atomic<int> n{0};
  FakeServer s([&](int fd, const std::atomic<bool>& stop) {
    if (++n != 2) return serve(fd, stop);
    // The capped attempt: read the ClientHello, never answer, until the client gives up.
    char buf[4096];
    while (!stop && ::recv(fd, buf, sizeof buf, 0) > 0) {
    }
  });
  ASSERT_EQ(check(https(s)).error, ErrorCode::kNone);
  auto start = std::chrono::steady_clock::now();
  auto r = check(https(s), timeout(4));
  // The capped handshake had half of the 4 s; the uncapped retry resumed the TLS 1.3 session.
  EXPECT_EQ(r.error, ErrorCode::kNone) << r.error_detail;
  EXPECT_FALSE(r.tls.tls12_capped);
  EXPECT_TRUE(r.tls.resumed);
  EXPECT_LT(std::chrono::steady_clock::now() - start, 3500ms);
  EXPECT_EQ(s.connections(), 3);
}

TEST_F(HttpsTest, CappedHandshakeFailingEverywhereReportsTheUncappedFailure) {
  auto leaf = testing::makeCert("site.test", "DNS:site.test", -1, 90, &ca_, false);
  testing::TlsServerContext good({&leaf, TLS1_2_VERSION, 0, okResponse("x")});
  testing::TlsServerSpec spec{&leaf, TLS1_2_VERSION, 0, ""};
  spec.abort_handshake = true;
  testing::TlsServerContext bad(spec);
  std::atomic<bool> broken{false};
  auto good_handler = good.handler();
  auto bad_handler = bad.handler();
  FakeServer s([&](int fd, const std::atomic<bool>& stop) {
    (broken ? bad_handler : good_handler)(fd, stop);
  });
  ASSERT_EQ(check(https(s)).error, ErrorCode::kNone);
  // The site breaks: the capped attempt fails, the uncapped retry (a second connection) fails
  // too, and that failure is the result: code 3 in the handshake, not a timeout.
  broken = true;
  int before = s.connections();
  auto r = check(https(s));
  EXPECT_EQ(r.error, ErrorCode::kSsl) << r.error_detail;
  EXPECT_EQ(r.failed_phase, ProbePhase::kTlsHandshake);
  EXPECT_EQ(s.connections() - before, 2);
  // It recovers: the host is still capped (the retry proved nothing against TLS 1.2).
  broken = false;
  auto back = check(https(s));
  EXPECT_EQ(back.error, ErrorCode::kNone) << back.error_detail;
  EXPECT_TRUE(back.tls.tls12_capped);
}

TEST_F(HttpsTest, WithoutTheTls12PolicyTls13SessionsAreResumed) {
  TlsOptions to;
  to.ca_file = ca_file_;
  to.tls12_resumption = false;
  HttpCheckOptions co;
  co.allow_private_targets = true;
  engine(co, {}, to);
  auto leaf = testing::makeCert("site.test", "DNS:site.test", -1, 90, &ca_, false);
  testing::TlsServerContext tls({&leaf, TLS1_2_VERSION, 0, okResponse("secure")});
  FakeServer s(tls.handler());
  EXPECT_FALSE(check(https(s)).tls.resumed);
  auto r = check(https(s));
  EXPECT_TRUE(r.tls.resumed);
  EXPECT_FALSE(r.tls.tls12_capped);
  EXPECT_EQ(r.tls.version, 0x0304);
}

TEST_F(HttpsTest, ExpiredCertificateIsCode6) {
  auto leaf = testing::makeCert("site.test", "DNS:site.test", -60, -30, &ca_, false);
  testing::TlsServerContext tls({&leaf, TLS1_2_VERSION, 0, okResponse("old")});
  FakeServer s(tls.handler());
  auto r = check(https(s));
  EXPECT_EQ(r.error, ErrorCode::kTlsExpired) << r.error_detail;
  EXPECT_EQ(r.failed_phase, ProbePhase::kTlsHandshake);
  EXPECT_LT(r.tls.cert_not_after, std::time(nullptr));
}

TEST_F(HttpsTest, SelfSignedCertificateIsCode3) {
  auto leaf = testing::makeCert("site.test", "DNS:site.test", -1, 90, nullptr, false);
  testing::TlsServerContext tls({&leaf, TLS1_2_VERSION, 0, okResponse("x")});
  FakeServer s(tls.handler());
  auto r = check(https(s));
  EXPECT_EQ(r.error, ErrorCode::kSsl);
  EXPECT_NE(r.error_detail.find("certificate"), std::string::npos) << r.error_detail;
}

TEST_F(HttpsTest, HostnameMismatchIsCode3) {
  auto leaf = testing::makeCert("other.test", "DNS:other.test", -1, 90, &ca_, false);
  testing::TlsServerContext tls({&leaf, TLS1_2_VERSION, 0, okResponse("x")});
  FakeServer s(tls.handler());
  auto r = check(https(s));
  EXPECT_EQ(r.error, ErrorCode::kSsl);
  EXPECT_NE(r.error_detail.find("hostname mismatch"), std::string::npos) << r.error_detail;
}

TEST_F(HttpsTest, ExpiredAndMismatchedIsCode3NotCode6) {
  auto leaf = testing::makeCert("other.test", "DNS:other.test", -60, -30, &ca_, false);
  testing::TlsServerContext tls({&leaf, TLS1_2_VERSION, 0, okResponse("x")});
  FakeServer s(tls.handler());
  EXPECT_EQ(check(https(s)).error, ErrorCode::kSsl);
}

TEST_F(HttpsTest, HandshakeAbortIsCode3) {
  auto leaf = testing::makeCert("site.test", "DNS:site.test", -1, 90, &ca_, false);
  testing::TlsServerSpec spec{&leaf, TLS1_2_VERSION, 0, ""};
  spec.abort_handshake = true;
  testing::TlsServerContext tls(spec);
  FakeServer s(tls.handler());
  auto r = check(https(s));
  EXPECT_EQ(r.error, ErrorCode::kSsl) << r.error_detail;
  EXPECT_EQ(r.failed_phase, ProbePhase::kTlsHandshake);
}

TEST_F(HttpsTest, Tls11IsAnAdvisoryCode7WithTheHttpResult) {
  auto leaf = testing::makeCert("site.test", "DNS:site.test", -1, 90, &ca_, false);
  testing::TlsServerContext tls({&leaf, TLS1_VERSION, TLS1_1_VERSION, okResponse("legacy")});
  FakeServer s(tls.handler());
  auto r = check(https(s));
  EXPECT_EQ(r.error, ErrorCode::kTlsDeprecated) << r.error_detail;
  EXPECT_EQ(r.http_code, 200);
  EXPECT_EQ(r.tls.version, 0x0302);
}

TEST_F(HttpsTest, FullHandshakeIsForcedOncePerInterval) {
  TlsOptions to;
  to.ca_file = ca_file_;
  to.full_handshake_interval = std::chrono::seconds(0);
  HttpCheckOptions co;
  co.allow_private_targets = true;
  engine(co, {}, to);
  auto leaf = testing::makeCert("site.test", "DNS:site.test", -1, 90, &ca_, false);
  testing::TlsServerContext tls({&leaf, TLS1_2_VERSION, 0, okResponse("secure")});
  FakeServer s(tls.handler());
  for (int i = 0; i < 3; ++i) {
    // Every check is due a full handshake: never resumed, never capped (the facts of record
    // are the server's best protocol and its current certificate).
    auto r = check(https(s));
    EXPECT_FALSE(r.tls.resumed);
    EXPECT_FALSE(r.tls.tls12_capped);
    EXPECT_EQ(r.tls.version, 0x0304);
  }
}

}  // namespace
}  // namespace tidewatch::stages
