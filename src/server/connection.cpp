// Connection: the life of one accepted socket, as a state machine driven on the I/O thread.
//
//   idle ──(readable)──> reading_head ──> reading_body ──> handling ──> writing ──> idle (keep-alive)
//                                                                            └──> lingering ──> closed
//
// Each state but handling has a deadline (one timer per connection, re-armed per state). While a
// handler runs, the socket is watched for EOF or reset, which sets client_gone.
//
// Once the head has arrived, the server's Dispatcher (a Router, or a plain Handler) decides the
// request's Exchange: its body limit and timeout, and whether its body is read whole first
// (reading_body, as above) or streamed to the handler:
//
//   reading_head ──> streaming ──(body ended)──> handling ──> writing ──> ...
//
// While streaming, the handler runs on a worker and asks for the body piece by piece
// (read_body_piece); each piece is read on the I/O thread with the body deadline armed only while it
// waits for the client, so the I/O thread never blocks and memory holds one piece at a time.
#include <spdlog/spdlog.h>
#include <sys/socket.h>

#include <cerrno>
#include <charconv>
#include <future>
#include <sstream>

#include "server/server_core.h"

namespace sluice::server::detail {

using namespace std::chrono_literals;

namespace {

constexpr std::string_view kContinue = "HTTP/1.1 100 Continue\r\n\r\n";
constexpr std::string_view kCrlf = "\r\n";
constexpr std::string_view kLastChunk = "0\r\n\r\n";
// After an answer that ends the connection, what the client still sends is read and dropped for a
// while (so that closing does not reset the connection before the client has read the answer).
constexpr size_t kMaxDrainBytes = 1 << 20;
constexpr std::chrono::milliseconds kLongestLinger = 1000ms;
// Beast reads as much as the buffer has room for (at least 512 bytes): room for 64 KiB before a body is
// read keeps large bodies to a few system calls per MiB.
constexpr size_t kBodyReadRoom = 64 << 10;

std::string milliseconds(std::chrono::milliseconds duration) {
  return std::to_string(duration.count()) + " ms";
}

http::response<http::string_body> make_error_response(unsigned version, int status,
                                                      const std::string& message) {
  http::response<http::string_body> response;
  response.version(version);
  response.result(static_cast<unsigned>(status));
  response.set(http::field::content_type, "application/json");
  response.body() = json_error(message);
  response.keep_alive(false);
  response.prepare_payload();
  return response;
}

// The wire form of a handler's response (built on the worker thread: it needs no socket).
http::response<http::string_body> to_wire(HttpResponse&& from, unsigned version, bool keep_alive) {
  http::response<http::string_body> response;
  response.version(version);
  response.result(static_cast<unsigned>(from.status));
  for (const auto& [name, value] : from.headers) response.set(name, value);
  if (!from.headers.count("Content-Type")) response.set(http::field::content_type, "application/json");
  response.keep_alive(keep_alive);
  response.body() = std::move(from.body);
  response.prepare_payload();
  return response;
}

// The head of a streamed response: status line and fields, ending with the empty line.
std::string stream_head(const HttpResponse& from, unsigned version, bool chunked, bool keep_alive) {
  http::response<http::empty_body> head;
  head.version(version);
  head.result(static_cast<unsigned>(from.status));
  for (const auto& [name, value] : from.headers) {
    if (::strcasecmp(name.c_str(), "Content-Length") == 0 ||
        ::strcasecmp(name.c_str(), "Transfer-Encoding") == 0)
      continue;
    head.set(name, value);
  }
  if (!from.headers.count("Content-Type")) head.set(http::field::content_type, "application/json");
  if (chunked) head.chunked(true);
  if (from.stream_length) head.content_length(*from.stream_length);
  head.keep_alive(keep_alive);
  std::ostringstream out;
  out << head.base();
  return out.str();
}

// Runs the exchange's answer; whatever it throws, and a status no HTTP response can carry, become a
// 500.
HttpResponse call_answer(const Answer& answer, const HttpRequest& request, BodyReader* body) {
  HttpResponse response;
  try {
    response = answer(request, body);
  } catch (const std::exception& e) {
    return HttpResponse{500, {}, json_error(std::string("internal error: ") + e.what())};
  } catch (...) {
    return HttpResponse{500, {}, json_error("internal error: unknown exception")};
  }
  if (response.status < 100 || response.status > 999) {
    return HttpResponse{
        500,
        {},
        json_error("internal error: the handler answered status " + std::to_string(response.status))};
  }
  return response;
}

// The BodyWriter of a streamed response: each piece is handed to the I/O thread, and the worker waits
// until the socket has taken it.
class StreamWriter final : public BodyWriter {
 public:
  StreamWriter(std::shared_ptr<Connection> connection, bool chunked)
      : connection_(std::move(connection)), chunked_(chunked) {}

