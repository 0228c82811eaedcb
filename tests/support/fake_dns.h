// A real DNS server on 127.0.0.1:<port 0> (UDP) for resolver and probe tests: answers A/AAAA
// from a table, or NXDOMAIN, SERVFAIL, or silence (a timeout) per name; counts queries.
// A `silent` server (nothing in the table, drop everything) stands in for a dead nameserver.
#pragma once

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

namespace tidewatch::testing {

class FakeDns {
 public:
  enum class Mode { kAnswer, kNxDomain, kServFail, kDrop };
  struct Rule {
    Mode mode = Mode::kAnswer;
    std::vector<std::string> v4;
    std::vector<std::string> v6;
    std::uint32_t ttl = 300;
    int delay_ms = 0;
  };

  // A rule with no addresses: NXDOMAIN, SERVFAIL or silence.
  static Rule only(Mode mode) {
    Rule r;
    r.mode = mode;
    return r;
  }

  FakeDns() {
    fd_ = ::socket(AF_INET, SOCK_DGRAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    a.sin_port = 0;
    ::bind(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a);
    int buffer = 4 << 20;  // bursts of thousands of queries must not be lost on our side
    ::setsockopt(fd_, SOL_SOCKET, SO_RCVBUF, &buffer, sizeof buffer);
    socklen_t len = sizeof a;
    ::getsockname(fd_, reinterpret_cast<sockaddr*>(&a), &len);
    port_ = ntohs(a.sin_port);
    thread_ = std::thread([this] { loop(); });
  }
  ~FakeDns() {
    stop_ = true;
    thread_.join();
    ::close(fd_);
  }

  std::uint16_t port() const { return port_; }
  std::string address() const { return "127.0.0.1:" + std::to_string(port_); }

  void set(const std::string& name, Rule rule) {
    std::lock_guard lock(mu_);
    rules_[name] = std::move(rule);
  }
  void setDefault(Mode mode) { default_mode_ = mode; }
  // Names without a rule get this answer (instead of the default mode).
  void setDefaultRule(Rule rule) {
    std::lock_guard lock(mu_);
    default_rule_ = std::move(rule);
  }
  // While held, answers are kept instead of sent; release() sends them all back to back.
  void hold() { holding_ = true; }
  std::size_t held() {
    std::lock_guard lock(mu_);
    return held_.size();
  }
  void release() {
    std::vector<std::pair<std::vector<unsigned char>, sockaddr_in>> out;
    {
      std::lock_guard lock(mu_);
      holding_ = false;
      out.swap(held_);
    }
    for (const auto& [packet, to] : out)
      ::sendto(fd_, packet.data(), packet.size(), 0, reinterpret_cast<const sockaddr*>(&to),
               sizeof to);
  }
  int queries(const std::string& name) {
    std::lock_guard lock(mu_);
    return counts_[name];
  }
  int totalQueries() const { return total_; }

 private:
  void loop() {
    std::vector<unsigned char> buf(1500);
    while (!stop_) {
      pollfd p{fd_, POLLIN, 0};
      if (::poll(&p, 1, 50) <= 0) continue;
      sockaddr_in from{};
      socklen_t flen = sizeof from;
      ssize_t n =
          ::recvfrom(fd_, buf.data(), buf.size(), 0, reinterpret_cast<sockaddr*>(&from), &flen);
      if (n < 12) continue;
      ++total_;
      handle(buf.data(), static_cast<std::size_t>(n), from);
    }
  }

  void handle(const unsigned char* q, std::size_t n, const sockaddr_in& from) {
    std::size_t i = 12;
    std::string name;
    while (i < n && q[i] != 0) {
      std::size_t len = q[i];
      if (i + 1 + len > n) return;
      if (!name.empty()) name.push_back('.');
      for (std::size_t k = 0; k < len; ++k)
        name.push_back(static_cast<char>(std::tolower(q[i + 1 + k])));
      i += 1 + len;
    }
    if (i + 5 > n) return;
    std::size_t qend = i + 5;
    std::uint16_t qtype = static_cast<std::uint16_t>((q[i + 1] << 8) | q[i + 2]);
    Rule rule;
    {
      std::lock_guard lock(mu_);
      ++counts_[name];
      auto it = rules_.find(name);
      if (it != rules_.end()) {
        rule = it->second;
      } else if (default_rule_) {
        rule = *default_rule_;
      } else {
        rule.mode = default_mode_;
      }
    }
    if (rule.mode == Mode::kDrop) return;
    if (rule.delay_ms) std::this_thread::sleep_for(std::chrono::milliseconds(rule.delay_ms));
    std::vector<unsigned char> out(q, q + qend);
    out[2] = static_cast<unsigned char>(0x80 | (q[2] & 0x01));  // QR, RD copied
    int rcode = rule.mode == Mode::kNxDomain ? 3 : rule.mode == Mode::kServFail ? 2 : 0;
    out[3] = static_cast<unsigned char>(0x80 | rcode);  // RA
    out[4] = 0;
    out[5] = 1;
    out[6] = out[7] = out[8] = out[9] = out[10] = out[11] = 0;
    int answers = 0;
    if (rule.mode == Mode::kAnswer) {
      const auto& list = qtype == 28 ? rule.v6 : rule.v4;
      if (qtype == 1 || qtype == 28) {
        for (const auto& ip : list) {
          unsigned char addr[16];
          int fam = qtype == 28 ? AF_INET6 : AF_INET;
          if (inet_pton(fam, ip.c_str(), addr) != 1) continue;
          int len = qtype == 28 ? 16 : 4;
          unsigned char rr[12] = {0xc0,
                                  0x0c,
                                  0,
                                  static_cast<unsigned char>(qtype),
                                  0,
                                  1,
                                  static_cast<unsigned char>(rule.ttl >> 24),
                                  static_cast<unsigned char>(rule.ttl >> 16),
                                  static_cast<unsigned char>(rule.ttl >> 8),
                                  static_cast<unsigned char>(rule.ttl),
                                  0,
                                  static_cast<unsigned char>(len)};
          out.insert(out.end(), rr, rr + 12);
          out.insert(out.end(), addr, addr + len);
          ++answers;
        }
      }
    }
    out[7] = static_cast<unsigned char>(answers);
    {
      std::lock_guard lock(mu_);
      if (holding_) {
        held_.emplace_back(std::move(out), from);
        return;
      }
    }
    ::sendto(fd_, out.data(), out.size(), 0, reinterpret_cast<const sockaddr*>(&from), sizeof from);
  }

  int fd_ = -1;
  std::uint16_t port_ = 0;
  std::atomic<bool> stop_{false};
  std::atomic<int> total_{0};
  std::atomic<Mode> default_mode_{Mode::kNxDomain};
  std::mutex mu_;
  std::map<std::string, Rule> rules_;
  std::map<std::string, int> counts_;
  std::optional<Rule> default_rule_;
  bool holding_ = false;  // under mu_
  std::vector<std::pair<std::vector<unsigned char>, sockaddr_in>> held_;
  std::thread thread_;
};

}  // namespace tidewatch::testing
