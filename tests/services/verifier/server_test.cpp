// The verifier service in-process on 127.0.0.1 port 0, running the real probe.http against
// targets served by tidewatch-fixture or a fake loopback server.
#include <gtest/gtest.h>

#include <thread>

#include <nlohmann/json.hpp>

#include "tests/support/fake_http.h"
#include "tests/services/verifier/verifier_test_util.h"
#include "tests/support/fixture_process.h"

namespace tidewatch {
namespace {

using json = nlohmann::json;
using testing::FakeServer;
using testing::FixtureProcess;
using testing::HttpResponse;
using testing::httpRequest;

const std::string kAuth = "Authorization: Bearer secret-token";

class VerifierServerTest : public ::testing::Test {
 protected:
  void SetUp() override { loop.start(); }
  void TearDown() override {
    if (server) {
      server->stop();
      server->waitIdle(std::chrono::seconds(5));
    }
    loop.stop();
    server.reset();
  }
  void startServer(services::VerifierServerOptions o = testing::serverOptions()) {
    server = testing::makeServer(loop, *probe.probe, metrics, std::move(o));
  }
  HttpResponse post(const std::string& path, const std::string& body, std::vector<std::string> headers = {kAuth}) {
    headers.push_back("Content-Type: application/json");
    return httpRequest("127.0.0.1", server->port(), "POST", path, body, headers, 15);
  }
  static json parse(const HttpResponse& r) { return json::parse(r.body); }