  bool write(std::string_view data) override {
    if (data.empty()) return ok_ && !connection_->client_gone();
    written_ += data.size();
    if (!chunked_) return send({asio::buffer(data)});
    char digits[2 * sizeof(size_t)];
    const auto end = std::to_chars(std::begin(digits), std::end(digits), data.size(), 16).ptr;
    size_line_.assign(digits, end);
    size_line_ += kCrlf;
    return send({asio::buffer(size_line_), asio::buffer(data), asio::buffer(kCrlf)});
  }

  bool send_head(const std::string& head) { return send({asio::buffer(head)}); }
  bool finish() { return chunked_ ? send({asio::buffer(kLastChunk)}) : ok_; }
  uint64_t written() const { return written_; }

 private:
  bool send(std::vector<asio::const_buffer> buffers) {
    if (!ok_ || connection_->client_gone()) return ok_ = false;
    // Shared with the I/O side: if its handler is destroyed unrun (the server stopping), the broken
    // promise wakes this thread instead of leaving it blocked.
    auto sent = std::make_shared<std::promise<bool>>();
    auto outcome = sent->get_future();
    asio::post(connection_->io(), [connection = connection_, buffers = std::move(buffers), sent]() mutable {
      connection->write_piece(std::move(buffers), [sent](bool ok) { sent->set_value(ok); });
    });
    try {
      ok_ = outcome.get();
    } catch (const std::future_error&) {
      ok_ = false;
    }
    return ok_;
  }

  std::shared_ptr<Connection> connection_;
  const bool chunked_;
  bool ok_ = true;
  std::string size_line_;
  uint64_t written_ = 0;  // body bytes handed to write()
};

// The BodyReader of a streamed request: each read is handed to the I/O thread, and the worker waits
// until it has been done there.
class SocketBodyReader final : public BodyReader {
 public:
  SocketBodyReader(std::shared_ptr<Connection> connection, std::optional<uint64_t> declared_size, bool ended)
      : connection_(std::move(connection)), declared_size_(declared_size), ended_(ended) {}

  size_t read(char* out, size_t max) override {
    if (failure_) throw *failure_;
    if (ended_ || max == 0) return 0;
    // Shared with the I/O side: if its handler is destroyed unrun (the server stopping), the broken
    // promise wakes this thread instead of leaving it blocked.
    auto done = std::make_shared<std::promise<BodyPiece>>();
    auto outcome = done->get_future();
    asio::post(connection_->io(), [connection = connection_, out, max, done] {
      connection->read_body_piece(out, max, [done](BodyPiece piece) { done->set_value(std::move(piece)); });
    });
    BodyPiece piece;
    try {
      piece = outcome.get();
    } catch (const std::future_error&) {
      piece = BodyPiece{0, 503, "ServiceUnavailable", "the server is stopping"};
    }
    if (piece.status != 0) {
      failure_.emplace(piece.status, piece.code, piece.message);
      throw *failure_;
    }
    if (piece.bytes == 0) ended_ = true;
    bytes_read_ += piece.bytes;
    return piece.bytes;
  }

  std::optional<uint64_t> declared_size() const override { return declared_size_; }
  uint64_t bytes_read() const override { return bytes_read_; }

