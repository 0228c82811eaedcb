// io::AdminServer on 127.0.0.1 port 0: the routes the app registers, through the one server.
#include "io/admin_server.h"

#include <gtest/gtest.h>

#include "io/event_loop.h"
#include "tests/support/fake_http.h"

namespace tidewatch::io {
namespace {

TEST(AdminServer, ServesItsRoutesAndNothingElse) {
  AsioEventLoop loop(1);
  loop.start();
  {
    std::map<std::string, AdminServer::Route> routes;
    routes["/status"] = [](const HttpRequestHead&) { return HttpReply{200, "application/json", "{\"ok\":true}\n"}; };
    routes["/metrics"] = [](const HttpRequestHead& h) {
      return HttpReply{200, "text/plain", "scheduler.inflight 3\n" + h.target + "\n"};
    };
    routes["/healthz"] = [](const HttpRequestHead&) { return HttpReply{200, "text/plain", "ok\n"}; };
    AdminServer admin(loop.context(), "127.0.0.1:0", std::move(routes));
    auto get = [&](const std::string& request) {
      return testing::rawExchange(admin.port(), request);
    };
    std::string status = get("GET /status HTTP/1.1\r\n\r\n");
    EXPECT_EQ(status.rfind("HTTP/1.1 200 OK\r\n", 0), 0u) << status;
    EXPECT_NE(status.find("Content-Type: application/json"), std::string::npos) << status;
    EXPECT_NE(status.find("{\"ok\":true}"), std::string::npos) << status;
    EXPECT_NE(get("GET /metrics HTTP/1.1\r\n\r\n").find("scheduler.inflight 3"), std::string::npos);
    EXPECT_NE(get("GET /metrics?x=1 HTTP/1.1\r\n\r\n").find("/metrics?x=1\n"), std::string::npos)
        << "the route sees the whole target";
    EXPECT_NE(get("GET /healthz HTTP/1.1\r\n\r\n").find("\r\n\r\nok\n"), std::string::npos);
    EXPECT_EQ(get("GET /nope HTTP/1.1\r\n\r\n").rfind("HTTP/1.1 404 ", 0), 0u);
    EXPECT_EQ(get("POST /status HTTP/1.1\r\nContent-Length: 0\r\n\r\n").rfind("HTTP/1.1 405 ", 0),
              0u);
    admin.stop();
  }
  loop.stop();
}

TEST(AdminServer, ABadListenAddressNamesTheKey) {
  AsioEventLoop loop(1);
  try {
    AdminServer admin(loop.context(), "9190", {});
    FAIL() << "started";
  } catch (const std::runtime_error& e) {
    EXPECT_EQ(std::string(e.what()).rfind("admin.listen: ", 0), 0u) << e.what();
  }
}

}  // namespace
}  // namespace tidewatch::io
