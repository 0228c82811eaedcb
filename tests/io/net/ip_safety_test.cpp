#include "io/net/ip_safety.h"

#include <gtest/gtest.h>

namespace tidewatch::io {
namespace {

AddressClass cls(const char* s) {
  return classifyAddress(asio::ip::make_address(s));
}

TEST(IpSafety, PublicAddressesPass) {
  for (const char* a :
       {"8.8.8.8", "1.1.1.1", "93.184.216.34", "100.63.255.255", "100.128.0.0", "172.32.0.1",
        "2606:4700::1111", "2a00:1450:4001:80b::200e", "::ffff:8.8.8.8"}) {
    EXPECT_EQ(cls(a), AddressClass::kPublic) << a;
  }
}

TEST(IpSafety, InternalAddressesAreBlocked) {
  EXPECT_EQ(cls("127.0.0.1"), AddressClass::kLoopback);
  EXPECT_EQ(cls("127.255.1.2"), AddressClass::kLoopback);
  EXPECT_EQ(cls("10.1.2.3"), AddressClass::kPrivate);
  EXPECT_EQ(cls("172.16.0.1"), AddressClass::kPrivate);
  EXPECT_EQ(cls("172.31.255.255"), AddressClass::kPrivate);
  EXPECT_EQ(cls("192.168.1.1"), AddressClass::kPrivate);
  EXPECT_EQ(cls("169.254.169.254"), AddressClass::kLinkLocal);  // cloud metadata
  EXPECT_EQ(cls("100.64.0.1"), AddressClass::kSharedCgnat);
  EXPECT_EQ(cls("224.0.0.1"), AddressClass::kMulticast);
  EXPECT_EQ(cls("0.0.0.0"), AddressClass::kUnspecified);
  EXPECT_EQ(cls("255.255.255.255"), AddressClass::kReserved);
  EXPECT_EQ(cls("240.0.0.1"), AddressClass::kReserved);
  EXPECT_EQ(cls("192.0.2.1"), AddressClass::kReserved);
  EXPECT_EQ(cls("198.18.0.1"), AddressClass::kReserved);
  EXPECT_EQ(cls("::1"), AddressClass::kLoopback);
  EXPECT_EQ(cls("::"), AddressClass::kUnspecified);
  EXPECT_EQ(cls("fd00::1"), AddressClass::kPrivate);
  EXPECT_EQ(cls("fc00::1"), AddressClass::kPrivate);
  EXPECT_EQ(cls("fe80::1"), AddressClass::kLinkLocal);
  EXPECT_EQ(cls("ff02::1"), AddressClass::kMulticast);
  EXPECT_EQ(cls("2001:db8::1"), AddressClass::kReserved);
}

TEST(IpSafety, EmbeddedIpv4IsJudgedByTheEmbeddedAddress) {
  EXPECT_EQ(cls("::ffff:127.0.0.1"), AddressClass::kLoopback);
  EXPECT_EQ(cls("::ffff:10.0.0.1"), AddressClass::kPrivate);
  EXPECT_EQ(cls("::ffff:169.254.169.254"), AddressClass::kLinkLocal);
  EXPECT_EQ(cls("64:ff9b::a00:1"), AddressClass::kPrivate);  // NAT64 of 10.0.0.1
  EXPECT_EQ(cls("2002:7f00:1::"), AddressClass::kLoopback);  // 6to4 of 127.0.0.1
  EXPECT_EQ(cls("::127.0.0.1"), AddressClass::kReserved);    // deprecated IPv4-compatible
}

}  // namespace
}  // namespace tidewatch::io
