#include "io/http/call.h"

#include <openssl/ssl.h>

#include <array>
#include <asio/connect.hpp>
#include <asio/dispatch.hpp>
#include <asio/ip/tcp.hpp>
#include <asio/ssl.hpp>
#include <asio/steady_timer.hpp>
#include <asio/strand.hpp>
#include <asio/write.hpp>
#include <optional>

#include "io/http/response_parser.h"
#include "io/net/url.h"

namespace tidewatch::io {
namespace {

using asio::ip::tcp;
using Clock = std::chrono::steady_clock;

class Exchange : public std::enable_shared_from_this<Exchange>, public HttpResponseParser::BodySink {
 public:
  Exchange(asio::io_context& io, HttpCall call, std::function<void(HttpCallResult)> done)
      : strand_(asio::make_strand(io)),
        socket_(strand_),
        resolver_(strand_),
        timer_(strand_),
        call_(std::move(call)),
        done_(std::move(done)),
        started_(Clock::now()) {}

  void start() {
    auto self = shared_from_this();
    asio::dispatch(strand_, [self] { self->begin(); });
  }

  void onBody(const char* data, std::size_t size) override {
    std::size_t room = call_.max_response_bytes > result_.body.size() ? call_.max_response_bytes - result_.body.size() : 0;
    if (size > room) {
      size = room;
      truncated_ = true;
    }
    result_.body.append(data, size);
  }

 private:
  void begin() {
    auto self = shared_from_this();
    timer_.expires_after(call_.timeout);
    timer_.async_wait([self](std::error_code ec) {
      if (ec) return;
      self->timed_out_ = true;
      self->abort();
    });
    if (call_.tls && !call_.tls_context) return fail("tls requested without a TLS context");
    std::error_code ec;
    asio::ip::address addr = asio::ip::make_address(call_.host, ec);
    if (!ec) {
      connect({tcp::endpoint(addr, call_.port)});
      return;
    }
    resolver_.async_resolve(call_.host, std::to_string(call_.port),
                            [self](std::error_code ec2, tcp::resolver::results_type results) {
                              if (self->finished_) return;
                              if (ec2) return self->fail("resolve: " + ec2.message());
                              std::vector<tcp::endpoint> eps;
                              for (const auto& r : results) eps.push_back(r.endpoint());
                              self->connect(std::move(eps));
                            });
  }

  void connect(std::vector<tcp::endpoint> eps) {
    auto self = shared_from_this();
    asio::async_connect(socket_, eps, [self](std::error_code ec, const tcp::endpoint&) {
      if (self->finished_) return;
      if (ec) return self->fail("connect: " + ec.message());
      std::error_code ignored;
      self->socket_.set_option(tcp::no_delay(true), ignored);
      if (self->call_.tls) self->handshake();
      else self->write();
    });
  }

  void handshake() {
    ssl_.emplace(socket_, *call_.tls_context);
    SSL* ssl = ssl_->native_handle();
    std::error_code ec;
    asio::ip::make_address(call_.host, ec);
    if (ec) SSL_set_tlsext_host_name(ssl, call_.host.c_str());  // SNI only for names
    if (call_.verify_host) {
      SSL_set_verify(ssl, SSL_VERIFY_PEER, nullptr);
      SSL_set1_host(ssl, call_.host.c_str());
    }
    auto self = shared_from_this();
    ssl_->async_handshake(asio::ssl::stream_base::client, [self](std::error_code ec2) {
      if (self->finished_) return;
      if (ec2) return self->fail("tls handshake: " + ec2.message());
      self->write();
    });
  }

  void write() {
    std::string& r = request_;
    r.reserve(256 + call_.body.size());
    r += call_.method + " " + call_.target + " HTTP/1.1\r\nHost: ";
    if (!call_.host_header.empty()) {
      r += call_.host_header;
    } else {
      bool v6 = call_.host.find(':') != std::string::npos;
      r += v6 ? "[" + call_.host + "]" : call_.host;
      bool default_port = call_.port == (call_.tls ? 443 : 80);
      if (!default_port) r += ":" + std::to_string(call_.port);
    }
    r += "\r\nConnection: close\r\n";
    for (const auto& [k, v] : call_.headers) r += k + ": " + v + "\r\n";
    if (!call_.body.empty() || call_.method == "POST" || call_.method == "PUT")
      r += "Content-Length: " + std::to_string(call_.body.size()) + "\r\n";
    r += "\r\n";
    r += call_.body;
    auto self = shared_from_this();
    auto on_written = [self](std::error_code ec, std::size_t) {
      if (self->finished_) return;
      if (ec) return self->fail("write: " + ec.message());
      self->parser_.reset(self->call_.method == "HEAD");
      self->read();
    };
    if (ssl_) asio::async_write(*ssl_, asio::buffer(request_), on_written);
    else asio::async_write(socket_, asio::buffer(request_), on_written);
  }

