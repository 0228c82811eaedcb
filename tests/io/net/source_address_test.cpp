// io/net/source_address: binding outgoing sockets to probe.source_address.
#include "io/net/source_address.h"

#include <gtest/gtest.h>

#include <asio/io_context.hpp>

namespace tidewatch::io {
namespace {

TEST(SourceAddress, LoopbackIsBindableAndTheSocketKeepsIt) {
  const auto loopback = asio::ip::make_address("127.0.0.1");
  EXPECT_FALSE(checkSourceAddress(loopback));
  asio::io_context io;
  asio::ip::tcp::socket socket(io);
  ASSERT_FALSE(bindToSource(socket, loopback));
  EXPECT_TRUE(socket.is_open());
  EXPECT_EQ(socket.local_endpoint().address(), loopback);
}

TEST(SourceAddress, AnAddressThisHostDoesNotOwnIsRefusedAndLeavesTheSocketClosed) {
  // 192.0.2.0/24 is TEST-NET-1 (RFC 5737): never assigned to a host.
  const auto foreign = asio::ip::make_address("192.0.2.77");
  EXPECT_TRUE(checkSourceAddress(foreign));
  asio::io_context io;
  asio::ip::tcp::socket socket(io);
  EXPECT_TRUE(bindToSource(socket, foreign));
  EXPECT_FALSE(socket.is_open());
}

}  // namespace
}  // namespace tidewatch::io
