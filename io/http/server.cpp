#include "io/http/server.h"

#include <array>
#include <asio/dispatch.hpp>
#include <asio/ip/tcp.hpp>
#include <asio/post.hpp>
#include <asio/steady_timer.hpp>
#include <asio/strand.hpp>
#include <asio/write.hpp>
#include <stdexcept>

#include "core/text.h"

namespace tidewatch::io {

using asio::ip::tcp;

const char* reasonPhrase(int status) {
  switch (status) {
    case 200:
      return "OK";
    case 400:
      return "Bad Request";
    case 401:
      return "Unauthorized";
    case 404:
      return "Not Found";
    case 405:
      return "Method Not Allowed";
    case 408:
      return "Request Timeout";
    case 411:
      return "Length Required";
    case 413:
      return "Payload Too Large";
    case 431:
      return "Request Header Fields Too Large";
    case 500:
      return "Internal Server Error";
    case 503:
      return "Service Unavailable";
    case 504:
      return "Gateway Timeout";
  }
  return "Error";
}

struct HttpServer::Impl : std::enable_shared_from_this<HttpServer::Impl> {
  Impl(asio::io_context& io_, HttpServerOptions o, Handlers h)
      : io(io_), acceptor(io_), options(std::move(o)), handlers(std::move(h)) {}

  void accept();

  HttpReply refusal(int status, std::string reason) const {
    if (handlers.refusal) return handlers.refusal(status, std::move(reason));
    return HttpReply{status, "text/plain", reason + "\n"};
  }

  asio::io_context& io;
  tcp::acceptor acceptor;
  HttpServerOptions options;
  Handlers handlers;
};

struct HttpServer::Connection : std::enable_shared_from_this<HttpServer::Connection> {
  Connection(std::shared_ptr<Impl> server, tcp::socket socket)
      : server_(std::move(server)), socket_(std::move(socket)), timer_(socket_.get_executor()) {}

  void start() {
    arm(server_->options.head_timeout);
    readHead();
  }

  // Any thread: the write happens on the connection's strand.
  void respond(HttpReply reply) {
    auto self = shared_from_this();
    asio::dispatch(socket_.get_executor(),
                   [self, reply = std::move(reply)]() mutable { self->write(std::move(reply)); });
  }

 private:
  void arm(std::chrono::milliseconds limit) {
    timer_.expires_after(limit);
    auto self = shared_from_this();
    timer_.async_wait([self](std::error_code ec) {
      if (ec || self->responded_) return;
      // Slow client: the whole request did not arrive in time.
      self->refuse(408, "request not received in time");
    });
  }

  void readHead() {
    auto self = shared_from_this();
    socket_.async_read_some(asio::buffer(chunk_), [self](std::error_code ec, std::size_t n) {
      if (self->responded_) return;
      self->data_.append(self->chunk_.data(), n);
      if (ec) {
        // A client that half-closed mid-request can still read why it was refused.
        if (ec == asio::error::eof && !self->data_.empty()) {
          return self->refuse(400, "request ended before the end of its head");
        }
        return self->close();
      }
      auto end = self->data_.find("\r\n\r\n");
      const std::size_t cap = self->server_->options.max_head_bytes;
      if (end == std::string::npos ? self->data_.size() > cap : end + 4 > cap) {
        return self->refuse(431, "request head over " + std::to_string(cap / 1024) + " KiB");
      }
      if (end == std::string::npos) return self->readHead();
      self->head_end_ = end + 4;
      self->onHead();
    });
  }

  void onHead() {
    const Impl& s = *server_;
    RequestHeadParse parsed = parseRequestHead(std::string_view(data_).substr(0, head_end_));
    if (!parsed.head) return refuse(400, std::move(parsed.error));
    head_ = std::move(*parsed.head);
    if (s.handlers.on_head) {
      if (std::optional<HttpReply> now = s.handlers.on_head(head_)) {
        timer_.cancel();
        return write(std::move(*now));
      }
    }
    if (head_.chunked) return refuse(411, "send the body with Content-Length");
    std::uint64_t length = head_.content_length.value_or(0);
    if (length > s.options.max_body_bytes) {
      return refuse(413, "body of " + std::to_string(length) + " bytes over the limit of " +
                             std::to_string(s.options.max_body_bytes));
    }
    body_length_ = static_cast<std::size_t>(length);
    arm(s.options.body_timeout);
    readBody();
  }

