// Internals of HttpServer (not part of its interface; Asio and Beast live here): the worker pool, the
// registry of connections with its caps and eviction, and one Connection per accepted socket.
//
// Threading: everything that touches a socket, a timer or the registry runs on the one I/O thread.
// Worker threads only run handlers (and streamed-response producers) and hand their results back to
// the I/O thread with asio::post. A Connection is owned by shared_ptr: by the registry while it is
// open, and by every pending operation and queued job that refers to it.
#pragma once

#include <atomic>
#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <condition_variable>
#include <deque>
#include <functional>
#include <list>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

#include "server/http_server.h"

namespace sluice::server::detail {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;
using Clock = std::chrono::steady_clock;

// A fixed set of threads that run jobs in the order they were submitted.
class WorkerPool {
 public:
  WorkerPool() = default;
  WorkerPool(const WorkerPool&) = delete;
  WorkerPool& operator=(const WorkerPool&) = delete;
  ~WorkerPool();  // stop()s

  // Starts `threads` threads (at least one). Throws std::system_error when a thread cannot start.
  void start(size_t threads);
  // Queues `job` for the next free thread. Once stop() has begun the job is destroyed unrun.
  void submit(std::function<void()> job);
  // Lets running jobs finish, destroys the queued ones unrun, and joins the threads. Idempotent.
  void stop();

 private:
  void run();

  std::mutex mutex_;
  std::condition_variable wake_;
  std::deque<std::function<void()>> jobs_;
  bool stopping_ = false;
  std::vector<std::thread> threads_;
};

class Connection;

// Where a connection is recorded in the registry (maintained by ServerCore only).
struct Registration {
  bool live = false;        // in ServerCore's list of open connections
  bool holds_slot = false;  // counted against max_connections and its client's cap
  bool idle = false;        // in the idle lists (evictable)
  std::list<std::shared_ptr<Connection>>::iterator live_at;
  std::list<Connection*>::iterator idle_at;         // in the global idle list
  std::list<Connection*>::iterator client_idle_at;  // in its client's idle list
};

// The open connections of one client IP address.
struct ClientSlots {
  size_t open = 0;
  std::list<Connection*> idle;  // the one idle for longest first
};

// The server itself: acceptor, I/O thread, worker pool and the registry of connections.
class ServerCore {
 public:
  ServerCore(HttpServerOptions options, Dispatcher dispatcher);
  ServerCore(const ServerCore&) = delete;
  ServerCore& operator=(const ServerCore&) = delete;
  ~ServerCore();  // stop()s

  // Binds and listens, then starts the worker threads and the I/O thread. Throws sluice::Error
  // naming the address when it cannot bind, or when called a second time.
  void start();
  // See HttpServer::stop(). Idempotent; never throws.
  void stop();
  uint16_t port() const { return bound_port_; }

  // For connections.
  const HttpServerOptions& options() const { return options_; }
  const Dispatcher& dispatcher() const { return dispatcher_; }
  asio::io_context& io() { return io_; }
  WorkerPool& workers() { return workers_; }
  bool stopping() const { return stopping_.load(); }

  // Registry (I/O thread only). Each is a no-op when the connection is not in the state it changes.
  void mark_idle(Connection& connection);     // waiting for its next request: evictable, oldest first
  void unmark_idle(Connection& connection);   // a request has begun (or the connection ends)
  void release_slot(Connection& connection);  // no longer counted against the caps
  void forget(Connection& connection);        // out of the registry (may drop the last reference)

 private:
  void run_io();
  void accept_next();
  void on_accept(const beast::error_code& ec, tcp::socket socket);
  void on_accept_error(const beast::error_code& ec);
  void admit(tcp::socket socket);
  std::optional<std::string> make_room(const std::string& client_ip);
  bool evict_oldest(std::list<Connection*>& idle);
  void shut_down();

  HttpServerOptions options_;
  Dispatcher dispatcher_;
  std::atomic<bool> stopping_{false};
  bool started_ = false;
  uint16_t bound_port_ = 0;

  // Declared before io_ so that they outlive the handlers io_ destroys with it.
  std::list<std::shared_ptr<Connection>> live_;
  std::list<Connection*> idle_;  // the one idle for longest first
  std::unordered_map<std::string, ClientSlots> clients_;
  size_t open_ = 0;  // connections holding a slot

  asio::io_context io_;
  std::optional<asio::executor_work_guard<asio::io_context::executor_type>> work_;
  std::optional<tcp::acceptor> acceptor_;
  asio::steady_timer accept_backoff_{io_};
  std::chrono::milliseconds backoff_{0};
  size_t failed_accepts_ = 0;  // in the current file-descriptor exhaustion episode; 0: none
  Clock::time_point last_exhaustion_;
  WorkerPool workers_;
  std::thread io_thread_;
};

// What one read of a streamed request body gave (see BodyReader::read): `bytes` copied, or a failure
// (status != 0) with its code and message.
struct BodyPiece {
  size_t bytes = 0;
  int status = 0;
  std::string code;
  std::string message;
};

// One accepted socket, from its first request to its close.
class Connection : public std::enable_shared_from_this<Connection> {
 public:
  Connection(ServerCore& core, tcp::socket socket, std::string peer, std::string client_ip);

