#include "server/http_server.h"

#include <sys/socket.h>
#include <sys/time.h>

#include <atomic>
#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <list>
#include <mutex>
#include <nlohmann/json.hpp>
#include <thread>

#include "common/error.h"

namespace sluice::server {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;

std::string url_decode(std::string_view text, bool plus_is_space) {
  std::string out;
  out.reserve(text.size());
  auto hex = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
  };
  for (size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '%') {
      int hi = i + 1 < text.size() ? hex(text[i + 1]) : -1;
      int lo = i + 2 < text.size() ? hex(text[i + 2]) : -1;
      if (hi >= 0 && lo >= 0) {
        out.push_back(static_cast<char>(hi * 16 + lo));
        i += 2;
        continue;
      }
    }
    out.push_back(plus_is_space && text[i] == '+' ? ' ' : text[i]);
  }
  return out;
}

namespace {

std::string json_error(const std::string& message) {
  return nlohmann::json{{"error", message}}.dump() + "\n";
}

HttpRequest to_request(http::request<http::string_body>&& raw) {
  HttpRequest r;
  r.method = std::string(raw.method_string());
  r.target = std::string(raw.target());
  const auto q = r.target.find('?');
  r.path = url_decode(std::string_view(r.target).substr(0, q), false);
  if (q != std::string::npos) {
    std::string_view query = std::string_view(r.target).substr(q + 1);
    while (!query.empty()) {
      const auto amp = query.find('&');
      std::string_view pair = query.substr(0, amp);
      const auto eq = pair.find('=');
      if (!pair.empty()) {
        r.query[url_decode(pair.substr(0, eq), true)] =
            eq == std::string_view::npos ? "" : url_decode(pair.substr(eq + 1), true);
      }
      if (amp == std::string_view::npos) break;
      query.remove_prefix(amp + 1);
    }
  }
  for (const auto& field : raw) r.headers[std::string(field.name_string())] = std::string(field.value());
  r.body = std::move(raw.body());
  return r;
}

}  // namespace

struct HttpServer::Impl {
  HttpServerOptions options;
  Handler handler;
  asio::io_context io;
  std::unique_ptr<tcp::acceptor> acceptor;
  std::thread accept_thread;
  std::atomic<bool> stopping{false};
  uint16_t bound_port = 0;

  struct Connection {
    tcp::socket socket;
    std::thread thread;
    std::atomic<bool> done{false};
    explicit Connection(tcp::socket s) : socket(std::move(s)) {}
  };
  std::mutex connections_mutex;
  std::list<Connection> connections;

  void write_response(tcp::socket& socket, unsigned version, bool keep_alive, const HttpResponse& response,
                      beast::error_code& ec) {
    http::response<http::string_body> res;
    res.version(version);
    res.result(static_cast<unsigned>(response.status));
    for (const auto& [name, value] : response.headers) res.set(name, value);
    if (!response.headers.count("Content-Type")) res.set(http::field::content_type, "application/json");
    res.keep_alive(keep_alive);
    res.body() = response.body;
    res.prepare_payload();
    http::write(socket, res, ec);
  }

