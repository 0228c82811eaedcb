#include "io/admin_server.h"

#include "io/http/server.h"

namespace tidewatch::io {

AdminServer::AdminServer(asio::io_context& io, const std::string& listen, Handler status_json,
                         Handler metrics_text) {
  HttpServerOptions options;
  options.listen = listen;
  options.config_key = "admin.listen";
  options.max_head_bytes = 16 * 1024;
  HttpServer::Handlers handlers;
  // Every admin answer is decided by the head: no request body is ever read.
  handlers.on_head = [status = std::move(status_json), metrics = std::move(metrics_text)](
                         const HttpRequestHead& head) -> std::optional<HttpReply> {
    if (head.method != "GET") return HttpReply{405, "text/plain", "GET only\n"};
    if (head.path == "/status") return HttpReply{200, "application/json", status()};
    if (head.path == "/metrics") return HttpReply{200, "text/plain", metrics()};
    if (head.path == "/healthz") return HttpReply{200, "text/plain", "ok\n"};
    return HttpReply{404, "text/plain", "not found\n"};
  };
  server_ = std::make_unique<HttpServer>(io, std::move(options), std::move(handlers));
}

AdminServer::~AdminServer() = default;

std::uint16_t AdminServer::port() const {
  return server_->port();
}

void AdminServer::stop() {
  server_->stop();
}

}  // namespace tidewatch::io
