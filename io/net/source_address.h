// Outgoing connections bound to a chosen local address (probe.source_address): a vantage's
// egress IP, an address a firewall allows. Pure socket calls, any thread, never block.
#pragma once

#include <asio/ip/address.hpp>
#include <asio/ip/tcp.hpp>
#include <system_error>

namespace tidewatch::io {

// Opens `socket` (closed on entry) for `source`'s family and binds it to `source`, leaving the
// port to connect(): IP_BIND_ADDRESS_NO_PORT shares the ephemeral range per destination as an
// unbound socket would (a plain bind(addr, 0) gives each connection a port unique across all
// destinations). On error the socket is left closed.
std::error_code bindToSource(asio::ip::tcp::socket& socket, const asio::ip::address& source);

// Whether this host can bind `source` at all (it owns the address): a startup check, so a
// wrong address is one fatal config error instead of every check failing with "Cannot assign
// requested address". Opens and closes one socket.
std::error_code checkSourceAddress(const asio::ip::address& source);

}  // namespace tidewatch::io