  io::AsioEventLoop loop{2};
  testing::RealProbe probe{loop};
  Metrics metrics;
  std::unique_ptr<services::VerifierServer> server;
};

std::string v2Body(const std::vector<std::pair<std::string, std::string>>& items, int timeout_ms = 2000) {
  json reqs = json::array();
  int n = 0;
  for (const auto& [id, url] : items)
    reqs.push_back({{"request_id", id}, {"blog_id", ++n}, {"url", url}, {"timeout_ms", timeout_ms}});
  return json{{"batch_id", "b1"}, {"requests", reqs}}.dump();
}

TEST(SecretEquals, ComparesWholeSecretsIncludingLength) {
  EXPECT_TRUE(services::secretEquals("secret-token", "secret-token"));
  EXPECT_FALSE(services::secretEquals("secret-toke", "secret-token"));
  EXPECT_FALSE(services::secretEquals("secret-token-and-more", "secret-token"));
  EXPECT_FALSE(services::secretEquals("Secret-token", "secret-token"));
  EXPECT_FALSE(services::secretEquals("", ""));  // an empty expected token never matches
}

TEST_F(VerifierServerTest, RefusesToStartWithoutAToken) {
  EXPECT_THROW(testing::makeServer(loop, *probe.probe, metrics, testing::serverOptions("")), std::runtime_error);
}

TEST_F(VerifierServerTest, StatusNeedsNoAuthAndReportsCapacity) {
  startServer();
  for (const char* path : {"/status", "/v2/status"}) {
    auto r = httpRequest("127.0.0.1", server->port(), "GET", path);
    ASSERT_EQ(r.status, 200) << path;
    json j = parse(r);
    EXPECT_EQ(j["status"], "OK");
    EXPECT_TRUE(j.contains("version"));
    EXPECT_EQ(j["vantage"]["id"], "vantage-a");
    EXPECT_EQ(j["vantage"]["region"], "us-east");
    EXPECT_EQ(j["agent"]["id"], "agent-a");
    EXPECT_EQ(j["protocols"], json({"legacy-json-http", "v2-json-http"}));
    for (const char* k : {"max_concurrency", "queue_capacity", "queue_depth", "active", "in_flight", "completed",
                          "rejected", "avg_check_ms"})
      EXPECT_TRUE(j["capacity"].contains(k)) << k;
    EXPECT_EQ(j["capacity"]["max_concurrency"], 16);
  }
}

TEST_F(VerifierServerTest, BearerTokenGoodBadAndMissing) {
  FakeServer site(testing::respondWith(testing::okResponse("fine")));
  startServer();
  std::string body = v2Body({{"r1", "http://127.0.0.1:" + std::to_string(site.port()) + "/"}});
  EXPECT_EQ(post("/v2/check", body, {}).status, 401);
  EXPECT_EQ(post("/v2/check", body, {"Authorization: Bearer wrong-token"}).status, 401);
  EXPECT_EQ(post("/v2/check", body, {"Authorization: Bearer secret-tok"}).status, 401);
  EXPECT_EQ(post("/check", body, {"Authorization: Basic c2VjcmV0LXRva2Vu"}).status, 401);
  auto ok = post("/v2/check", body);
  EXPECT_EQ(ok.status, 200) << ok.body;
  EXPECT_EQ(server->stats().auth_rejected, 4u);
  EXPECT_EQ(metrics.counter("verifier.auth.rejected.count").load(), 4u);
  EXPECT_EQ(site.connections(), 1);  // refused requests never reach the probe
}

TEST_F(VerifierServerTest, OversizedBodyIs413) {
  auto o = testing::serverOptions();
  o.max_body_bytes = 1024;
  startServer(o);
  auto r = post("/v2/check", std::string(2048, ' '));
  EXPECT_EQ(r.status, 413);
  EXPECT_NE(parse(r)["error"].get<std::string>().find("limit"), std::string::npos);
}

TEST_F(VerifierServerTest, NonPostOnCheckEndpointsIs405) {
  startServer();
  EXPECT_EQ(httpRequest("127.0.0.1", server->port(), "GET", "/v2/check", "", {kAuth}).status, 405);
  EXPECT_EQ(httpRequest("127.0.0.1", server->port(), "PUT", "/check", "{}", {kAuth}).status, 405);
  EXPECT_EQ(httpRequest("127.0.0.1", server->port(), "POST", "/status", "{}", {kAuth}).status, 405);
  EXPECT_EQ(httpRequest("127.0.0.1", server->port(), "GET", "/nope").status, 404);
}

TEST_F(VerifierServerTest, BadJsonIs400WithAReason) {
  startServer();
  auto r = post("/v2/check", "{not json");
  ASSERT_EQ(r.status, 400);
  EXPECT_NE(parse(r)["error"].get<std::string>().find("bad JSON"), std::string::npos);
  r = post("/v2/check", "[1,2]");
  EXPECT_EQ(r.status, 400);
  r = post("/v2/check", R"({"requests": [{"url": "http://127.0.0.1/", "blog_id": "seven"}]})");
  ASSERT_EQ(r.status, 400);
  EXPECT_EQ(parse(r)["error"], "requests[0].blog_id: must be a number");
  r = post("/check", R"({"sites": [{"URL": "http://127.0.0.1/", "CustomHeaders": {"X": "a\r\nInjected: 1"}}]})");
  ASSERT_EQ(r.status, 400);
  EXPECT_NE(parse(r)["error"].get<std::string>().find("sites[0].CustomHeaders"), std::string::npos);
  r = post("/check", R"({"sites": {"URL": 1}})");
  EXPECT_EQ(r.status, 400);
}

TEST_F(VerifierServerTest, MalformedRequestsNeverCrashTheServer) {
  startServer();
  const char* garbage[] = {"GARBAGE\r\n\r\n", "POST /v2/check HTTP/1.1\r\nContent-Length: x\r\n\r\n",
                           "POST /v2/check HTTP/1.1\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\n",
                           "POST /v2/check HTTP/1.1\r\nbad header\r\n\r\n",
                           "POST /check HTTP/1.1\r\nTransfer-Encoding: chunked\r\nAuthorization: Bearer secret-token\r\n\r\n"};
  for (const char* g : garbage) {
    std::string got = testing::rawExchange(server->port(), g);
    EXPECT_TRUE(got.rfind("HTTP/1.1 4", 0) == 0) << g << " -> " << got;
  }
  // A client that connects and says nothing is answered 408 after the header timeout and
  // the server keeps serving.
  EXPECT_EQ(httpRequest("127.0.0.1", server->port(), "GET", "/status").status, 200);
}

TEST_F(VerifierServerTest, SlowClientGets408) {
  auto o = testing::serverOptions();
  o.header_timeout = std::chrono::milliseconds(200);
  startServer(o);
  std::string got = testing::rawExchange(server->port(), "POST /v2/check HTTP/1.1\r\n");  // and then nothing
  EXPECT_EQ(got.rfind("HTTP/1.1 408", 0), 0u) << got;
}

// 2 000 mutations of valid requests (bytes flipped, cut, duplicated), each on its own
// half-closed connection: every one gets an HTTP answer, and the server keeps serving.
TEST_F(VerifierServerTest, MutatedRequestsNeverCrashIt) {
  FakeServer site(testing::respondWith(testing::okResponse("fine")));
  auto o = testing::serverOptions();
  o.header_timeout = std::chrono::milliseconds(100);
  o.body_timeout = std::chrono::milliseconds(100);
  startServer(o);
  std::string url = "http://127.0.0.1:" + std::to_string(site.port()) + "/";
  std::string v2 = v2Body({{"a", url}}, 500);
  std::string legacy = R"({"sites":[{"BlogID":1,"URL":")" + url + R"(","TimeoutSeconds":1,"CustomHeaders":{"A":"b"}}]})";
  auto request = [](const std::string& path, const std::string& body) {
    return "POST " + path + " HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer secret-token\r\nContent-Length: " +
           std::to_string(body.size()) + "\r\n\r\n" + body;
  };
  const std::string seeds[] = {request("/v2/check", v2), request("/check", legacy)};
  std::uint64_t x = 88172645463325252ull;
  auto rnd = [&x] {
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    return x;
  };
  int answered = 0;
  for (int i = 0; i < 2000; ++i) {
    std::string m = seeds[i % 2];
    int edits = 1 + static_cast<int>(rnd() % 4);
    for (int e = 0; e < edits && !m.empty(); ++e) {
      std::size_t pos = rnd() % m.size();
      switch (rnd() % 4) {
        case 0: m[pos] = static_cast<char>(rnd()); break;
        case 1: m.erase(pos, 1 + rnd() % 8); break;
        case 2: m.insert(pos, m.substr(pos, 1 + rnd() % 16)); break;
        case 3: m.resize(pos); break;
      }
    }
    int fd = testing::connectLoopback(server->port());
    ASSERT_GE(fd, 0);
    testing::writeAll(fd, m);
    ::shutdown(fd, SHUT_WR);
    std::string got = testing::readRequestHead(fd);
    ::close(fd);
    if (got.rfind("HTTP/1.1 ", 0) == 0 || m.empty()) ++answered;  // nothing sent, nothing to answer
    else ADD_FAILURE() << "no answer to " << m.size() << " bytes: " << m.substr(0, 200);
  }
  EXPECT_EQ(answered, 2000);
  EXPECT_EQ(httpRequest("127.0.0.1", server->port(), "GET", "/status").status, 200);
  EXPECT_TRUE(server->waitIdle(std::chrono::seconds(5)));
}

TEST_F(VerifierServerTest, V2ShapeAgainstTheFixture) {
  FixtureProcess fx(FixtureProcess::Options{.fleet_count = 10, .args = {"--no-https", "--no-dns"}});
  fx.activate({{"type", "http_status"}, {"path", "/down"}, {"status_code", 503}});
  fx.activate({{"type", "http_body"}, {"path", "/nokeyword"}, {"variant", "keyword_missing"}});
  startServer();
  std::string base = "http://127.0.0.1:" + std::to_string(fx.httpPort());
  json req = {{"batch_id", "batch-7"},
              {"requests",
               {{{"request_id", "up"}, {"blog_id", 1}, {"url", base + "/"}, {"timeout_ms", 2000}},
                {{"request_id", "down"}, {"blog_id", 2}, {"url", base + "/down"}, {"timeout_ms", 2000}},
                {{"request_id", "kw"},
                 {"blog_id", 3},
                 {"url", base + "/nokeyword"},
                 {"timeout_ms", 2000},
                 {"body_rules", {{"required", {"uptime-bench-canary"}}, {"forbidden", json::array()}}}},
                {{"request_id", "head"}, {"blog_id", 4}, {"url", base + "/"}, {"method", "HEAD"}, {"timeout_ms", 2000}}}}};
  auto r = post("/v2/check", req.dump());
  ASSERT_EQ(r.status, 200) << r.body;
  json j = parse(r);
  EXPECT_EQ(j["batch_id"], "batch-7");
  EXPECT_EQ(j["vantage"]["id"], "vantage-a");
  EXPECT_EQ(j["vantage"]["region"], "us-east");
  EXPECT_EQ(j["agent"]["protocol"], "v2-json-http");
  ASSERT_EQ(j["results"].size(), 4u);
  const json& up = j["results"][0];
  EXPECT_EQ(up["request_id"], "up");
  EXPECT_EQ(up["blog_id"], 1);
  EXPECT_EQ(up["outcome"], "up");
  EXPECT_EQ(up["success"], true);
  EXPECT_EQ(up["http_code"], 200);
  EXPECT_EQ(up["vantage_id"], "vantage-a");
  EXPECT_TRUE(up["timings_ms"].contains("ttfb"));
  const json& down = j["results"][1];
  EXPECT_EQ(down["outcome"], "down");
  EXPECT_EQ(down["success"], false);
  EXPECT_EQ(down["http_code"], 503);
  const json& kw = j["results"][2];
  EXPECT_EQ(kw["outcome"], "down");
  EXPECT_EQ(kw["error_code"], 5);
  EXPECT_EQ(j["results"][3]["outcome"], "up");
}

TEST_F(VerifierServerTest, LegacyShapeCaseInsensitiveInRequestOrder) {
  FixtureProcess fx(FixtureProcess::Options{.fleet_count = 10, .args = {"--no-https", "--no-dns"}});
  fx.activate({{"type", "http_status"}, {"path", "/down"}, {"status_code", 500}});
  startServer();
  std::string base = "http://127.0.0.1:" + std::to_string(fx.httpPort());
  // Go's decoder matches field names case-insensitively: mixed spellings on purpose.
  std::string body = R"({"Sites": [
      {"blogid": 11, "url": ")" + base + R"(/down", "timeoutseconds": 2, "RequestID": "aa"},
      {"BlogID": 12, "URL": ")" + base + R"(/", "TimeoutSeconds": 2, "Keyword": "uptime-bench-canary",
       "ForbiddenKeywords": ["DARKLOCK"], "CustomHeaders": {"X-Test": "1"}, "RedirectPolicy": "follow", "RequestID": "bb"}]})";
  auto r = post("/check", body);
  ASSERT_EQ(r.status, 200) << r.body;
  json j = parse(r);
  ASSERT_EQ(j["results"].size(), 2u);
  EXPECT_EQ(j["results"][0]["BlogID"], 11);
  EXPECT_EQ(j["results"][0]["Success"], false);
  EXPECT_EQ(j["results"][0]["HTTPCode"], 500);
  EXPECT_EQ(j["results"][0]["RequestID"], "aa");
  EXPECT_EQ(j["results"][0]["Host"], "verifier-a");
  EXPECT_EQ(j["results"][1]["BlogID"], 12);
  EXPECT_EQ(j["results"][1]["Success"], true);
  EXPECT_EQ(j["results"][1]["HTTPCode"], 200);
  EXPECT_EQ(j["results"][1]["ErrorCode"], 0);
  EXPECT_TRUE(j["results"][1].contains("RTTMs"));
  EXPECT_EQ(j["results"][1]["URL"], base + "/");
}

// A site that answers after `ms`: keeps probe slots busy.
FakeServer::Handler slowOk(int ms) {
  return [ms](int fd, const std::atomic<bool>& stop) {
    testing::readRequestHead(fd);
    if (!testing::sleepUnlessStopped(stop, ms)) return;
    testing::writeAll(fd, testing::okResponse("slow but fine"));
  };
}

TEST_F(VerifierServerTest, ItemsBeyondCapacityAreShedAsAgentOverloaded) {
  FakeServer site(slowOk(300));
  auto o = testing::serverOptions();
  o.max_concurrency = 1;
  o.queue_capacity = 1;
  startServer(o);
  std::string url = "http://127.0.0.1:" + std::to_string(site.port()) + "/";
  auto r = post("/v2/check", v2Body({{"a", url}, {"b", url}, {"c", url}, {"d", url}}));
  ASSERT_EQ(r.status, 200) << r.body;
  json j = parse(r);
  ASSERT_EQ(j["results"].size(), 4u);
  std::vector<std::string> outcomes;
  for (const auto& res : j["results"]) outcomes.push_back(res["outcome"]);
  EXPECT_EQ(outcomes, (std::vector<std::string>{"up", "up", "agent_overloaded", "agent_overloaded"}));
  EXPECT_EQ(server->stats().rejected, 2u);
  EXPECT_EQ(parse(httpRequest("127.0.0.1", server->port(), "GET", "/v2/status"))["capacity"]["rejected"], 2);

  // The legacy shape has no outcome field: a shed item fails the whole request (503), so a
  // Jetmon monitor counts an RPC error instead of a down vote.
  std::string legacy = R"({"sites": [{"URL": ")" + url + R"("}, {"URL": ")" + url + R"("}, {"URL": ")" + url + R"("}]})";
  r = post("/check", legacy);
  EXPECT_EQ(r.status, 503);
  EXPECT_EQ(parse(r)["error"], "agent_overloaded");
}

TEST_F(VerifierServerTest, RequestDeadlineAnswersWhatIsDone) {
  FakeServer fast(testing::respondWith(testing::okResponse("quick")));
  FakeServer slow(slowOk(3000));
  auto o = testing::serverOptions();
  o.request_deadline_s = 1;
  startServer(o);
  auto t0 = std::chrono::steady_clock::now();
  auto r = post("/v2/check", v2Body({{"fast", "http://127.0.0.1:" + std::to_string(fast.port()) + "/"},
                                     {"slow", "http://127.0.0.1:" + std::to_string(slow.port()) + "/"}},
                                    5000));
  auto took = std::chrono::steady_clock::now() - t0;
  ASSERT_EQ(r.status, 200);
  json j = parse(r);
  EXPECT_EQ(j["results"][0]["outcome"], "up");
  EXPECT_EQ(j["results"][1]["outcome"], "timeout");  // the agent's deadline: not a vote
  EXPECT_EQ(j["deadline_expired"], true);
  EXPECT_LT(took, std::chrono::milliseconds(2500));
}

TEST_F(VerifierServerTest, SiteTimeoutIsADownVote) {
  FakeServer silent(slowOk(5000));
  startServer();
  auto r = post("/v2/check", v2Body({{"t", "http://127.0.0.1:" + std::to_string(silent.port()) + "/"}}, 1000));
  ASSERT_EQ(r.status, 200);
  json j = parse(r);
  EXPECT_EQ(j["results"][0]["outcome"], "down");
  EXPECT_EQ(j["results"][0]["error_code"], 1);
}

}  // namespace
}  // namespace tidewatch
