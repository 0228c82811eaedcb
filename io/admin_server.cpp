#include "io/admin_server.h"

namespace tidewatch::io {

AdminServer::AdminServer(asio::io_context& io, const std::string& listen, std::map<std::string, Route> routes) {
  HttpServerOptions options;
  options.listen = listen;
  options.config_key = "admin.listen";
  options.max_head_bytes = 16 * 1024;
  HttpServer::Handlers handlers;
  // Every admin answer is decided by the head: no request body is ever read.
  handlers.on_head = [routes = std::move(routes)](const HttpRequestHead& head) -> std::optional<HttpReply> {
    auto it = routes.find(head.path);
    if (it == routes.end()) return HttpReply{404, "text/plain", "not found\n"};
    if (head.method != "GET" && head.method != "HEAD") return HttpReply{405, "text/plain", "GET only\n"};
    return it->second(head);
  };
  server_ = std::make_unique<HttpServer>(io, std::move(options), std::move(handlers));
}

AdminServer::~AdminServer() = default;

std::uint16_t AdminServer::port() const { return server_->port(); }

void AdminServer::stop() { server_->stop(); }

}  // namespace tidewatch::io
