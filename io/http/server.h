// io::HttpServer: the one small HTTP/1.1 server, behind the admin endpoints (io/admin_server)
// and the verifier service (services/verifier/server). One request per connection
// (Connection: close); the head is bounded (431 past max_head_bytes) and must arrive within
// head_timeout (408); a body is read only by Content-Length (411 for chunked, 413 past
// max_body_bytes) within body_timeout; the answer is written within write_timeout. A response
// to HEAD carries no body.
//
// Threads: everything runs on the io_context, each connection on its own strand. The
// handlers run on the connection's strand and must not block; a Responder may be used from
// any thread, and only its first send() counts. The handlers are owned by the server and its
// connections (a connection in flight keeps them alive after the server is gone).
// Construction throws std::runtime_error naming options.config_key when the listen address is
// malformed or cannot be bound (startup only); nothing throws afterwards.
#pragma once

#include <asio/io_context.hpp>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "io/http/request_head.h"

namespace tidewatch::io {

struct HttpServerOptions {
  std::string listen;                 // "host:port", "[v6]:port"; host "" = 0.0.0.0; port 0 = any
  std::string config_key = "listen";  // named in startup errors, e.g. "admin.listen"
  std::size_t max_head_bytes = 32 * 1024;
  std::size_t max_body_bytes = 1024 * 1024;
  std::chrono::milliseconds head_timeout{5000};
  std::chrono::milliseconds body_timeout{30000};
  std::chrono::milliseconds write_timeout{35000};
};

struct HttpReply {
  int status = 200;
  std::string content_type = "text/plain";
  std::string body;
};

// "OK", "Not Found", … ("Error" for codes we never send).
const char* reasonPhrase(int status);

class HttpServer {
 public:
  struct Connection;

  // Answers one request; copyable, usable from any thread.
  class Responder {
   public:
    explicit Responder(std::shared_ptr<Connection> connection)
        : connection_(std::move(connection)) {}
    void send(HttpReply reply) const;

   private:
    std::shared_ptr<Connection> connection_;
  };

  struct Handlers {
    // The head is in: a reply answers now (a body, if any, is not read); nullopt reads the
    // body and calls on_request.
    std::function<std::optional<HttpReply>(const HttpRequestHead&)> on_head;
    // The whole request; answer now or later through `responder`.
    std::function<void(const HttpRequestHead&, std::string body, Responder responder)> on_request;
    // The server's own refusals (400 malformed or truncated, 408, 411, 413, 431) as a reply.
    // Unset: text/plain, the reason and a newline.
    std::function<HttpReply(int status, std::string reason)> refusal;
  };

  HttpServer(asio::io_context& io, HttpServerOptions options, Handlers handlers);
  ~HttpServer();  // stop()
  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;

  std::uint16_t port() const;
  // Stops accepting (the acceptor is closed on the io_context); answers in progress complete.
  void stop();

  struct Impl;

 private:
  std::shared_ptr<Impl> impl_;
};

}  // namespace tidewatch::io
