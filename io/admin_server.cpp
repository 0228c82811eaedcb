#include "io/admin_server.h"

#include <asio/read_until.hpp>
#include <asio/streambuf.hpp>
#include <asio/write.hpp>
#include <stdexcept>

namespace tidewatch::io {

namespace {

std::pair<std::string, std::uint16_t> splitHostPort(const std::string& listen) {
  auto colon = listen.rfind(':');
  if (colon == std::string::npos) throw std::invalid_argument("admin.listen must be host:port");
  std::string host = listen.substr(0, colon);
  if (host.size() > 2 && host.front() == '[' && host.back() == ']') host = host.substr(1, host.size() - 2);
  int port = std::stoi(listen.substr(colon + 1));
  if (port < 0 || port > 65535) throw std::invalid_argument("admin.listen port out of range");
  return {host, static_cast<std::uint16_t>(port)};
}

}  // namespace

struct AdminServer::Impl : std::enable_shared_from_this<AdminServer::Impl> {
  Impl(asio::io_context& io, const asio::ip::tcp::endpoint& ep, Handler s, Handler m)
      : acceptor(io, ep), status(std::move(s)), metrics(std::move(m)) {}

  void accept() {
    auto self = shared_from_this();
    acceptor.async_accept([self](std::error_code ec, asio::ip::tcp::socket socket) {
      if (ec == asio::error::operation_aborted || !self->acceptor.is_open()) return;
      if (!ec) self->serve(std::move(socket));
      self->accept();
    });
  }

  void serve(asio::ip::tcp::socket socket) {
    auto sock = std::make_shared<asio::ip::tcp::socket>(std::move(socket));
    auto buf = std::make_shared<asio::streambuf>(16 * 1024);  // bounded request size
    auto self = shared_from_this();
    asio::async_read_until(*sock, *buf, "\r\n\r\n", [self, sock, buf](std::error_code ec, std::size_t) {
      std::string code = "200 OK", type = "text/plain", body;
      if (ec) {
        code = "400 Bad Request";
        body = "bad request\n";
      } else {
        std::istream in(buf.get());
        std::string method, target;
        in >> method >> target;
        if (method != "GET") {
          code = "405 Method Not Allowed";
          body = "GET only\n";
        } else if (target == "/status") {
          type = "application/json";
          body = self->status();
        } else if (target == "/metrics") {
          body = self->metrics();
        } else if (target == "/healthz") {
          body = "ok\n";
        } else {
          code = "404 Not Found";
          body = "not found\n";
        }
      }
      auto out = std::make_shared<std::string>("HTTP/1.1 " + code + "\r\nContent-Type: " + type +
                                               "\r\nContent-Length: " + std::to_string(body.size()) +
                                               "\r\nConnection: close\r\n\r\n" + body);
      asio::async_write(*sock, asio::buffer(*out), [sock, out](std::error_code, std::size_t) {
        std::error_code ignored;
        sock->shutdown(asio::ip::tcp::socket::shutdown_both, ignored);
      });
    });
  }

  asio::ip::tcp::acceptor acceptor;
  Handler status, metrics;
};

AdminServer::AdminServer(asio::io_context& io, const std::string& listen, Handler status_json,
                         Handler metrics_text) {
  auto [host, port] = splitHostPort(listen);
  asio::ip::tcp::endpoint ep(asio::ip::make_address(host), port);
  impl_ = std::make_shared<Impl>(io, ep, std::move(status_json), std::move(metrics_text));
  impl_->accept();
}

AdminServer::~AdminServer() { stop(); }

std::uint16_t AdminServer::port() const { return impl_->acceptor.local_endpoint().port(); }

void AdminServer::stop() {
  std::error_code ignored;
  if (impl_) impl_->acceptor.close(ignored);
}

}  // namespace tidewatch::io
