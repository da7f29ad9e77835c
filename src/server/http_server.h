// HttpServer: the one HTTP/1.1 server of sluice (Boost.Beast underneath, no Beast type in this
// header). Keep-alive, limits on header and body sizes, a read timeout, and a handler that may block:
// each connection is served by its own thread, up to max_connections at once. A handler that throws
// yields a 500 with a one-line JSON error; the server itself never dies of a bad request.
#pragma once

#include <strings.h>

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>

namespace sluice::server {

struct CaseInsensitiveLess {
  bool operator()(const std::string& a, const std::string& b) const {
    return ::strcasecmp(a.c_str(), b.c_str()) < 0;
  }
};
using Headers = std::map<std::string, std::string, CaseInsensitiveLess>;

struct HttpRequest {
  std::string method;                        // GET, POST, ...
  std::string target;                        // as received: path and query
  std::string path;                          // decoded path without the query
  std::map<std::string, std::string> query;  // decoded; the last of repeated parameters wins
  Headers headers;
  std::string body;
};

struct HttpResponse {
  int status = 200;
  Headers headers;
  std::string body;
};

using Handler = std::function<HttpResponse(const HttpRequest&)>;

struct HttpServerOptions {
  std::string host = "127.0.0.1";
  uint16_t port = 0;  // 0: any free port (see HttpServer::port())
  size_t max_connections = 256;
  size_t max_header_bytes = 16 << 10;
  size_t max_body_bytes = 8 << 20;                 // larger bodies get 413
  std::chrono::milliseconds read_timeout{30'000};  // idle keep-alive connections are closed after it
};

class HttpServer {
 public:
  HttpServer(HttpServerOptions options, Handler handler);
  ~HttpServer();  // stops
  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;

  // Binds and starts accepting. Throws sluice::Error naming the address when it cannot bind.
  void start();
  // Stops accepting, closes every connection, and joins their threads. Idempotent.
  void stop();
  uint16_t port() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// Percent-decoding of a URL component ('+' as space when `plus_is_space`). Malformed escapes are
// kept as they are.
std::string url_decode(std::string_view text, bool plus_is_space);

}  // namespace sluice::server