 private:
  std::shared_ptr<Connection> connection_;
  const std::optional<uint64_t> declared_size_;
  bool ended_;
  uint64_t bytes_read_ = 0;
  std::optional<HttpError> failure_;
};

std::optional<uint64_t> to_std(const boost::optional<std::uint64_t>& value) {
  return value ? std::optional<uint64_t>(*value) : std::nullopt;
}

}  // namespace

Connection::Connection(ServerCore& core, tcp::socket socket, std::string peer, std::string client_ip)
    : core_(core),
      socket_(std::move(socket)),
      timer_(core.io()),
      peer_(std::move(peer)),
      client_ip_(std::move(client_ip)),
      accepted_(Clock::now()) {}

void Connection::start() { next_request(true); }

// ---- waiting for and reading a request ----

// Reads the next request at once when its bytes are already here; otherwise waits idle (evictable)
// for them: until header_timeout after the accept for the first request, idle_timeout for later ones.
void Connection::next_request(bool first) {
  first_request_ = first;
  if (buffer_.size() > 0 || input_pending_ || bytes_waiting() > 0) {
    begin_request();
    return;
  }
  if (buffer_.capacity() > (64u << 10)) buffer_.shrink_to_fit();  // an idle connection holds little
  state_ = State::idle;
  core_.mark_idle(*this);
  const auto& options = core_.options();
  arm(first ? accepted_ + options.header_timeout : Clock::now() + options.idle_timeout, Deadline::idle);
  if (!watching_) watch_readable();
}

void Connection::begin_request() {
  core_.unmark_idle(*this);
  read_head((first_request_ ? accepted_ : Clock::now()) + core_.options().header_timeout);
}

ssize_t Connection::bytes_waiting() {
  char byte = 0;
  return ::recv(socket_.native_handle(), &byte, 1, MSG_PEEK | MSG_DONTWAIT);
}

bool Connection::evict() {
  if (state_ != State::idle) return false;
  if (bytes_waiting() > 0) {  // its next request has arrived, not yet noticed: not idle after all
    begin_request();
    return false;
  }
  close();
  return true;
}

void Connection::watch_readable() {
  watching_ = true;
  socket_.async_wait(tcp::socket::wait_read,
                     [self = shared_from_this()](const beast::error_code& ec) { self->on_readable(ec); });
}

void Connection::on_readable(const beast::error_code& ec) {
  watching_ = false;
  if (ec == asio::error::operation_aborted) return;
  switch (state_) {
    case State::idle:
      begin_request();  // the next request has begun (or the client closed: the read will tell)
      return;
    case State::handling:
    case State::writing:
      if (ec) {
        client_gone_ = true;
        close();
        return;
      }
      check_client_left();
      return;
    default:
      return;  // being read (the read sees what came: a streamed body too), lingering or closed
  }
}

// The socket became readable while a handler runs. Bytes mean a pipelined next request: they stay
// where they are for the next read (watching again would fire at once, so the watch ends here). EOF
// means the client has gone, or at least will send nothing more: the handler is told, and the answer
// is still written (a client that only half-closed gets it), then the connection ends. An error
// (reset) means nothing can be written any more: the connection ends now.
void Connection::check_client_left() {
  const ssize_t n = bytes_waiting();
  if (n > 0) {
    input_pending_ = true;
    return;
  }
  if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)) {
    watch_readable();
    return;
  }
  client_gone_ = true;
  if (n == 0) {
    peer_closed_ = true;
  } else {
    close();
  }
}

void Connection::read_head(Clock::time_point deadline) {
  state_ = State::reading_head;
  input_pending_ = false;
  timed_out_ = Deadline::none;
  request_.reset();
  exchange_ = Exchange{};
  body_parser_.reset();
  body_complete_ = true;
  parser_.emplace();
  parser_->header_limit(static_cast<std::uint32_t>(core_.options().max_header_bytes));
  // The body's limit depends on its route: checked once the head is routed (plan_request).
  parser_->body_limit(boost::none);
  arm(deadline, Deadline::head);
  http::async_read_header(
      socket_, buffer_, *parser_,
      [self = shared_from_this()](const beast::error_code& ec, size_t) { self->on_head(ec); });
}

