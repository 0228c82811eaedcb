// Test-side helpers for the DNS fixture: a query builder and an independent response decoder
// (it follows compression pointers itself, so it checks the writer rather than trusting it).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace tidewatch::fixture::dns::testing {

struct QueryOptions {
  std::uint16_t id = 0x1234;
  std::uint16_t qtype = 1;
  std::uint16_t qclass = 1;
  bool edns = true;
  std::uint16_t ednsSize = 1232;
  bool rd = false;
};

inline std::vector<std::uint8_t> makeQuery(const std::string& name, QueryOptions o = {}) {
  std::vector<std::uint8_t> q = {static_cast<std::uint8_t>(o.id >> 8), static_cast<std::uint8_t>(o.id),
                                 static_cast<std::uint8_t>(o.rd ? 0x01 : 0x00), 0, 0, 1, 0, 0, 0, 0, 0,
                                 static_cast<std::uint8_t>(o.edns ? 1 : 0)};
  std::size_t start = 0;
  while (!name.empty() && start <= name.size()) {
    std::size_t dot = name.find('.', start);
    if (dot == std::string::npos) dot = name.size();
    q.push_back(static_cast<std::uint8_t>(dot - start));
    q.insert(q.end(), name.begin() + static_cast<long>(start), name.begin() + static_cast<long>(dot));
    start = dot + 1;
  }
  q.push_back(0);
  q.push_back(static_cast<std::uint8_t>(o.qtype >> 8));
  q.push_back(static_cast<std::uint8_t>(o.qtype));
  q.push_back(static_cast<std::uint8_t>(o.qclass >> 8));
  q.push_back(static_cast<std::uint8_t>(o.qclass));
  if (o.edns) {
    for (std::uint8_t b : {0, 0, 41}) q.push_back(b);
    q.push_back(static_cast<std::uint8_t>(o.ednsSize >> 8));
    q.push_back(static_cast<std::uint8_t>(o.ednsSize));
    for (int i = 0; i < 6; ++i) q.push_back(0);
  }
  return q;
}

struct Rr {
  std::string name;
  std::uint16_t type = 0;
  std::uint32_t ttl = 0;
  std::string data;   // A/AAAA: address text; NS/CNAME: name; SOA: "mname rname serial ... min"
};

struct Response {
  std::uint16_t id = 0;
  std::uint16_t flags = 0;
  int rcode() const { return flags & 0xF; }
  bool aa() const { return (flags & 0x0400) != 0; }
  bool tc() const { return (flags & 0x0200) != 0; }
  std::string qname;
  std::uint16_t qtype = 0;
  std::vector<Rr> answer, authority, additional;
};

// Returns nullopt for anything malformed, including pointer loops and forward pointers.
inline std::optional<std::string> readName(const std::vector<std::uint8_t>& m, std::size_t& at) {
  std::string out;
  std::size_t p = at;
  bool jumped = false;
  for (int hops = 0; hops < 128; ++hops) {
    if (p >= m.size()) return std::nullopt;
    const std::uint8_t len = m[p];
    if ((len & 0xC0) == 0xC0) {
      if (p + 1 >= m.size()) return std::nullopt;
      const std::size_t target = ((len & 0x3F) << 8) | m[p + 1];
      if (target >= p) return std::nullopt;   // pointers must go backwards
      if (!jumped) at = p + 2;
      jumped = true;
      p = target;
      continue;
    }
    if (len == 0) {
      if (!jumped) at = p + 1;
      return out.empty() ? "." : out;
    }
    if (len > 63 || p + 1 + len > m.size()) return std::nullopt;
    out.append(reinterpret_cast<const char*>(&m[p + 1]), len);
    out.push_back('.');
    p += 1 + len;
  }
  return std::nullopt;
}

inline std::optional<Response> decode(const std::vector<std::uint8_t>& m) {
  if (m.size() < 12) return std::nullopt;
  auto u16 = [&](std::size_t at) { return static_cast<std::uint16_t>((m[at] << 8) | m[at + 1]); };
  Response r;
  r.id = u16(0);
  r.flags = u16(2);
  const int qd = u16(4), an = u16(6), ns = u16(8), ar = u16(10);
  std::size_t at = 12;
  for (int i = 0; i < qd; ++i) {
    auto n = readName(m, at);
    if (!n || at + 4 > m.size()) return std::nullopt;
    r.qname = *n;
    r.qtype = u16(at);
    at += 4;
  }
  auto readRrs = [&](int count, std::vector<Rr>& into) -> bool {
    for (int i = 0; i < count; ++i) {
      Rr rr;
      auto n = readName(m, at);
      if (!n || at + 10 > m.size()) return false;
      rr.name = *n;
      rr.type = u16(at);
      rr.ttl = (static_cast<std::uint32_t>(u16(at + 4)) << 16) | u16(at + 6);
      const std::size_t len = u16(at + 8);
      at += 10;
      if (at + len > m.size()) return false;
      std::size_t rd = at;
      char buf[64];
      if (rr.type == 1 && len == 4) {
        std::snprintf(buf, sizeof buf, "%u.%u.%u.%u", m[rd], m[rd + 1], m[rd + 2], m[rd + 3]);
        rr.data = buf;
      } else if (rr.type == 28 && len == 16) {
        for (int k = 0; k < 16; k += 2) {
          std::snprintf(buf, sizeof buf, "%s%x", k ? ":" : "", u16(rd + k));
          rr.data += buf;
        }
      } else if (rr.type == 2 || rr.type == 5) {
        auto t = readName(m, rd);
        if (!t || rd != at + len) return false;
        rr.data = *t;
      } else if (rr.type == 6) {
        auto mn = readName(m, rd);
        auto rn = mn ? readName(m, rd) : std::nullopt;
        if (!rn || rd + 20 != at + len) return false;
        rr.data = *mn + " " + *rn;
        for (int k = 0; k < 5; ++k)
          rr.data += " " + std::to_string((static_cast<std::uint32_t>(u16(rd + 4 * k)) << 16) | u16(rd + 4 * k + 2));
      }
      at += len;
      into.push_back(std::move(rr));
    }
    return true;
  };
  if (!readRrs(an, r.answer) || !readRrs(ns, r.authority) || !readRrs(ar, r.additional))
    return std::nullopt;
  if (at != m.size()) return std::nullopt;
  return r;
}

}  // namespace tidewatch::fixture::dns::testing
