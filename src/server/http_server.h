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
//  - Requests are answered by a plain Handler (every body read whole first, within max_body_bytes) or
//    by a Router (server/router.h): routes by method and path or X-Amz-Target, authentication, error
//    bodies in each route group's shape, and per route either a whole body or a body streamed to the
//    handler through a BodyReader with the route's own limit, read on demand so that memory holds one
//    piece at a time. Failures before a request is routed (431, 400 for a malformed head, 408 for a
//    late head, 503 at the connection caps) are the server's own {"error": ...}.
#pragma once

#include <strings.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/error.h"

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
  std::string body;  // the whole body; empty for a route that streams its body (see BodyReader)
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
  // With `stream`: the body's exact length, sent as Content-Length instead of chunked encoding (S3
  // clients check it against what arrives). The producer writes exactly this many bytes; when it
  // writes another count the connection is closed after it. An answer to HEAD sends the head only,
  // this Content-Length included (its producer is not called).
  std::optional<uint64_t> stream_length;
};

// Called on a worker thread, possibly on several at once: it must be thread-safe. It must never call
// HttpServer::stop() (stop waits for handlers to return).
using Handler = std::function<HttpResponse(const HttpRequest&)>;

// A refusal with an HTTP status, a machine-readable code and a one-line message, thrown by route
// handlers (and by BodyReader) and turned into a body by the route group's ErrorShaper: JSON for the
// native API, {"__type", "message"} for the AWS JSON services, <Error> XML for S3.
class HttpError : public sluice::Error {
 public:
  // `status` 400..599; `code` as the protocol names it ("NoSuchKey", "ResourceNotFoundException");
  // `message` one line. Never throws (but for std::bad_alloc).
  HttpError(int status, std::string code, const std::string& message)
      : sluice::Error(message), status_(status), code_(std::move(code)) {}

  int status() const { return status_; }             // the HTTP status to answer
  const std::string& code() const { return code_; }  // the protocol's name for the failure
  // Headers the response must carry whatever its shape (Allow on a 405, WWW-Authenticate on a 401,
  // Retry-After on a 503): set after the shaper ran.
  Headers headers;
  // Protocol-specific details, in order: S3 adds them as elements (<BucketName>b</BucketName>), AWS
  // JSON as string members; the native shape ignores them.
  std::vector<std::pair<std::string, std::string>> details;

 private:
  int status_;
  std::string code_;
};

// Turns an HttpError about `request` into a response body in one protocol's shape (status, headers
// and body). Called on worker threads and on the I/O thread: must be thread-safe, quick and must not
// block. An exception from it yields the server's own {"error": ...} shape instead.
using ErrorShaper = std::function<HttpResponse(const HttpError& error, const HttpRequest& request)>;

// A request body handed to the handler piece by piece (a route that streams its body), instead of
// whole in HttpRequest::body. Used from the handler's worker thread only, and only until the handler
// returns (not from a streamed response's producer).
class BodyReader {
 public:
  virtual ~BodyReader() = default;
  // Copies the next bytes of the body, at most `max`, into `out`, waiting until some have arrived.
  // Returns how many (at least 1), or 0 at the end of the body and on every later call (and when
  // `max` is 0). The client's bytes must arrive within the route's body timeout, counted over all
  // calls together while they wait (time the handler spends between calls does not count).
  // Throws HttpError: 408 "RequestTimeout" when they did not; 413 "EntityTooLarge" when a chunked
  // body grows beyond the route's limit; 400 "IncompleteBody" when the client closed or reset the
  // connection before the end; 400 "MalformedBody" for a broken chunked encoding; 503
  // "ServiceUnavailable" when the server is stopping. After a throw, every later call throws again.
  virtual size_t read(char* out, size_t max) = 0;
  // The Content-Length the client declared; nullopt for a chunked body. Never throws.
  virtual std::optional<uint64_t> declared_size() const = 0;
  // How many body bytes read() has returned so far. Never throws.
  virtual uint64_t bytes_read() const = 0;
};

// Answers a request on a worker thread. `body` is non-null exactly when its Exchange streams the body;
// the request's `body` is then empty. What it throws becomes a 500 {"error": ...}.
using Answer = std::function<HttpResponse(const HttpRequest& request, BodyReader* body)>;

// How the server is to take one request's body and who answers it, decided from the request's head
// (a Router decides it per route).
struct Exchange {
  Answer answer;
  bool stream_body = false;                // hand the body to `answer` as a BodyReader instead of whole
  std::optional<uint64_t> max_body_bytes;  // nullopt: HttpServerOptions::max_body_bytes
  std::optional<std::chrono::milliseconds> body_timeout;  // nullopt: HttpServerOptions::body_timeout
  // Shapes the server's own refusals of this request after the head (413 for a body beyond its limit,
  // 408 for one that came too slowly); null: {"error": ...}.
  ErrorShaper errors;
};

// Decides the Exchange for a request whose head has arrived (its body is empty and not yet read).
// Called on the I/O thread: it must be quick, thread-safe and must not block. An exception from it
// is answered 500 and the connection closed.
using Dispatcher = std::function<Exchange(const HttpRequest& head)>;

// The response for `error` about `request` in `shaper`'s shape, with error.headers set on it; the
// server's {"error": message} shape when `shaper` is null or throws. Never throws (but for
// std::bad_alloc).
HttpResponse shape_error(const ErrorShaper& shaper, const HttpError& error, const HttpRequest& request);

class Router;

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
  // Keeps the options and the handler; nothing is bound until start(). Every request's body is read
  // whole (at most options.max_body_bytes) before `handler` is called.
  HttpServer(HttpServerOptions options, Handler handler);
  // Keeps the options and takes the router, which answers every request from then on (its routes
  // decide how their bodies are read; see server/router.h). Routes must not be added to the router's
  // groups any more once the server has started. Nothing is bound until start().
  HttpServer(HttpServerOptions options, Router router);
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

// Fills request.target, raw_path, raw_query and the decoded path, query and query_params from
// `target` (the path and query as sent: "/a%20b?x=1&x=2"), as the server does for every request.
// Never throws (but for std::bad_alloc).
void set_target(HttpRequest& request, std::string_view target);

}  // namespace sluice::server
