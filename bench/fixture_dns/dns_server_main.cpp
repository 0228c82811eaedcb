// A stand-alone DnsServer for benchmarks and manual poking with dig: one thread, one
// io_context, so its /proc/PID/stat CPU is the server's cost alone.
//
//   tw_dns_server_bench [--address 127.0.0.1] [--port 0] [--count 100000] [--ttl 30]
//                       [--zone fleet.test] [--instance ns1] [--failure '<json>']...
// Prints "port <n>" on stdout once listening; exits on SIGINT/SIGTERM after printing stats.
#include <asio/io_context.hpp>
#include <asio/signal_set.hpp>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <iostream>
#include <string>
#include <vector>

#include "fixture/dns/dns_server.h"

int main(int argc, char** argv) {
  using namespace tidewatch::fixture;
  DnsServerConfig config;
  config.fleet.count = 100000;
  std::vector<std::string> failures;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    auto next = [&]() -> std::string {
      if (i + 1 >= argc) {
        std::cerr << arg << " needs a value\n";
        std::exit(2);
      }
      return argv[++i];
    };
    if (arg == "--address") config.listen_address = asio::ip::make_address(next());
    else if (arg == "--port") config.port = static_cast<std::uint16_t>(std::stoul(next()));
    else if (arg == "--count") config.fleet.count = static_cast<std::uint32_t>(std::stoul(next()));
    else if (arg == "--ttl") config.ttl_seconds = static_cast<std::uint32_t>(std::stoul(next()));
    else if (arg == "--zone") {
      config.zone = next();
      config.fleet.suffix = "." + config.zone;
    } else if (arg == "--instance") config.instance_name = next();
    else if (arg == "--failure") failures.push_back(next());
    else {
      std::cerr << "unknown argument " << arg << "\n";
      return 2;
    }
  }
  asio::io_context io(1);
  DnsServer server(io, config);
  server.start();
  for (const auto& f : failures) server.activate(DnsFailure::fromJson(nlohmann::json::parse(f)));
  std::printf("port %u\n", server.port());
  std::fflush(stdout);
  asio::signal_set signals(io, SIGINT, SIGTERM);
  signals.async_wait([&](const std::error_code&, int) {
    server.stop();
    io.stop();
  });
  io.run();
  std::cerr << server.stats().dump() << "\n";
  return 0;
}
