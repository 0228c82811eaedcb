// io::HttpServer on 127.0.0.1 port 0, driven by raw sockets (tests/support): routing by head,
// bodies by Content-Length, answers from another thread, and the server's own refusals.
#include "io/http/server.h"

#include <gtest/gtest.h>

#include <thread>

#include "io/event_loop.h"
#include "tests/support/fake_http.h"

namespace tidewatch::io {
namespace {

using namespace std::chrono_literals;
using testing::rawExchange;

class HttpServerTest : public ::testing::Test {
 protected:
  void SetUp() override { loop.start(); }
  void TearDown() override {
    server.reset();
    loop.stop();
  }

  void start(HttpServerOptions o = {}) {
    if (o.listen.empty()) o.listen = "127.0.0.1:0";
    HttpServer::Handlers h;
    h.on_head = [](const HttpRequestHead& head) -> std::optional<HttpReply> {
      if (head.path == "/now") return HttpReply{200, "text/plain", "now " + head.method + "\n"};
      return std::nullopt;
    };
    h.on_request = [](const HttpRequestHead& head, std::string body, HttpServer::Responder r) {
      // Answered later, from a thread of our own.
      std::thread([head, body = std::move(body), r] {
        std::this_thread::sleep_for(20ms);
        r.send(HttpReply{201, "application/json",
                         "{\"path\":\"" + head.path + "\",\"body\":\"" + body + "\"}"});
        r.send(HttpReply{500, "text/plain", "second send is ignored"});
      }).detach();
    };
    server = std::make_unique<HttpServer>(loop.context(), std::move(o), std::move(h));
  }

  AsioEventLoop loop{2};
  std::unique_ptr<HttpServer> server;
};

std::string bodyOf(const std::string& response) {
  return response.substr(response.find("\r\n\r\n") + 4);
}

TEST_F(HttpServerTest, AnswersFromTheHeadAndClosesTheConnection) {
  start();
  std::string got = rawExchange(server->port(), "GET /now?x HTTP/1.1\r\nHost: a\r\n\r\n");
  EXPECT_EQ(got.rfind("HTTP/1.1 200 OK\r\n", 0), 0u) << got;
  EXPECT_NE(got.find("Content-Type: text/plain\r\n"), std::string::npos) << got;
  EXPECT_NE(got.find("Connection: close\r\n"), std::string::npos) << got;
}

TEST_F(HttpServerTest, HeadRequestGetsTheHeadersWithoutTheBody) {
  start();
  int fd = testing::connectLoopback(server->port());
  ASSERT_GE(fd, 0);
  testing::writeAll(fd, "HEAD /now HTTP/1.1\r\n\r\n");
  std::string all = testing::readUntilClosed(fd);
  ::close(fd);
  EXPECT_NE(all.find("Content-Length: 9\r\n"), std::string::npos) << all;
  EXPECT_EQ(bodyOf(all), "");
}

TEST_F(HttpServerTest, BodyByContentLengthAndAnAnswerFromAnotherThread) {
  start();
  int fd = testing::connectLoopback(server->port());
  ASSERT_GE(fd, 0);
  // The body arrives in two pieces after the head.
  testing::writeAll(fd, "POST /later HTTP/1.1\r\nContent-Length: 11\r\n\r\nhello");
  std::this_thread::sleep_for(30ms);
  testing::writeAll(fd, " world");
  std::string all = testing::readUntilClosed(fd);
  ::close(fd);
  EXPECT_EQ(all.rfind("HTTP/1.1 201 ", 0), 0u) << all;
  EXPECT_EQ(bodyOf(all), "{\"path\":\"/later\",\"body\":\"hello world\"}");
}

TEST_F(HttpServerTest, ItsOwnRefusals) {
  HttpServerOptions o;
  o.max_head_bytes = 1024;
  o.max_body_bytes = 10;
  start(o);
  const std::uint16_t port = server->port();
  EXPECT_EQ(rawExchange(port, "GARBAGE\r\n\r\n").rfind("HTTP/1.1 400 ", 0), 0u);
  EXPECT_EQ(rawExchange(port, "GET / HTTP/1.1\r\nX: " + std::string(2000, 'a') + "\r\n\r\n")
                .rfind("HTTP/1.1 431 ", 0),
            0u);
  EXPECT_EQ(rawExchange(port, "POST /x HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n")
                .rfind("HTTP/1.1 411 ", 0),
            0u);
  EXPECT_EQ(
      rawExchange(port, "POST /x HTTP/1.1\r\nContent-Length: 11\r\n\r\n").rfind("HTTP/1.1 413 ", 0),
      0u);
  // Half-closed in the middle of the head: told why.
  int fd = testing::connectLoopback(port);
  testing::writeAll(fd, "GET / HT");
  ::shutdown(fd, SHUT_WR);
  std::string got = testing::readRequestHead(fd);
  ::close(fd);
  EXPECT_EQ(got.rfind("HTTP/1.1 400 ", 0), 0u) << got;
}

TEST_F(HttpServerTest, SlowHeadIs408AndTheRefusalHookShapesIt) {
  HttpServerOptions o;
  o.listen = "127.0.0.1:0";
  o.head_timeout = 100ms;
  HttpServer::Handlers h;
  h.refusal = [](int status, std::string reason) {
    return HttpReply{status, "application/json", "{\"error\":\"" + reason + "\"}"};
  };
  server = std::make_unique<HttpServer>(loop.context(), o, h);
  int fd = testing::connectLoopback(server->port());
  testing::writeAll(fd, "GET / HTTP/1.1\r\n");  // and then nothing
  std::string all = testing::readUntilClosed(fd);
  ::close(fd);
  EXPECT_EQ(all.rfind("HTTP/1.1 408 Request Timeout\r\n", 0), 0u) << all;
  EXPECT_EQ(bodyOf(all), "{\"error\":\"request not received in time\"}");
}

TEST_F(HttpServerTest, ListenErrorsNameTheConfigKey) {
  auto error = [&](const std::string& listen) -> std::string {
    HttpServerOptions o;
    o.listen = listen;
    o.config_key = "admin.listen";
    try {
      HttpServer s(loop.context(), o, {});
    } catch (const std::runtime_error& e) {
      return e.what();
    }
    return "started";
  };
  EXPECT_EQ(error("127.0.0.1"), "admin.listen: missing ':port' in '127.0.0.1'");
  EXPECT_EQ(error("localhost:80").rfind("admin.listen: 'localhost' is not an IP address", 0), 0u);
  start();
  std::string taken = "127.0.0.1:" + std::to_string(server->port());
  EXPECT_EQ(error(taken).rfind("admin.listen " + taken + ": ", 0), 0u) << error(taken);
}

TEST_F(HttpServerTest, StopClosesTheListener) {
  start();
  const std::uint16_t port = server->port();
  server->stop();
  auto refused = [port] {
    int fd = testing::connectLoopback(port);
    if (fd < 0) return true;
    ::close(fd);
    return false;
  };
  for (int i = 0; i < 100 && !refused(); ++i) std::this_thread::sleep_for(10ms);
  EXPECT_TRUE(refused());
}

}  // namespace
}  // namespace tidewatch::io
