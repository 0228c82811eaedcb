// Probe safety (compat §2.11): by default a check may only reach public addresses. The
// classification is applied to every resolved address at connect time (the address actually
// dialled, so DNS rebinding cannot reach internal hosts), to IP-literal hosts and to redirect
// targets. Pure functions, any thread.
#pragma once

#include <asio/ip/address.hpp>
#include <string_view>

namespace tidewatch::io {

enum class AddressClass : unsigned char {
  kPublic,
  kUnspecified,  // 0.0.0.0/8, ::
  kLoopback,     // 127/8, ::1
  kPrivate,      // RFC 1918, IPv6 ULA fc00::/7
  kLinkLocal,    // 169.254/16, fe80::/10
  kSharedCgnat,  // 100.64/10 (RFC 6598)
  kMulticast,    // 224/4, ff00::/8
  kReserved,     // 240/4, broadcast, documentation/benchmark ranges, 192.0.0/24, 6to4 relay…
};

AddressClass classifyAddress(const asio::ip::address& address);
inline bool isPublicAddress(const asio::ip::address& address) {
  return classifyAddress(address) == AddressClass::kPublic;
}
std::string_view toString(AddressClass c);

}  // namespace tidewatch::io
