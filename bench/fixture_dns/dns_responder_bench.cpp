// User-space cost of one DNS answer (parse + decide + build), without sockets: the part of the
// server's per-query CPU that our code controls. run.sh measures the whole process.
#include <benchmark/benchmark.h>

#include <vector>

#include "fixture/dns/dns_responder.h"

namespace {

using namespace tidewatch::fixture;
using namespace tidewatch::fixture::dns;

std::vector<std::uint8_t> query(const std::string& name, std::uint16_t qtype = 1) {
  std::vector<std::uint8_t> q = {0x12, 0x34, 0, 0, 0, 1, 0, 0, 0, 0, 0, 1};
  std::size_t start = 0;
  while (start <= name.size()) {
    std::size_t dot = name.find('.', start);
    if (dot == std::string::npos) dot = name.size();
    q.push_back(static_cast<std::uint8_t>(dot - start));
    q.insert(q.end(), name.begin() + static_cast<long>(start), name.begin() + static_cast<long>(dot));
    start = dot + 1;
  }
  for (int b : {0, 0, static_cast<int>(qtype), 0, 1}) q.push_back(static_cast<std::uint8_t>(b));
  for (std::uint8_t b : {0, 0, 41, 0x04, 0xD0, 0, 0, 0, 0, 0, 0}) q.push_back(b);
  return q;
}

DnsServerConfig config() {
  DnsServerConfig c;
  c.fleet.count = 100000;
  return c;
}

void run(benchmark::State& state, Responder& r, const std::vector<std::vector<std::uint8_t>>& qs) {
  std::array<std::uint8_t, 4096> out{};
  std::size_t i = 0;
  const auto now = Clock::now();
  for (auto _ : state) {
    auto d = r.respond(qs[i], out, Transport::Udp, now);
    benchmark::DoNotOptimize(d);
    if (++i == qs.size()) i = 0;
  }
  state.SetItemsProcessed(state.iterations());
}

std::vector<std::vector<std::uint8_t>> fleetQueries() {
  std::vector<std::vector<std::uint8_t>> qs;
  for (std::uint32_t id = 1; id <= 1000; ++id) qs.push_back(query(fleetHostName(config().fleet, id * 97)));
  return qs;
}

void BM_FleetA(benchmark::State& state) {
  Responder r(config());
  run(state, r, fleetQueries());
}
BENCHMARK(BM_FleetA);

// Ten glob failures that match nothing: every query takes the registry lock and tries them all.
void BM_FleetAWithTenNonMatchingGlobs(benchmark::State& state) {
  Responder r(config());
  for (int i = 0; i < 10; ++i) {
    DnsFailure f;
    f.type = "dns_servfail";
    f.host = "other" + std::to_string(i) + "-*.fleet.test";
    r.failures().activate(f, Clock::now());
  }
  run(state, r, fleetQueries());
}
BENCHMARK(BM_FleetAWithTenNonMatchingGlobs);

void BM_NxdomainWithSoa(benchmark::State& state) {
  Responder r(config());
  run(state, r, {query("nothere.fleet.test")});
}
BENCHMARK(BM_NxdomainWithSoa);

}  // namespace