  void readBody() {
    if (data_.size() - head_end_ >= body_length_) return onBody();
    auto self = shared_from_this();
    socket_.async_read_some(asio::buffer(chunk_), [self](std::error_code ec, std::size_t n) {
      if (self->responded_) return;
      self->data_.append(self->chunk_.data(), n);
      if (ec) {
        if (ec == asio::error::eof)
          return self->refuse(400, "request ended before the end of its body");
        return self->close();
      }
      self->readBody();
    });
  }

  void onBody() {
    timer_.cancel();
    std::string body = data_.substr(head_end_, body_length_);
    data_.clear();
    data_.shrink_to_fit();
    if (!server_->handlers.on_request) return refuse(404, "no such endpoint");
    server_->handlers.on_request(head_, std::move(body), Responder(shared_from_this()));
  }

  void refuse(int status, std::string reason) {
    write(server_->refusal(status, std::move(reason)));
  }

  void write(HttpReply reply) {
    if (responded_) return;
    responded_ = true;
    timer_.cancel();
    out_ = "HTTP/1.1 " + std::to_string(reply.status) + " " + reasonPhrase(reply.status) +
           "\r\nContent-Type: " + reply.content_type +
           "\r\nContent-Length: " + std::to_string(reply.body.size()) +
           "\r\nConnection: close\r\n\r\n";
    if (head_.method != "HEAD") out_ += reply.body;
    auto self = shared_from_this();
    timer_.expires_after(server_->options.write_timeout);
    timer_.async_wait([self](std::error_code ec) {
      if (!ec) self->close();
    });
    asio::async_write(socket_, asio::buffer(out_), [self](std::error_code, std::size_t) {
      std::error_code ignored;
      self->socket_.shutdown(tcp::socket::shutdown_send, ignored);
      self->close();
    });
  }

  void close() {
    std::error_code ignored;
    timer_.cancel();
    socket_.close(ignored);
  }

  std::shared_ptr<Impl> server_;
  tcp::socket socket_;
  asio::steady_timer timer_;
  std::array<char, 16 * 1024> chunk_{};
  std::string data_;
  std::size_t head_end_ = 0;
  std::size_t body_length_ = 0;
  HttpRequestHead head_;
  std::string out_;
  bool responded_ = false;
};

void HttpServer::Responder::send(HttpReply reply) const {
  if (connection_) connection_->respond(std::move(reply));
}

void HttpServer::Impl::accept() {
  auto self = shared_from_this();
  // Each connection on a strand of its own: a Responder may answer from any thread.
  acceptor.async_accept(asio::make_strand(io), [self](std::error_code ec, tcp::socket socket) {
    if (ec == asio::error::operation_aborted || !self->acceptor.is_open()) return;
    if (!ec) {
      std::error_code ignored;
      socket.set_option(tcp::no_delay(true), ignored);
      std::make_shared<Connection>(self, std::move(socket))->start();
    }
    self->accept();
  });
}

HttpServer::HttpServer(asio::io_context& io, HttpServerOptions options, Handlers handlers) {
  const std::string key = options.config_key;
  std::string why;
  std::optional<HostPort> hp = splitHostPort(options.listen, &why);
  if (!hp) throw std::runtime_error(key + ": " + why);
  if (hp->host.empty()) hp->host = "0.0.0.0";
  std::error_code ec;
  auto addr = asio::ip::make_address(hp->host, ec);
  if (ec) throw std::runtime_error(key + ": '" + hp->host + "' is not an IP address");
  impl_ = std::make_shared<Impl>(io, std::move(options), std::move(handlers));
  tcp::endpoint ep(addr, hp->port);
  impl_->acceptor.open(ep.protocol());
  impl_->acceptor.set_option(tcp::acceptor::reuse_address(true));
  impl_->acceptor.bind(ep, ec);
  if (ec) throw std::runtime_error(key + " " + impl_->options.listen + ": " + ec.message());
  impl_->acceptor.listen(1024);
  impl_->accept();
}

HttpServer::~HttpServer() {
  stop();
}

std::uint16_t HttpServer::port() const {
  std::error_code ec;
  auto ep = impl_->acceptor.local_endpoint(ec);
  return ec ? 0 : ep.port();
}

void HttpServer::stop() {
  if (!impl_) return;
  auto impl = impl_;
  // The acceptor belongs to the io_context's threads: close it there.
  asio::post(impl->io, [impl] {
    std::error_code ignored;
    impl->acceptor.close(ignored);
  });
}

}  // namespace tidewatch::io