void Connection::on_head(const beast::error_code& ec) {
  if (state_ == State::closed) return;
  if (ec == asio::error::operation_aborted && timed_out_ == Deadline::head) {
    reply_and_close(408, "RequestTimeout",
                    "the request head did not arrive within " + milliseconds(core_.options().header_timeout));
    return;
  }
  if (ec) {
    on_read_error(ec);
    return;
  }
  if (!plan_request()) return;
  if (exchange_.stream_body) {
    start_streaming();
    return;
  }
  parser_->body_limit(body_limit_);
  if (parser_->is_done()) {
    dispatch();
    return;
  }
  const auto expect = parser_->get().find(http::field::expect);
  if (expect != parser_->get().end() && beast::iequals(expect->value(), "100-continue")) {
    send_continue();
    return;
  }
  read_body();
}

// Builds the request from its head and asks the dispatcher how to take it; false (and answered) when
// it cannot be served: the dispatcher failed, or the declared body is beyond the route's limit.
bool Connection::plan_request() {
  version_ = parser_->get().version();
  keep_alive_ = parser_->get().keep_alive();
  request_.emplace(make_request_head(parser_->get().base()));
  request_->peer = peer_;
  request_->client_gone = &client_gone_;
  try {
    exchange_ = core_.dispatcher()(*request_);
  } catch (const std::exception& e) {
    request_.reset();  // answered in the server's own shape
    reply_and_close(500, "InternalError", std::string("internal error: ") + e.what());
    return false;
  }
  body_limit_ = exchange_.max_body_bytes.value_or(core_.options().max_body_bytes);
  if (const auto length = parser_->content_length(); length && *length > body_limit_) {
    reply_and_close(413, "EntityTooLarge",
                    "request body larger than " + std::to_string(body_limit_) + " bytes");
    return false;
  }
  return true;
}

// Hands the request to a worker at once; its body is read when the handler asks for it.
void Connection::start_streaming() {
  const auto declared_size = to_std(parser_->content_length());
  body_complete_ = parser_->is_done();
  if (!body_complete_) {
    const auto expect = parser_->get().find(http::field::expect);
    continue_due_ = expect != parser_->get().end() && beast::iequals(expect->value(), "100-continue");
    buffer_.reserve(kBodyReadRoom);
    body_parser_.emplace(std::move(*parser_));
    body_parser_->body_limit(body_limit_);
    body_budget_ = exchange_.body_timeout.value_or(core_.options().body_timeout);
    body_received_ = 0;
  }
  parser_.reset();
  state_ = body_complete_ ? State::handling : State::streaming;
  disarm();
  if (body_complete_ && !watching_ && !input_pending_) watch_readable();
  core_.workers().submit([self = shared_from_this(), answer = std::move(exchange_.answer),
                          request = std::move(*request_), declared_size, ended = body_complete_] {
    SocketBodyReader body(self, declared_size, ended);
    self->handle(answer, request, &body);
  });
  request_.reset();
}

void Connection::read_body_piece(char* out, size_t max, std::function<void(BodyPiece)> done) {
  if (state_ == State::closed) {
    done(core_.stopping()
             ? BodyPiece{0, 503, "ServiceUnavailable", "the server is stopping"}
             : BodyPiece{0, 400, "IncompleteBody", "the connection closed before the body ended"});
    return;
  }
  if (!body_parser_ || body_parser_->is_done()) {
    done(BodyPiece{});
    return;
  }
  if (body_budget_ <= Clock::duration::zero()) {
    done(body_failure(asio::error::timed_out));
    return;
  }
  if (continue_due_) {  // the client waits for it before it sends the body
    continue_due_ = false;
    arm(Clock::now() + core_.options().write_timeout, Deadline::write);
    asio::async_write(socket_, asio::buffer(kContinue),
                      [self = shared_from_this(), out, max, done = std::move(done)](
                          const beast::error_code& ec, size_t) mutable {
                        if (self->state_ != State::closed) self->disarm();
                        if (ec && self->state_ != State::closed) self->close();
                        self->read_body_piece(out, max, std::move(done));
                      });
    return;
  }
  piece_started_ = Clock::now();
  timed_out_ = Deadline::none;
  arm(piece_started_ + body_budget_, Deadline::body);
  auto& body = body_parser_->get().body();
  body.data = out;
  body.size = max;
  body.more = true;
  http::async_read_some(socket_, buffer_, *body_parser_,
                        [self = shared_from_this(), out, max, done = std::move(done)](
                            const beast::error_code& ec, size_t) mutable {
                          self->on_body_piece(ec, out, max, std::move(done));
                        });
}

