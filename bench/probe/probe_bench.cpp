// CPU cost of the probe's hot pure parts: response parsing (a typical ~700-byte healthy page,
// Content-Length and chunked), keyword streaming, URL parsing, and a resolver cache hit.
#include <benchmark/benchmark.h>

#include <asio/io_context.hpp>
#include <string>

#include "io/http/response_parser.h"
#include "stages/probe/http/keyword_matcher.h"
#include "io/net/resolver.h"
#include "io/net/url.h"
#include "tests/support/fake_dns.h"
#include "tests/support/fake_http.h"

using namespace tidewatch::io;

namespace {

struct Discard : HttpResponseParser::BodySink {
  std::size_t n = 0;
  void onBody(const char*, std::size_t size) override { n += size; }
};

std::string healthyPage() {
  std::string body =
      "<!doctype html><html><head><title>Welcome to site-0000042.fleet.test</title></head><body>"
      "<nav><a href=/>Home</a> <a href=/about>About</a> <a href=/blog>Blog</a></nav>"
      "<main><h1>Welcome</h1><p>Status: Operational</p>";
  while (body.size() < 650)
    body += "<p>Lorem ipsum dolor sit amet, consectetur adipiscing elit.</p>";
  body += "<footer>uptime-bench-canary</footer></main></body></html>";
  return body;
}

// One response per iteration: the head, then the body (the probe feeds them in two calls).
void parseLoop(benchmark::State& state, const std::string& wire) {
  HttpResponseParser p;
  Discard d;
  for (auto _ : state) {
    p.reset(false);
    std::size_t used = p.feed(wire, &d);
    used += p.feed(std::string_view(wire).substr(used), &d);
    benchmark::DoNotOptimize(used);
  }
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * wire.size()));
  state.SetItemsProcessed(state.iterations());
}

void BM_ParseContentLength(benchmark::State& state) {
  std::string body = healthyPage();
  std::string wire =
      "HTTP/1.1 200 OK\r\nServer: tidewatch-fixture\r\nDate: Sat, 28 Nov 2026 23:00:00 GMT\r\n"
      "Content-Type: text/html; charset=utf-8\r\nContent-Length: " +
      std::to_string(body.size()) + "\r\nConnection: close\r\nCache-Control: no-store\r\n\r\n" +
      body;
  parseLoop(state, wire);
}
BENCHMARK(BM_ParseContentLength);

void BM_ParseChunked(benchmark::State& state) {
  std::string body = healthyPage();
  parseLoop(state, tidewatch::testing::chunkedResponse(body, 100, "Content-Type: text/html\r\n"));
}
BENCHMARK(BM_ParseChunked);

void BM_KeywordStream(benchmark::State& state) {
  std::string page = healthyPage();
  for (auto _ : state) {
    tidewatch::stages::KeywordMatcher m("uptime-bench-canary", {"HACKED", "DARKLOCK", "casino"});
    for (std::size_t i = 0; i < page.size(); i += 256)
      m.feed(std::string_view(page).substr(i, 256));
    benchmark::DoNotOptimize(m.requiredFound());
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_KeywordStream);

void BM_ParseUrl(benchmark::State& state) {
  for (auto _ : state) {
    auto u = parseUrl("https://site-0000042.fleet.test/some/path?query=1");
    benchmark::DoNotOptimize(u);
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_ParseUrl);

void BM_DnsCacheLookup(benchmark::State& state) {
  DnsCache cache(
      {std::chrono::seconds(30), std::chrono::seconds(900), std::chrono::seconds(5), 2'000'000});
  auto now = DnsCache::Clock::now();
  const int n = static_cast<int>(state.range(0));
  std::vector<std::string> names;
  for (int i = 0; i < n; ++i) {
    names.push_back("site-" + std::to_string(1000000 + i) + ".fleet.test");
    auto r = std::make_shared<ResolveResult>();
    r->addresses.push_back(asio::ip::make_address("127.1.0.1"));
    r->ttl_s = 300;
    cache.insert(names.back(), r, now);
  }
  std::size_t i = 0;
  for (auto _ : state) {
    benchmark::DoNotOptimize(cache.lookup(names[i++ % names.size()], now));
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_DnsCacheLookup)->Arg(1000)->Arg(1000000);

// The full Resolver path for a cached name: lock, cache lookup, inline callback. The name is
// put in the cache by one real lookup against a loopback DNS server (tests/support).
void BM_ResolverCacheHit(benchmark::State& state) {
  tidewatch::testing::FakeDns dns;
  dns.set("site-0000042.fleet.test",
          {tidewatch::testing::FakeDns::Mode::kAnswer, {"127.1.0.42"}, {}, 300});
  asio::io_context io;
  ResolverOptions o;
  o.servers = {dns.address()};
  Resolver resolver(io, o);
  bool ready = false;
  resolver.resolve("site-0000042.fleet.test", [&ready](ResolveResultPtr) { ready = true; });
  while (!ready) io.run_one();
  std::size_t hits = 0;
  for (auto _ : state) {
    resolver.resolve("site-0000042.fleet.test",
                     [&hits](ResolveResultPtr r) { hits += r->addresses.size(); });
  }
  benchmark::DoNotOptimize(hits);
  if (resolver.stats().queries != 1) state.SkipWithError("lookups were not cache hits");
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_ResolverCacheHit);

}  // namespace

BENCHMARK_MAIN();
