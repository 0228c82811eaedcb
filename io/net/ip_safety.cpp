#include "io/net/ip_safety.h"

#include <array>
#include <cstdint>

namespace tidewatch::io {
namespace {

struct V4Range {
  std::uint32_t base;
  int prefix;
  AddressClass cls;
};

constexpr std::uint32_t ip4(unsigned a, unsigned b, unsigned c, unsigned d) {
  return (a << 24) | (b << 16) | (c << 8) | d;
}

// IANA IPv4 special-purpose registry entries that are not globally reachable.
constexpr std::array<V4Range, 16> kV4 = {{
    {ip4(0, 0, 0, 0), 8, AddressClass::kUnspecified},
    {ip4(10, 0, 0, 0), 8, AddressClass::kPrivate},
    {ip4(100, 64, 0, 0), 10, AddressClass::kSharedCgnat},
    {ip4(127, 0, 0, 0), 8, AddressClass::kLoopback},
    {ip4(169, 254, 0, 0), 16, AddressClass::kLinkLocal},
    {ip4(172, 16, 0, 0), 12, AddressClass::kPrivate},
    {ip4(192, 0, 0, 0), 24, AddressClass::kReserved},
    {ip4(192, 0, 2, 0), 24, AddressClass::kReserved},
    {ip4(192, 88, 99, 0), 24, AddressClass::kReserved},
    {ip4(192, 168, 0, 0), 16, AddressClass::kPrivate},
    {ip4(198, 18, 0, 0), 15, AddressClass::kReserved},
    {ip4(198, 51, 100, 0), 24, AddressClass::kReserved},
    {ip4(203, 0, 113, 0), 24, AddressClass::kReserved},
    {ip4(224, 0, 0, 0), 4, AddressClass::kMulticast},
    {ip4(240, 0, 0, 0), 4, AddressClass::kReserved},  // includes 255.255.255.255
    {ip4(255, 255, 255, 255), 32, AddressClass::kReserved},
}};

AddressClass classifyV4(std::uint32_t a) {
  for (const auto& r : kV4) {
    std::uint32_t mask = r.prefix == 0 ? 0 : ~std::uint32_t{0} << (32 - r.prefix);
    if ((a & mask) == r.base) return r.cls;
  }
  return AddressClass::kPublic;
}

std::uint32_t v4At(const asio::ip::address_v6::bytes_type& b, int offset) {
  return (std::uint32_t{b[offset]} << 24) | (std::uint32_t{b[offset + 1]} << 16) |
         (std::uint32_t{b[offset + 2]} << 8) | std::uint32_t{b[offset + 3]};
}

AddressClass classifyV6(const asio::ip::address_v6& v6) {
  auto b = v6.to_bytes();
  bool zero10 = true;
  for (int i = 0; i < 10; ++i) zero10 = zero10 && b[i] == 0;
  if (zero10 && b[10] == 0xff && b[11] == 0xff) return classifyV4(v4At(b, 12));  // ::ffff:a.b.c.d
  if (v6.is_unspecified()) return AddressClass::kUnspecified;
  if (v6.is_loopback()) return AddressClass::kLoopback;
  if (zero10 && b[10] == 0 && b[11] == 0) return AddressClass::kReserved;  // deprecated ::a.b.c.d
  if (b[0] == 0xff) return AddressClass::kMulticast;
  if ((b[0] & 0xfe) == 0xfc) return AddressClass::kPrivate;                    // fc00::/7 ULA
  if (b[0] == 0xfe && (b[1] & 0xc0) == 0x80) return AddressClass::kLinkLocal;  // fe80::/10
  if (b[0] == 0xfe && (b[1] & 0xc0) == 0xc0) return AddressClass::kPrivate;  // fec0::/10 site-local
  // 64:ff9b::/96 NAT64 embeds an IPv4 address: judge the embedded one.
  if (b[0] == 0x00 && b[1] == 0x64 && b[2] == 0xff && b[3] == 0x9b) {
    bool zero = true;
    for (int i = 4; i < 12; ++i) zero = zero && b[i] == 0;
    if (zero) return classifyV4(v4At(b, 12));
  }
  // 2002::/16 6to4 embeds an IPv4 address in bytes 2..5.
  if (b[0] == 0x20 && b[1] == 0x02) return classifyV4(v4At(b, 2));
  if (b[0] == 0x20 && b[1] == 0x01 && b[2] == 0x0d && b[3] == 0xb8)
    return AddressClass::kReserved;  // doc
  if (b[0] == 0x01 && b[1] == 0x00 && b[2] == 0 && b[3] == 0 && b[4] == 0 && b[5] == 0 &&
      b[6] == 0 && b[7] == 0) {
    return AddressClass::kReserved;  // 100::/64 discard-only
  }
  return AddressClass::kPublic;
}

}  // namespace

AddressClass classifyAddress(const asio::ip::address& address) {
  if (address.is_v4()) return classifyV4(address.to_v4().to_uint());
  return classifyV6(address.to_v6());
}

std::string_view toString(AddressClass c) {
  switch (c) {
    case AddressClass::kPublic:
      return "public";
    case AddressClass::kUnspecified:
      return "unspecified";
    case AddressClass::kLoopback:
      return "loopback";
    case AddressClass::kPrivate:
      return "private";
    case AddressClass::kLinkLocal:
      return "link-local";
    case AddressClass::kSharedCgnat:
      return "shared (CGNAT)";
    case AddressClass::kMulticast:
      return "multicast";
    case AddressClass::kReserved:
      return "reserved";
  }
  return "?";
}

}  // namespace tidewatch::io