void Connection::on_body_piece(const beast::error_code& ec, char* out, size_t max,
                               std::function<void(BodyPiece)> done) {
  if (state_ == State::closed) {
    read_body_piece(out, max, std::move(done));  // answers the closed connection's failure
    return;
  }
  disarm();
  body_budget_ -= Clock::now() - piece_started_;
  const size_t got = max - body_parser_->get().body().size;
  body_parser_->get().body().data = nullptr;
  body_received_ += got;
  if (ec && ec != http::error::need_buffer) {
    done(body_failure(ec));
    return;
  }
  if (body_parser_->is_done()) {  // the handler still runs: watch for the client leaving, as usual
    body_complete_ = true;
    state_ = State::handling;
    if (!watching_ && !input_pending_) watch_readable();
  } else if (got == 0) {  // only framing (a chunk header) was read: the handler waits for bytes
    read_body_piece(out, max, std::move(done));
    return;
  }
  done(BodyPiece{got});
}

// The failure `ec` (a body deadline too) of a streamed body's read, as the handler is told it.
BodyPiece Connection::body_failure(const beast::error_code& ec) {
  const auto& options = core_.options();
  if (ec == asio::error::timed_out ||
      (ec == asio::error::operation_aborted && timed_out_ == Deadline::body)) {
    return BodyPiece{0, 408, "RequestTimeout",
                     "the request body did not arrive within " +
                         milliseconds(exchange_.body_timeout.value_or(options.body_timeout))};
  }
  if (ec == http::error::body_limit) {
    return BodyPiece{0, 413, "EntityTooLarge",
                     "request body larger than " + std::to_string(body_limit_) + " bytes"};
  }
  const std::string after = " after " + std::to_string(body_received_) + " bytes of the request body";
  if (ec == http::error::end_of_stream || ec == http::error::partial_message) {
    client_gone_ = true;
    peer_closed_ = true;
    return BodyPiece{0, 400, "IncompleteBody", "the client closed the connection" + after};
  }
  if (ec.category() == http::make_error_code(http::error::bad_method).category()) {
    return BodyPiece{0, 400, "MalformedBody", "malformed HTTP request body" + after + ": " + ec.message()};
  }
  client_gone_ = true;  // reset, or the socket failed: nothing can be answered
  close();
  return BodyPiece{0, 400, "IncompleteBody", "the connection failed" + after + ": " + ec.message()};
}

void Connection::send_continue() {
  state_ = State::reading_body;
  arm(Clock::now() + core_.options().write_timeout, Deadline::write);
  asio::async_write(socket_, asio::buffer(kContinue),
                    [self = shared_from_this()](const beast::error_code& ec, size_t) {
                      if (self->state_ == State::closed) return;
                      if (ec) {
                        self->close();
                        return;
                      }
                      self->read_body();
                    });
}

void Connection::read_body() {
  state_ = State::reading_body;
  const auto length = parser_->content_length();
  buffer_.reserve(static_cast<size_t>(std::min<uint64_t>(length ? *length : kBodyReadRoom, kBodyReadRoom)));
  timed_out_ = Deadline::none;
  arm(Clock::now() + exchange_.body_timeout.value_or(core_.options().body_timeout), Deadline::body);
  http::async_read(socket_, buffer_, *parser_,
                   [self = shared_from_this()](const beast::error_code& ec, size_t) { self->on_body(ec); });
}

void Connection::on_body(const beast::error_code& ec) {
  if (state_ == State::closed) return;
  if (ec == asio::error::operation_aborted && timed_out_ == Deadline::body) {
    reply_and_close(408, "RequestTimeout",
                    "the request body did not arrive within " +
                        milliseconds(exchange_.body_timeout.value_or(core_.options().body_timeout)));
    return;
  }
  if (ec) {
    on_read_error(ec);
    return;
  }
  dispatch();
}

