// HttpServer: the one HTTP/1.1 server of sluice (Boost.Beast underneath, no Beast or Asio type in this
// header). It is built to survive hostile clients:
//
//  - One I/O thread runs all socket I/O asynchronously; handlers, which may block for a long time (a
//    query, a source run), run on a fixed pool of `handler_threads` workers, never on the I/O thread.
//  - Every phase of a connection has a deadline that really fires: the request head, the request body,
//    the keep-alive wait for the next request, and each response write (see HttpServerOptions).
//  - Connections are capped globally and per client IP. At a cap, the connection idle for the longest
//    (waiting for its next request) is closed to make room; only when none is idle is the newcomer
//    answered 503 with Retry-After: 1.
//  - When accept fails for lack of file descriptors, the server closes its oldest idle connection, backs
//    off (10 ms doubling to 1 s), logs once per episode, and keeps serving the connections it has.
//  - A handler that throws yields a 500 with a one-line JSON error; the server never dies of a request.
#pragma once

#include <strings.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace sluice::server {

struct CaseInsensitiveLess {
  bool operator()(const std::string& a, const std::string& b) const {
    return ::strcasecmp(a.c_str(), b.c_str()) < 0;
  }
};
using Headers = std::map<std::string, std::string, CaseInsensitiveLess>;

// A flag that is never set: what HttpRequest::client_gone points at outside the server (e.g. in a test
// that calls a handler directly), so that handlers may always dereference it.
inline constexpr std::atomic<bool> kClientNeverGone{false};

struct HttpRequest {
  std::string method;     // GET, POST, ...
  std::string target;     // as received: path and query
  std::string path;       // decoded path without the query
  std::string raw_path;   // the path exactly as received, before decoding (SigV4 signs it)
  std::string raw_query;  // the query exactly as received, without the '?' ("" when there is none)
  std::map<std::string, std::string> query;  // decoded; the last of repeated parameters wins
  std::vector<std::pair<std::string, std::string>> query_params;  // decoded, in order, repeats kept
  Headers headers;
  std::string body;
  std::string peer;  // the client's address and port: "127.0.0.1:53422", "[::1]:53422"
  // Set by the server when the client closes or resets its connection while the handler runs (or
  // when the server closes the connection under it: a write deadline, stop()), so that long work can
  // be cancelled when nobody waits for it any more. A client that has already sent its next
  // (pipelined) request is not "gone" (its EOF is then noticed only when the next request is read).
  // A client that half-closes its side (shutdown(SHUT_WR)) counts as gone, yet still receives a
  // non-streamed answer. Never null.
  const std::atomic<bool>* client_gone = &kClientNeverGone;
};

// Where a streamed response's body goes (see HttpResponse::stream). Used from the handler's worker
// thread only.
class BodyWriter {
 public:
  virtual ~BodyWriter() = default;
  // Hands `data` to the connection and blocks until the socket has taken all of it: at most one piece
  // is in flight, so memory does not grow with the response. Returns true when it was sent. Returns
  // false, on this and every later call, once the client is gone, a write did not complete within
  // write_timeout, or the server is stopping; the producer should then return promptly. Never
  // throws. Writing an empty piece sends nothing and returns the current state.
  virtual bool write(std::string_view data) = 0;
};

struct HttpResponse {
  int status = 200;
  Headers headers;  // Content-Type defaults to application/json
  std::string body;
  // When set, `body` is ignored: the server sends the head (status and headers; any Content-Length or
  // Transfer-Encoding the handler set is replaced), then calls `stream` on the same worker thread.
  // HTTP/1.1 bodies are sent with chunked transfer encoding and the connection stays open; HTTP/1.0
  // bodies end when the server closes the connection. An exception from `stream` ends the connection
  // (the client sees a truncated body, never a second status line) and is logged.
  std::function<void(BodyWriter&)> stream;
};

// Called on a worker thread, possibly on several at once: it must be thread-safe. It must never call
// HttpServer::stop() (stop waits for handlers to return).
using Handler = std::function<HttpResponse(const HttpRequest&)>;

struct HttpServerOptions {
  std::string host = "127.0.0.1";
  uint16_t port = 0;                       // 0: any free port (see HttpServer::port())
  size_t max_connections = 512;            // open connections at once, over all clients
  size_t max_connections_per_client = 64;  // open connections from one IP address; 0: no cap
  size_t handler_threads = 16;             // handlers running at once; more requests wait their turn
  size_t max_header_bytes = 16 << 10;      // larger request heads get 431
  size_t max_body_bytes = 8 << 20;         // larger bodies get 413
  // The whole request head must arrive within header_timeout: counted from the connection's accept
  // for its first request, from the first byte of the request for later ones. Missed: 408, closed. A
  // new connection that sends nothing within it is closed without an answer.
  std::chrono::milliseconds header_timeout{10'000};
  std::chrono::milliseconds body_timeout{60'000};  // whole body after the head; missed: 408, closed
  std::chrono::milliseconds idle_timeout{30'000};  // keep-alive wait for the next request; then closed
  // Each response write (a whole non-streamed response, the head of a streamed one, each piece of its
  // body) must be taken by the client within write_timeout; missed: the connection is closed.
  std::chrono::milliseconds write_timeout{30'000};
};

class HttpServer {
 public:
  // Keeps the options and the handler; nothing is bound until start().
  HttpServer(HttpServerOptions options, Handler handler);
  ~HttpServer();  // stop()s
  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;

  // Binds, then starts the I/O thread and the handler threads. Throws sluice::Error naming the
  // address when it cannot bind (address in use, not an IP address) or was started before.
  void start();
  // Stops accepting, closes every connection (idle ones, and those being read or written: their
  // reads and writes fail), drops requests still waiting for a handler thread, waits for running
  // handlers to return, and joins all threads. A running handler is not interrupted: the caller
  // cancels its own long work first (client_gone is set for handlers whose connection was open, and
  // BodyWriter::write returns false). Idempotent; never throws; safe from the destructor; must not
  // be called from a handler.
  void stop();
  // The bound port (the real one when options.port was 0); 0 before start().
  uint16_t port() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// Percent-decoding of a URL component ('+' as space when `plus_is_space`). Malformed escapes are
// kept as they are. Never throws (but for std::bad_alloc).
std::string url_decode(std::string_view text, bool plus_is_space);

}  // namespace sluice::server
