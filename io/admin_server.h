// io::AdminServer: the operators' endpoints on admin.listen (default 127.0.0.1:9190), served
// by the one small HTTP server (io/http/server.h):
//   GET /status   JSON from the status callback (runner stats, counters)
//   GET /metrics  one "name value" line per metric
//   GET /healthz  "ok"
//
// Threads: runs on the given io_context; the two callbacks are called on its threads (one
// per request) and must be thread-safe and quick. Construction throws std::runtime_error
// naming admin.listen when the address is malformed or cannot be bound (startup only).
#pragma once

#include <asio/io_context.hpp>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>

namespace tidewatch::io {

class HttpServer;

class AdminServer {
 public:
  using Handler = std::function<std::string()>;
  AdminServer(asio::io_context& io, const std::string& listen, Handler status_json,
              Handler metrics_text);
  ~AdminServer();
  std::uint16_t port() const;
  void stop();

 private:
  std::unique_ptr<HttpServer> server_;
};

}  // namespace tidewatch::io