void Connection::on_read_error(const beast::error_code& ec) {
  const auto& options = core_.options();
  if (ec == http::error::header_limit) {
    reply_and_close(431, "RequestHeaderFieldsTooLarge",
                    "request headers larger than " + std::to_string(options.max_header_bytes) + " bytes");
  } else if (ec == http::error::body_limit) {
    reply_and_close(413, "EntityTooLarge",
                    "request body larger than " + std::to_string(body_limit_) + " bytes");
  } else if (ec.category() == http::make_error_code(http::error::bad_method).category() &&
             ec != http::error::end_of_stream && ec != http::error::partial_message) {
    reply_and_close(400, "MalformedRequest", "malformed HTTP request: " + ec.message());
  } else {
    close();  // the client closed or reset the connection: nobody to answer
  }
}

// ---- handling ----

void Connection::dispatch() {
  request_->body = std::move(parser_->release().body());
  parser_.reset();
  state_ = State::handling;
  disarm();
  if (!watching_ && !input_pending_) watch_readable();
  core_.workers().submit([self = shared_from_this(), answer = std::move(exchange_.answer),
                          request = std::move(*request_)] { self->handle(answer, request, nullptr); });
  request_.reset();
}

void Connection::handle(const Answer& answer, const HttpRequest& request, BodyReader* body) {
  try {
    HttpResponse response = call_answer(answer, request, body);
    if (response.stream) {
      stream(response, request.method == "HEAD");
      return;
    }
    std::optional<http::response<http::string_body>> wire;
    try {
      wire = to_wire(std::move(response), version_, keep_alive_);
    } catch (const std::exception& e) {  // e.g. a header value Beast refuses
      wire = make_error_response(version_, 500, std::string("internal error: ") + e.what());
    }
    asio::post(core_.io(), [self = shared_from_this(), wire = std::move(*wire)]() mutable {
      self->send(std::move(wire));
    });
  } catch (const std::exception& e) {  // out of memory, most likely: the connection must not hang
    spdlog::error("http server: answering {} failed: {}", peer_, e.what());
    asio::post(core_.io(), [self = shared_from_this()] { self->close(); });
  }
}

void Connection::stream(HttpResponse& response, bool head_only) {
  // A body of a length given beforehand needs no chunks and no closing to end it.
  const bool sized = response.stream_length.has_value();
  const bool chunked = version_ >= 11 && !sized;
  const bool keep_alive = keep_alive_ && (chunked || sized);  // an HTTP/1.0 body ends with the connection
  StreamWriter writer(shared_from_this(), chunked);
  if (!writer.send_head(stream_head(response, version_, chunked, keep_alive))) return;
  if (sized && head_only) {
    asio::post(core_.io(),
               [self = shared_from_this(), keep_alive] { self->on_stream_done(true, keep_alive); });
    return;
  }
  try {
    response.stream(writer);
  } catch (const std::exception& e) {
    spdlog::warn("http server: the streamed response to {} failed after its head was sent: {}", peer_,
                 e.what());
    asio::post(core_.io(), [self = shared_from_this()] { self->close(); });
    return;
  } catch (...) {
    spdlog::warn("http server: the streamed response to {} failed after its head was sent", peer_);
    asio::post(core_.io(), [self = shared_from_this()] { self->close(); });
    return;
  }
  const bool ok = writer.finish() && (!sized || writer.written() == *response.stream_length);
  asio::post(core_.io(),
             [self = shared_from_this(), ok, keep_alive] { self->on_stream_done(ok, keep_alive); });
}

void Connection::write_piece(std::vector<asio::const_buffer> buffers, std::function<void(bool)> done) {
  if (state_ == State::closed) {
    done(false);
    return;
  }
  state_ = State::writing;
  arm(Clock::now() + core_.options().write_timeout, Deadline::write);
  asio::async_write(socket_, buffers,
                    [self = shared_from_this(), done = std::move(done)](const beast::error_code& ec, size_t) {
                      if (self->state_ != State::closed) {
                        self->disarm();
                        if (ec) self->close();
                      }
                      done(!ec && self->state_ != State::closed);
                    });
}

void Connection::on_stream_done(bool ok, bool keep_alive) {
  if (state_ == State::closed) return;
  if (!ok) {  // the client left or was too slow: the body is incomplete
    close();
    return;
  }
  keep_alive_ = keep_alive && !core_.stopping() && !peer_closed_ && body_complete_;
  if (!keep_alive_) {
    linger();
    return;
  }
  next_request(false);
}

