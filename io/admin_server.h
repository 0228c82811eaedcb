// io::AdminServer: the operators' endpoints on admin.listen (default 127.0.0.1:9190), served
// by the one small HTTP server (io/http/server.h). The app registers the routes (GET only):
// /status and /api/state (JSON), /metrics (Prometheus text), /healthz, and what the dashboard
// needs. An unknown path is 404, another method 405.
//
// Threads: runs on the given io_context; route handlers are called on its threads (one per
// request), must be thread-safe and quick (they format what is already measured), and must
// not block. Construction throws std::runtime_error naming admin.listen when the address is
// malformed or cannot be bound (startup only).
#pragma once

#include <asio/io_context.hpp>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>

#include "io/http/server.h"

namespace tidewatch::io {

class AdminServer {
 public:
  // Gets the request head (path, query in `target`, headers) and answers it.
  using Route = std::function<HttpReply(const HttpRequestHead&)>;
  AdminServer(asio::io_context& io, const std::string& listen, std::map<std::string, Route> routes);
  ~AdminServer();
  std::uint16_t port() const;
  void stop();

 private:
  std::unique_ptr<HttpServer> server_;
};

}  // namespace tidewatch::io
