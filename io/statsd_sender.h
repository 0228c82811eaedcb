// StatsD over UDP: lines packed into datagrams of at most 1 432 bytes (one Ethernet MTU
// minus headers), sent without waiting for anything. A lost datagram is a lost sample, never
// a stall: StatsD is fire-and-forget by design.
//
// Threads: send() may be called from any thread; it posts to the io_context and returns.
#pragma once

#include <asio/io_context.hpp>
#include <memory>
#include <string>
#include <vector>

namespace tidewatch::io {

class StatsdSender {
 public:
  // Throws std::runtime_error if `address` ("host:port", an IP literal) cannot be used.
  StatsdSender(asio::io_context& io, const std::string& address);
  ~StatsdSender();
  void send(std::vector<std::string> lines);
  std::uint64_t datagramsSent() const;

 private:
  struct Impl;
  std::shared_ptr<Impl> impl_;
};

}  // namespace tidewatch::io