// ---- writing ----

void Connection::send(http::response<http::string_body> response) {
  if (state_ == State::closed) return;
  state_ = State::writing;
  // A body the handler left unread cannot be skipped reliably: the connection ends after the answer.
  if (core_.stopping() || peer_closed_ || !body_complete_) keep_alive_ = false;
  response.keep_alive(keep_alive_);
  response_.emplace(std::move(response));
  arm(Clock::now() + core_.options().write_timeout, Deadline::write);
  http::async_write(socket_, *response_,
                    [self = shared_from_this()](const beast::error_code& ec, size_t) { self->on_sent(ec); });
}

void Connection::on_sent(const beast::error_code& ec) {
  if (state_ == State::closed) return;
  response_.reset();
  disarm();
  if (ec) {
    close();
  } else if (!keep_alive_) {
    linger();
  } else {
    next_request(false);
  }
}

void Connection::reply_and_close(int status, const std::string& code, const std::string& message) {
  core_.unmark_idle(*this);
  keep_alive_ = false;
  std::optional<http::response<http::string_body>> response;
  if (request_ && exchange_.errors) {
    try {
      HttpError error(status, code, message);
      if (status == 503) error.headers["Retry-After"] = "1";
      response = to_wire(shape_error(exchange_.errors, error, *request_), version_, false);
    } catch (const std::exception& e) {  // e.g. a header value Beast refuses: the server's own shape
      spdlog::warn("http server: shaping the {} answer to {} failed: {}", status, peer_, e.what());
    }
  }
  if (!response) {
    response = make_error_response(version_, status, message);
    if (status == 503) response->set(http::field::retry_after, "1");
  }
  send(std::move(*response));
}

void Connection::reject(const std::string& message) { reply_and_close(503, "ServiceUnavailable", message); }

// ---- closing ----

// After an answer that ends the connection: stop sending, free the slot, and read what the client
// still sends until it closes (or for a short while), so the answer is not lost to a reset.
void Connection::linger() {
  state_ = State::lingering;
  core_.release_slot(*this);
  beast::error_code ignored;
  socket_.shutdown(tcp::socket::shutdown_send, ignored);
  arm(Clock::now() + std::min<std::chrono::milliseconds>(core_.options().write_timeout, kLongestLinger),
      Deadline::linger);
  drain();
}

void Connection::drain() {
  socket_.async_read_some(buffer_.prepare(4096),
                          [self = shared_from_this()](const beast::error_code& ec, size_t n) {
                            if (self->state_ == State::closed) return;
                            self->drained_ += n;
                            if (ec || self->drained_ > kMaxDrainBytes) {
                              self->close();
                              return;
                            }
                            self->drain();
                          });
}

void Connection::close() {
  if (state_ == State::closed) return;
  const auto self = shared_from_this();  // the registry may hold the last other reference
  if (state_ == State::streaming || state_ == State::handling || state_ == State::writing)
    client_gone_ = true;
  state_ = State::closed;
  core_.release_slot(*this);
  core_.forget(*this);
  ++epoch_;
  timer_.cancel();
  beast::error_code ignored;
  socket_.close(ignored);
}

// ---- deadlines ----

void Connection::arm(Clock::time_point at, Deadline kind) {
  deadline_ = kind;
  const uint64_t epoch = ++epoch_;
  timer_.expires_at(at);
  timer_.async_wait([self = shared_from_this(), epoch](const beast::error_code& ec) {
    if (!ec) self->on_deadline(epoch);
  });
}

void Connection::disarm() {
  deadline_ = Deadline::none;
  ++epoch_;
  timer_.cancel();
}

void Connection::on_deadline(uint64_t epoch) {
  if (epoch != epoch_ || state_ == State::closed) return;
  switch (deadline_) {
    case Deadline::none:
      return;
    case Deadline::head:
    case Deadline::body: {
      // The read in progress completes as aborted; its handler answers 408.
      timed_out_ = deadline_;
      beast::error_code ignored;
      socket_.cancel(ignored);
      return;
    }
    case Deadline::idle:
    case Deadline::write:
    case Deadline::linger:
      close();
      return;
  }
}

}  // namespace sluice::server::detail
