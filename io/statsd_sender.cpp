#include "io/statsd_sender.h"

#include <asio/ip/udp.hpp>
#include <asio/post.hpp>
#include <atomic>
#include <stdexcept>

#include "core/text.h"

namespace tidewatch::io {

namespace {
constexpr std::size_t kMaxDatagram = 1432;
}

struct StatsdSender::Impl {
  explicit Impl(asio::io_context& io) : socket(io) {}
  asio::ip::udp::socket socket;
  asio::ip::udp::endpoint to;
  std::atomic<std::uint64_t> sent{0};
};

StatsdSender::StatsdSender(asio::io_context& io, const std::string& address) : impl_(std::make_shared<Impl>(io)) {
  std::string why;
  auto hp = splitHostPort(address, &why);
  if (!hp) throw std::runtime_error("statsd.address: " + why);
  std::error_code ec;
  const auto ip = asio::ip::make_address(hp->host.empty() ? "127.0.0.1" : hp->host, ec);
  if (ec) throw std::runtime_error("statsd.address: '" + hp->host + "' is not an IP address");
  impl_->to = asio::ip::udp::endpoint(ip, hp->port);
  impl_->socket.open(impl_->to.protocol(), ec);
  if (ec) throw std::runtime_error("statsd: " + ec.message());
}

StatsdSender::~StatsdSender() {
  std::error_code ec;
  impl_->socket.close(ec);
}

void StatsdSender::send(std::vector<std::string> lines) {
  asio::post(impl_->socket.get_executor(), [impl = impl_, lines = std::move(lines)] {
    std::string datagram;
    auto flush = [&] {
      if (datagram.empty()) return;
      std::error_code ec;
      impl->socket.send_to(asio::buffer(datagram), impl->to, 0, ec);  // UDP: never blocks long
      if (!ec) impl->sent.fetch_add(1, std::memory_order_relaxed);
      datagram.clear();
    };
    for (const std::string& line : lines) {
      if (!datagram.empty() && datagram.size() + 1 + line.size() > kMaxDatagram) flush();
      if (!datagram.empty()) datagram += '\n';
      datagram += line;
    }
    flush();
  });
}

std::uint64_t StatsdSender::datagramsSent() const { return impl_->sent.load(std::memory_order_relaxed); }

}  // namespace tidewatch::io