  void serve(Connection& connection) {
    tcp::socket& socket = connection.socket;
    // A blocking read that waits longer than the timeout fails, which ends an idle connection.
    timeval tv{};
    tv.tv_sec = options.read_timeout.count() / 1000;
    tv.tv_usec = (options.read_timeout.count() % 1000) * 1000;
    ::setsockopt(socket.native_handle(), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    beast::flat_buffer buffer;
    while (!stopping.load()) {
      http::request_parser<http::string_body> parser;
      parser.header_limit(static_cast<std::uint32_t>(options.max_header_bytes));
      parser.body_limit(options.max_body_bytes);
      beast::error_code ec;
      http::read(socket, buffer, parser, ec);
      if (ec == http::error::end_of_stream || stopping.load()) break;
      if (ec == http::error::body_limit) {
        HttpResponse too_large{
            413,
            {},
            json_error("request body larger than " + std::to_string(options.max_body_bytes) + " bytes")};
        write_response(socket, 11, false, too_large, ec);
        break;
      }
      if (ec == http::error::header_limit) {
        HttpResponse too_large{
            431,
            {},
            json_error("request headers larger than " + std::to_string(options.max_header_bytes) + " bytes")};
        write_response(socket, 11, false, too_large, ec);
        break;
      }
      if (ec) {
        if (ec.category() == http::make_error_code(http::error::bad_method).category()) {
          HttpResponse bad{400, {}, json_error("malformed HTTP request: " + ec.message())};
          write_response(socket, 11, false, bad, ec);
        }
        break;
      }
      auto raw = parser.release();
      const unsigned version = raw.version();
      const bool keep_alive = raw.keep_alive();
      HttpResponse response;
      try {
        response = handler(to_request(std::move(raw)));
      } catch (const std::exception& e) {
        response = HttpResponse{500, {}, json_error(std::string("internal error: ") + e.what())};
      }
      write_response(socket, version, keep_alive, response, ec);
      if (ec || !keep_alive) break;
    }
    beast::error_code ignored;
    socket.shutdown(tcp::socket::shutdown_both, ignored);
    connection.done.store(true);
  }

  // Joins the threads of connections that have ended.
  void reap() {
    std::lock_guard lock(connections_mutex);
    for (auto it = connections.begin(); it != connections.end();) {
      if (it->done.load()) {
        it->thread.join();
        it = connections.erase(it);
      } else {
        ++it;
      }
    }
  }

  void accept_loop() {
    while (!stopping.load()) {
      beast::error_code ec;
      tcp::socket socket(io);
      acceptor->accept(socket, ec);
      if (stopping.load()) break;
      if (ec) continue;
      reap();
      std::lock_guard lock(connections_mutex);
      if (connections.size() >= options.max_connections) {
        HttpResponse busy{503, {}, json_error("too many connections")};
        write_response(socket, 11, false, busy, ec);
        continue;
      }
      Connection& c = connections.emplace_back(std::move(socket));
      c.thread = std::thread([this, &c] { serve(c); });
    }
  }
};

HttpServer::HttpServer(HttpServerOptions options, Handler handler) : impl_(std::make_unique<Impl>()) {
  impl_->options = std::move(options);
  impl_->handler = std::move(handler);
}

HttpServer::~HttpServer() { stop(); }

void HttpServer::start() {
  beast::error_code ec;
  const auto address = asio::ip::make_address(impl_->options.host, ec);
  if (ec) throw Error("cannot listen on \"" + impl_->options.host + "\": not an IP address");
  const tcp::endpoint endpoint(address, impl_->options.port);
  auto acceptor = std::make_unique<tcp::acceptor>(impl_->io);
  acceptor->open(endpoint.protocol(), ec);
  if (!ec) acceptor->set_option(asio::socket_base::reuse_address(true), ec);
  if (!ec) acceptor->bind(endpoint, ec);
  if (!ec) acceptor->listen(asio::socket_base::max_listen_connections, ec);
  if (ec) {
    throw Error("cannot listen on " + impl_->options.host + ":" + std::to_string(impl_->options.port) + ": " +
                ec.message());
  }
  impl_->bound_port = acceptor->local_endpoint().port();
  impl_->acceptor = std::move(acceptor);
  impl_->accept_thread = std::thread([impl = impl_.get()] { impl->accept_loop(); });
}

void HttpServer::stop() {
  if (!impl_ || !impl_->acceptor || impl_->stopping.exchange(true)) return;
  // Wake the blocking accept and every blocking read; their threads then finish.
  ::shutdown(impl_->acceptor->native_handle(), SHUT_RDWR);
  impl_->accept_thread.join();
  {
    std::lock_guard lock(impl_->connections_mutex);
    for (auto& c : impl_->connections) ::shutdown(c.socket.native_handle(), SHUT_RDWR);
  }
  std::lock_guard lock(impl_->connections_mutex);
  for (auto& c : impl_->connections) c.thread.join();
  impl_->connections.clear();
  beast::error_code ignored;
  impl_->acceptor->close(ignored);
}

uint16_t HttpServer::port() const { return impl_->bound_port; }

}  // namespace sluice::server