  // Serves requests until the connection ends (the caller has registered it and given it a slot).
  void start();
  // Answers 503 with `message` (one-line JSON, Retry-After: 1), then closes: a connection over a cap.
  void reject(const std::string& message);
  // Ends the connection now: out of the registry, timers cancelled, socket closed; pending
  // operations complete as aborted and see it closed. Sets client_gone when a handler may be running.
  // Idempotent.
  void close();
  // Closes the connection to make room for another when it is idle: true then. False (and it is
  // left open) when it is busy, or when its next request turns out to have arrived already (its
  // reading begins).
  bool evict();

  const std::string& client_ip() const { return client_ip_; }
  Registration registration;

  // For the streamed-response writer (on the I/O thread): sends `buffers` (which stay valid until
  // `done` runs) within write_timeout, then calls done(true), or done(false) when the connection is
  // or becomes closed.
  void write_piece(std::vector<asio::const_buffer> buffers, std::function<void(bool)> done);
  // For the streamed-request reader (on the I/O thread): copies the next body bytes, at most `max`,
  // into `out` (which stays valid until `done` runs), then calls done() with how many (0 at the end)
  // or with the failure. Sends 100 Continue first when the client waits for it.
  void read_body_piece(char* out, size_t max, std::function<void(BodyPiece)> done);
  bool client_gone() const { return client_gone_.load(); }
  bool stopping() const { return core_.stopping(); }
  asio::io_context& io() { return core_.io(); }

 private:
  // streaming: the handler runs and reads the body on demand (see read_body_piece); when the body has
  // ended it is `handling`.
  enum class State { idle, reading_head, reading_body, streaming, handling, writing, lingering, closed };
  enum class Deadline { none, idle, head, body, write, linger };

  void next_request(bool first);
  void begin_request();
  ssize_t bytes_waiting();  // a non-blocking peek: > 0 bytes waiting, 0 EOF, < 0 none (errno) or error
  void watch_readable();
  void on_readable(const beast::error_code& ec);
  void check_client_left();
  void read_head(Clock::time_point deadline);
  void on_head(const beast::error_code& ec);
  bool plan_request();
  void start_streaming();
  void on_body_piece(const beast::error_code& ec, char* out, size_t max, std::function<void(BodyPiece)> done);
  BodyPiece body_failure(const beast::error_code& ec);
  void send_continue();
  void read_body();
  void on_body(const beast::error_code& ec);
  void on_read_error(const beast::error_code& ec);
  void dispatch();
  void handle(const Answer& answer, const HttpRequest& request, BodyReader* body);  // on a worker thread
  void stream(HttpResponse& response, bool head_only);                              // on a worker thread
  void send(http::response<http::string_body> response);
  void on_sent(const beast::error_code& ec);
  void on_stream_done(bool ok, bool keep_alive);
  // Answers `status` and closes; in the route's error shape once the request has been routed.
  void reply_and_close(int status, const std::string& code, const std::string& message);
  void linger();
  void drain();
  void arm(Clock::time_point at, Deadline kind);
  void disarm();
  void on_deadline(uint64_t epoch);

  ServerCore& core_;
  tcp::socket socket_;
  asio::steady_timer timer_;
  const std::string peer_;
  const std::string client_ip_;
  const Clock::time_point accepted_;

  State state_ = State::idle;
  bool first_request_ = true;
  Deadline deadline_ = Deadline::none;
  Deadline timed_out_ = Deadline::none;  // a head/body deadline cancelled the read in progress
  uint64_t epoch_ = 0;                   // bumped by every arm/disarm: stale timer expiries are ignored
  bool watching_ = false;                // an async_wait for readability is pending
  bool input_pending_ = false;           // the socket holds bytes of a next (pipelined) request
  bool peer_closed_ = false;             // the client sent EOF while its request was handled
  size_t drained_ = 0;                   // bytes discarded while lingering
  unsigned version_ = 11;                // of the request being handled
  bool keep_alive_ = false;
  beast::flat_buffer buffer_;
  std::optional<http::request_parser<http::string_body>> parser_;
  // The request being read or handled, built when its head arrived, and how it is to be answered.
  std::optional<HttpRequest> request_;
  Exchange exchange_;
  uint64_t body_limit_ = 0;  // the request's max body bytes (its route's, or the server's)
  // A streamed body: its parser, the 100 Continue still owed, and what is left of its body timeout.
  std::optional<http::request_parser<http::buffer_body>> body_parser_;
  bool continue_due_ = false;
  uint64_t body_received_ = 0;
  Clock::duration body_budget_{};
  Clock::time_point piece_started_;
  bool body_complete_ = true;  // the request's body was read to its end (keep-alive needs it)
  std::optional<http::response<http::string_body>> response_;
  std::atomic<bool> client_gone_{false};
};

// {"error": message} and a newline: the body of every error response.
std::string json_error(const std::string& message);

// The HttpRequest a handler sees for the head `header` (its body empty), with the target split and
// decoded.
HttpRequest make_request_head(const http::request_header<>& header);

}  // namespace sluice::server::detail
