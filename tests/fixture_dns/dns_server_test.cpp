// DnsServer lifetime and thread-safety: control calls racing the serving path, stop() from
// inside and outside the io_context, shutdown with delayed replies pending. Meant to be run
// under TSan as well (-DTIDEWATCH_SANITIZE=thread).
#include "fixture/dns/dns_server.h"

#include <gtest/gtest.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <asio/post.hpp>
#include <atomic>
#include <chrono>
#include <thread>

#include "tests/fixture_dns/dns_test_util.h"

namespace tidewatch::fixture {
namespace {

using Clock = std::chrono::steady_clock;
using namespace std::chrono_literals;

// A blocking UDP client with a short receive timeout.
class UdpClient {
 public:
  explicit UdpClient(std::uint16_t port, int timeoutMs = 500) : fd_(socket(AF_INET, SOCK_DGRAM, 0)) {
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(port);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    connect(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a);
    timeval tv{timeoutMs / 1000, (timeoutMs % 1000) * 1000};
    setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  }
  ~UdpClient() { close(fd_); }
  void send(const std::vector<std::uint8_t>& q) { ::send(fd_, q.data(), q.size(), 0); }
  std::optional<dns::testing::Response> receive() {
    std::vector<std::uint8_t> buf(4096);
    const ssize_t n = recv(fd_, buf.data(), buf.size(), 0);
    if (n <= 0) return std::nullopt;
    buf.resize(static_cast<std::size_t>(n));
    return dns::testing::decode(buf);
  }

 private:
  int fd_;
};

DnsServerConfig config() {
  DnsServerConfig c;
  c.fleet.count = 1000;
  return c;
}

TEST(DnsServer, ControlCallsWhileServingOnTwoIoThreadsAreSafe) {
  asio::io_context io;
  auto guard = asio::make_work_guard(io);
  DnsServer server(io, config());
  server.start();
  std::thread t1([&] { io.run(); }), t2([&] { io.run(); });

  std::atomic<bool> done{false};
  std::thread control([&] {
    int i = 0;
    while (!done) {
      auto id = server.activate(DnsFailure::fromJson(
          {{"type", "dns_servfail"}, {"host", "nobody-*.fleet.test"}, {"rate", 0.5}, {"seed", i}}));
      (void)server.list();
      (void)server.stats();
      server.deactivate(id);
      ++i;
    }
  });
  UdpClient client(server.port());
  int answered = 0;
  for (int i = 0; i < 3000; ++i) {
    client.send(dns::testing::makeQuery(fleetHostName(config().fleet, 1 + i % 1000),
                                        {.id = static_cast<std::uint16_t>(i)}));
    auto r = client.receive();
    if (r && r->id == static_cast<std::uint16_t>(i) && r->rcode() == 0 && r->answer.size() == 1) ++answered;
  }
  done = true;
  control.join();
  EXPECT_EQ(answered, 3000);
  server.stop();
  guard.reset();
  t1.join();
  t2.join();
  EXPECT_EQ(server.stats()["udp_queries"], 3000);
}

TEST(DnsServer, StopFromInsideAHandlerDoesNotDeadlock) {
  asio::io_context io;
  DnsServer server(io, config());
  server.start();
  asio::post(io, [&] { server.stop(); });
  const auto start = Clock::now();
  io.run();   // returns once the sockets are closed: nothing else keeps it busy
  EXPECT_LT(Clock::now() - start, 1s);
}

TEST(DnsServer, StopCancelsPendingDelayedReplies) {
  asio::io_context io;
  DnsServer server(io, config());
  server.start();
  server.activate(DnsFailure::fromJson({{"type", "dns_latency"}, {"host", "*"}, {"added_latency_ms", 30000}}));
  std::thread t([&] { io.run(); });
  UdpClient client(server.port(), 100);
  client.send(dns::testing::makeQuery("site-0000001.fleet.test"));
  EXPECT_FALSE(client.receive());   // held back
  for (int i = 0; i < 50 && server.stats()["delayed"] != 1; ++i) std::this_thread::sleep_for(10ms);
  EXPECT_EQ(server.stats()["delayed"], 1);
  const auto start = Clock::now();
  server.stop();
  t.join();   // io.run() returns: the 30 s timer was cancelled, not waited for
  EXPECT_LT(Clock::now() - start, 2s);
}

TEST(DnsServer, FixedPortBindsBothProtocolsAndRejectsASecondServer) {
  asio::io_context io;
  DnsServer first(io, config());
  first.start();
  DnsServerConfig same = config();
  same.port = first.port();
  DnsServer second(io, same);
  EXPECT_THROW(second.start(), std::system_error);
}

TEST(DnsServer, BadConfigIsRejectedAtConstruction) {
  asio::io_context io;
  DnsServerConfig c = config();
  c.extra_hosts = {{"x.fleet.test", "not-an-address"}};
  EXPECT_THROW(DnsServer(io, c), std::invalid_argument);
  c = config();
  c.zone = "bad..zone";
  EXPECT_THROW(DnsServer(io, c), std::invalid_argument);
}

}  // namespace
}  // namespace tidewatch::fixture
