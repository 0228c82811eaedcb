// Real TCP servers on 127.0.0.1:<port 0> for probe tests: each accepted connection runs the
// test's handler on its own thread with a blocking socket (so "silent", "trickle one byte per
// second", "garbage", "1 GB body" are each a few lines). The destructor shuts every connection
// down and joins, so a stalled handler never outlives its test.
#pragma once

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <functional>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

namespace tidewatch::testing {

// Servers write to clients that hang up on purpose (limits, deadlines): never die of SIGPIPE.
inline const bool kIgnoreSigpipe = [] {
  std::signal(SIGPIPE, SIG_IGN);
  return true;
}();

inline bool writeAll(int fd, std::string_view data) {
  while (!data.empty()) {
    ssize_t n = ::send(fd, data.data(), data.size(), MSG_NOSIGNAL);
    if (n <= 0) return false;
    data.remove_prefix(static_cast<std::size_t>(n));
  }
  return true;
}

// Reads until the end of the request head (or EOF / 5 s); returns what was read.
inline std::string readRequestHead(int fd) {
  std::string head;
  char buf[4096];
  auto until = std::chrono::steady_clock::now() + std::chrono::seconds(5);
  while (head.find("\r\n\r\n") == std::string::npos && std::chrono::steady_clock::now() < until) {
    pollfd p{fd, POLLIN, 0};
    if (::poll(&p, 1, 50) <= 0) continue;
    ssize_t n = ::recv(fd, buf, sizeof buf, 0);
    if (n <= 0) break;
    head.append(buf, static_cast<std::size_t>(n));
  }
  return head;
}

// A blocking client socket connected to 127.0.0.1:port (-1 when the connect failed), for
// tests that send raw bytes to one of our servers.
inline int connectLoopback(std::uint16_t port) {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(port);
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) {
    ::close(fd);
    return -1;
  }
  return fd;
}

// Everything the peer sends until it closes the connection (or 5 s pass).
inline std::string readUntilClosed(int fd) {
  std::string all;
  char buf[4096];
  auto until = std::chrono::steady_clock::now() + std::chrono::seconds(5);
  while (std::chrono::steady_clock::now() < until) {
    pollfd p{fd, POLLIN, 0};
    if (::poll(&p, 1, 50) <= 0) continue;
    ssize_t n = ::recv(fd, buf, sizeof buf, 0);
    if (n <= 0) break;
    all.append(buf, static_cast<std::size_t>(n));
  }
  return all;
}

// Sends `request` as-is on a fresh connection and returns what came back until the end of
// the response head (or EOF / 5 s).
inline std::string rawExchange(std::uint16_t port, std::string_view request) {
  int fd = connectLoopback(port);
  if (fd < 0) return "";
  writeAll(fd, request);
  std::string got = readRequestHead(fd);
  ::close(fd);
  return got;
}

// Sleeps in small steps until `stop` or `ms` elapsed; returns false when stopped.
inline bool sleepUnlessStopped(const std::atomic<bool>& stop, int ms) {
  auto until = std::chrono::steady_clock::now() + std::chrono::milliseconds(ms);
  while (!stop && std::chrono::steady_clock::now() < until) {
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  return !stop;
}

class FakeServer {
 public:
  using Handler = std::function<void(int fd, const std::atomic<bool>& stop)>;

  explicit FakeServer(Handler handler) : handler_(std::move(handler)) {
    listen_fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    int one = 1;
    ::setsockopt(listen_fd_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ::bind(listen_fd_, reinterpret_cast<sockaddr*>(&a), sizeof a);
    ::listen(listen_fd_, 512);
    socklen_t len = sizeof a;
    ::getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&a), &len);
    port_ = ntohs(a.sin_port);
    accept_thread_ = std::thread([this] { acceptLoop(); });
  }

  ~FakeServer() {
    stop_ = true;
    accept_thread_.join();
    {
      std::lock_guard lock(mu_);
      for (int fd : fds_) ::shutdown(fd, SHUT_RDWR);
    }
    for (auto& t : threads_) t.join();
    for (int fd : fds_) ::close(fd);
    ::close(listen_fd_);
  }

  std::uint16_t port() const { return port_; }
  int connections() const { return connections_; }

 private:
  void acceptLoop() {
    while (!stop_) {
      pollfd p{listen_fd_, POLLIN, 0};
      if (::poll(&p, 1, 20) <= 0) continue;
      int fd = ::accept(listen_fd_, nullptr, nullptr);
      if (fd < 0) continue;
      ++connections_;
      std::lock_guard lock(mu_);
      fds_.push_back(fd);
      threads_.emplace_back([this, fd] {
        handler_(fd, stop_);
        ::shutdown(fd, SHUT_WR);
      });
    }
  }

  Handler handler_;
  int listen_fd_ = -1;
  std::uint16_t port_ = 0;
  std::atomic<bool> stop_{false};
  std::atomic<int> connections_{0};
  std::thread accept_thread_;
  std::mutex mu_;
  std::vector<int> fds_;
  std::vector<std::thread> threads_;
};

// A handler answering every request with a fixed response.
inline FakeServer::Handler respondWith(std::string response) {
  return [response](int fd, const std::atomic<bool>&) {
    readRequestHead(fd);
    writeAll(fd, response);
  };
}

inline std::string okResponse(std::string_view body, std::string_view extra_headers = "") {
  return "HTTP/1.1 200 OK\r\nContent-Length: " + std::to_string(body.size()) + "\r\n" +
         std::string(extra_headers) + "Connection: close\r\n\r\n" + std::string(body);
}

// A 200 response whose body is sent chunked, `piece` bytes per chunk.
inline std::string chunkedResponse(std::string_view body, std::size_t piece, std::string_view extra_headers = "") {
  std::string wire = "HTTP/1.1 200 OK\r\n" + std::string(extra_headers) + "Transfer-Encoding: chunked\r\n\r\n";
  for (std::size_t i = 0; i < body.size(); i += piece) {
    std::string_view part = body.substr(i, piece);
    char size[24];
    std::snprintf(size, sizeof size, "%zx\r\n", part.size());
    wire.append(size).append(part).append("\r\n");
  }
  return wire + "0\r\n\r\n";
}

}  // namespace tidewatch::testing
