#include "io/net/source_address.h"

#include <netinet/in.h>

#include <asio/io_context.hpp>

namespace tidewatch::io {

using Tcp = asio::ip::tcp;

std::error_code bindToSource(Tcp::socket& socket, const asio::ip::address& source) {
  std::error_code ec;
  socket.open(source.is_v4() ? Tcp::v4() : Tcp::v6(), ec);
  if (!ec) {
    int one = 1;
    ::setsockopt(socket.native_handle(), IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, &one, sizeof one);
    socket.bind(Tcp::endpoint(source, 0), ec);
  }
  if (ec) {
    std::error_code ignored;
    socket.close(ignored);
  }
  return ec;
}

std::error_code checkSourceAddress(const asio::ip::address& source) {
  asio::io_context io;
  Tcp::socket s(io);
  std::error_code ec;
  s.open(source.is_v4() ? Tcp::v4() : Tcp::v6(), ec);
  if (!ec) s.bind(Tcp::endpoint(source, 0), ec);
  return ec;
}

}  // namespace tidewatch::io
