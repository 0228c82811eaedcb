// A small HTTP/1.1 server for operators on admin.listen (default 127.0.0.1:9190):
//   GET /status   JSON from the status callback (runner stats, counters)
//   GET /metrics  one "name value" line per metric
//   GET /healthz  "ok"
// One request per connection, bounded request size, runs on the event loop.
#pragma once

#include <asio/io_context.hpp>
#include <asio/ip/tcp.hpp>
#include <functional>
#include <memory>
#include <string>

namespace tidewatch::io {

class AdminServer {
 public:
  using Handler = std::function<std::string()>;
  AdminServer(asio::io_context& io, const std::string& listen, Handler status_json, Handler metrics_text);
  ~AdminServer();
  std::uint16_t port() const;
  void stop();

 private:
  struct Impl;
  std::shared_ptr<Impl> impl_;
};

}  // namespace tidewatch::io