  void read() {
    auto self = shared_from_this();
    auto on_read = [self](std::error_code ec, std::size_t n) {
      if (self->finished_) return;
      if (n > 0) {
        std::size_t off = 0;
        while (off < n) {
          std::size_t used = self->parser_.feed(self->buf_.data() + off, n - off, self.get());
          off += used;
          auto st = self->parser_.state();
          if (st == HttpResponseParser::State::kError)
            return self->fail(std::string("bad response: ") + std::string(toString(self->parser_.error())));
          if (st == HttpResponseParser::State::kDone) return self->succeed();
          if (self->truncated_) return self->fail("response body over the limit");
          if (used == 0) break;  // bytes after a complete message: ignore them
        }
      }
      if (ec) {
        bool eof = ec == asio::error::eof || ec == asio::ssl::error::stream_truncated;
        if (eof && self->parser_.onEof()) return self->succeed();
        return self->fail(eof ? "connection closed before the response was complete" : "read: " + ec.message());
      }
      self->read();
    };
    if (ssl_) ssl_->async_read_some(asio::buffer(buf_), on_read);
    else socket_.async_read_some(asio::buffer(buf_), on_read);
  }

  void abort() {
    std::error_code ignored;
    resolver_.cancel();
    socket_.close(ignored);
    fail(timed_out_ ? "timeout" : "aborted");
  }

  void succeed() {
    result_.completed = true;
    result_.status = parser_.status();
    finish();
  }

  void fail(std::string why) {
    if (finished_) return;
    result_.error = std::move(why);
    result_.timed_out = timed_out_;
    finish();
  }

  void finish() {
    if (finished_) return;
    finished_ = true;
    timer_.cancel();
    std::error_code ignored;
    socket_.close(ignored);
    result_.elapsed_ms = static_cast<std::uint32_t>(
        std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - started_).count());
    auto done = std::move(done_);
    try {
      done(std::move(result_));
    } catch (...) {
      // Exceptions never unwind into Asio's handlers (STYLE.md); the caller's bug stays local.
    }
  }

  asio::strand<asio::io_context::executor_type> strand_;
  tcp::socket socket_;
  tcp::resolver resolver_;
  asio::steady_timer timer_;
  std::optional<asio::ssl::stream<tcp::socket&>> ssl_;
  HttpCall call_;
  std::function<void(HttpCallResult)> done_;
  Clock::time_point started_;
  std::string request_;
  std::array<char, 16 * 1024> buf_{};
  HttpResponseParser parser_{64 * 1024};
  HttpCallResult result_;
  bool finished_ = false;
  bool timed_out_ = false;
  bool truncated_ = false;
};

}  // namespace

void httpCall(asio::io_context& io, HttpCall call, std::function<void(HttpCallResult)> done) {
  std::make_shared<Exchange>(io, std::move(call), std::move(done))->start();
}

bool setUrl(HttpCall& call, const std::string& url) {
  UrlParse p = parseUrl(url);
  if (!p.url) return false;
  call.host = p.url->host;
  call.port = p.url->port;
  call.tls = p.url->https;
  call.target = p.url->target;
  call.host_header = p.url->hostHeader();
  return true;
}

std::string urlEncode(std::string_view text) {
  static const char* kHex = "0123456789ABCDEF";
  std::string out;
  out.reserve(text.size() * 3);
  for (unsigned char c : text) {
    bool unreserved = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
                      c == '-' || c == '.' || c == '_' || c == '~';
    if (unreserved) {
      out += static_cast<char>(c);
    } else {
      out += '%';
      out += kHex[c >> 4];
      out += kHex[c & 15];
    }
  }
  return out;
}

}  // namespace tidewatch::io
