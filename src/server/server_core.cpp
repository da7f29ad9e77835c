#include "server/server_core.h"

#include <spdlog/spdlog.h>

#include <algorithm>

#include "common/error.h"

namespace sluice::server::detail {

using namespace std::chrono_literals;

// ---- WorkerPool ----

WorkerPool::~WorkerPool() { stop(); }

void WorkerPool::start(size_t threads) {
  for (size_t i = 0; i < std::max<size_t>(threads, 1); ++i) threads_.emplace_back([this] { run(); });
}

void WorkerPool::submit(std::function<void()> job) {
  {
    std::lock_guard lock(mutex_);
    if (stopping_) return;  // `job` is destroyed here, unrun
    jobs_.push_back(std::move(job));
  }
  wake_.notify_one();
}

void WorkerPool::stop() {
  std::deque<std::function<void()>> dropped;
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
    dropped.swap(jobs_);
  }
  wake_.notify_all();
  dropped.clear();  // outside the lock: a job's captures may take a while to destroy
  for (auto& thread : threads_) {
    if (thread.joinable()) thread.join();
  }
  threads_.clear();
}

void WorkerPool::run() {
  while (true) {
    std::function<void()> job;
    {
      std::unique_lock lock(mutex_);
      wake_.wait(lock, [this] { return stopping_ || !jobs_.empty(); });
      if (stopping_) return;
      job = std::move(jobs_.front());
      jobs_.pop_front();
    }
    try {
      job();
    } catch (const std::exception& e) {
      // Jobs catch what handlers throw; this is the last line of defence for the thread itself.
      spdlog::error("http server: a handler thread caught: {}", e.what());
    }
  }
}

// ---- ServerCore: start and stop ----

namespace {

// accept() failures that mean the process or system is out of descriptors or memory: retrying at
// once would fail again, so the accept loop backs off.
bool is_resource_exhaustion(const beast::error_code& ec) {
  if (ec.category() != boost::system::system_category()) return false;
  const int e = ec.value();
  return e == EMFILE || e == ENFILE || e == ENOBUFS || e == ENOMEM;
}

// accept() failures that concern only the one connection being accepted (it was reset before we got
// to it, ...): the next accept may proceed at once.
bool is_per_connection_failure(const beast::error_code& ec) {
  return ec == asio::error::connection_aborted || ec == asio::error::connection_reset ||
         ec == asio::error::interrupted || ec == asio::error::try_again || ec == asio::error::would_block ||
         (ec.category() == boost::system::system_category() && ec.value() == EPROTO);
}

constexpr std::chrono::milliseconds kFirstBackoff = 10ms;
constexpr std::chrono::milliseconds kLongestBackoff = 1000ms;
constexpr std::chrono::milliseconds kEpisodeGap = 1000ms;

}  // namespace

ServerCore::ServerCore(HttpServerOptions options, Dispatcher dispatcher)
    : options_(std::move(options)), dispatcher_(std::move(dispatcher)) {}

ServerCore::~ServerCore() { stop(); }

void ServerCore::start() {
  if (acceptor_) throw Error("the HTTP server on " + options_.host + " was started twice");
  beast::error_code ec;
  const auto address = asio::ip::make_address(options_.host, ec);
  if (ec) throw Error("cannot listen on \"" + options_.host + "\": not an IP address");
  const tcp::endpoint endpoint(address, options_.port);
  tcp::acceptor acceptor(io_);
  acceptor.open(endpoint.protocol(), ec);
  if (!ec) acceptor.set_option(asio::socket_base::reuse_address(true), ec);
  if (!ec) acceptor.bind(endpoint, ec);
  if (!ec) acceptor.listen(asio::socket_base::max_listen_connections, ec);
  if (ec) {
    throw Error("cannot listen on " + options_.host + ":" + std::to_string(options_.port) + ": " +
                ec.message());
  }
  bound_port_ = acceptor.local_endpoint().port();
  acceptor_.emplace(std::move(acceptor));
  work_.emplace(io_.get_executor());
  workers_.start(options_.handler_threads);
  accept_next();
  io_thread_ = std::thread([this] { run_io(); });
  started_ = true;
}

void ServerCore::run_io() {
  while (true) {
    try {
      io_.run();
      return;
    } catch (const std::exception& e) {
      // Completion handlers catch what a request can cause; this keeps the I/O thread alive anyway.
      spdlog::error("http server: the I/O thread caught: {}", e.what());
    }
  }
}

void ServerCore::stop() {
  if (!started_ || stopping_.exchange(true)) return;
  asio::post(io_, [this] { shut_down(); });
  // Running handlers finish (their connections are closed, so their writes fail fast); the I/O
  // thread keeps running meanwhile to complete those writes as failed.
  workers_.stop();
  asio::post(io_, [this] { io_.stop(); });
  if (io_thread_.joinable()) io_thread_.join();
  work_.reset();
}

// Runs on the I/O thread: nothing new is accepted and every connection is closed.
void ServerCore::shut_down() {
  beast::error_code ignored;
  if (acceptor_) acceptor_->close(ignored);
  accept_backoff_.cancel();
  const std::vector<std::shared_ptr<Connection>> open(live_.begin(), live_.end());
  for (const auto& connection : open) connection->close();
}

// ---- ServerCore: accepting ----

void ServerCore::accept_next() {
  acceptor_->async_accept(
      [this](const beast::error_code& ec, tcp::socket socket) { on_accept(ec, std::move(socket)); });
}

void ServerCore::on_accept(const beast::error_code& ec, tcp::socket socket) {
  if (stopping_.load()) return;
  if (ec) {
    on_accept_error(ec);
    return;
  }
  // The episode ends with the first accept after a calm second (accepts that succeed only because an
  // idle connection was just closed for them are still part of it).
  if (failed_accepts_ > 0 && Clock::now() - last_exhaustion_ > kEpisodeGap) {
    spdlog::info("http server: accepting connections again ({} attempts failed for lack of descriptors)",
                 failed_accepts_);
    failed_accepts_ = 0;
  }
  backoff_ = 0ms;
  try {
    admit(std::move(socket));
  } catch (const std::exception& e) {
    spdlog::warn("http server: could not take a new connection: {}", e.what());
  }
  accept_next();
}

void ServerCore::on_accept_error(const beast::error_code& ec) {
  if (ec == asio::error::operation_aborted) return;
  if (is_per_connection_failure(ec)) {
    accept_next();
    return;
  }
  // The message is built only when it is logged: with no descriptor left, even formatting can fail.
  if (is_resource_exhaustion(ec)) {
    last_exhaustion_ = Clock::now();
    if (failed_accepts_++ == 0 && spdlog::should_log(spdlog::level::warn)) {
      spdlog::warn(
          "http server: cannot accept connections: {}; closing idle connections and retrying with "
          "back-off (existing connections are still served)",
          ec.message());
    }
    evict_oldest(idle_);  // frees a descriptor for the next attempt, if any connection is idle
  } else if (spdlog::should_log(spdlog::level::warn)) {
    spdlog::warn("http server: accept failed: {}; retrying with back-off", ec.message());
  }
  backoff_ = std::clamp(backoff_ * 2, kFirstBackoff, kLongestBackoff);
  accept_backoff_.expires_after(backoff_);
  accept_backoff_.async_wait([this](const beast::error_code& wait_ec) {
    if (!wait_ec && !stopping_.load()) accept_next();
  });
}

void ServerCore::admit(tcp::socket socket) {
  beast::error_code ec;
  const auto remote = socket.remote_endpoint(ec);
  if (ec) return;  // the client has already gone; the socket closes here
  socket.set_option(tcp::no_delay(true), ec);
  const std::string ip = remote.address().to_string();
  const std::string port = std::to_string(remote.port());
  std::string peer = remote.address().is_v6() ? "[" + ip + "]:" + port : ip + ":" + port;
  auto connection = std::make_shared<Connection>(*this, std::move(socket), std::move(peer), ip);
  connection->registration.live = true;
  connection->registration.live_at = live_.insert(live_.end(), connection);
  if (auto refusal = make_room(ip)) {
    spdlog::debug("http server: refused {}: {}", ip, *refusal);
    connection->reject(*refusal);
    return;
  }
  ++open_;
  ++clients_[ip].open;
  connection->registration.holds_slot = true;
  connection->start();
}

// Frees a slot for a new connection from `client_ip` by closing an idle one when a cap is reached;
// returns why the newcomer is refused when no connection it may displace is idle.
std::optional<std::string> ServerCore::make_room(const std::string& client_ip) {
  const size_t per_client = options_.max_connections_per_client;
  if (const auto it = clients_.find(client_ip); per_client > 0 && it != clients_.end() &&
                                                it->second.open >= per_client &&
                                                !evict_oldest(it->second.idle)) {
    return "too many connections from " + client_ip + " (at most " + std::to_string(per_client) +
           " at once, all busy); retry later";
  }
  if (open_ >= options_.max_connections && !evict_oldest(idle_)) {
    return "too many connections (at most " + std::to_string(options_.max_connections) +
           " at once, all busy); retry later";
  }
  return std::nullopt;
}

// Closes the connection idle for longest in `idle` (which may be destroyed by that: it is not
// touched afterwards). False when none in it is really idle.
bool ServerCore::evict_oldest(std::list<Connection*>& idle) {
  while (!idle.empty()) {
    Connection* oldest = idle.front();  // leaves `idle` either way
    const std::string client_ip = oldest->client_ip();
    if (oldest->evict()) {
      spdlog::debug("http server: closed an idle connection from {} to make room", client_ip);
      return true;
    }
  }
  return false;
}

// ---- ServerCore: registry ----

void ServerCore::mark_idle(Connection& connection) {
  Registration& r = connection.registration;
  if (r.idle || !r.holds_slot) return;
  r.idle_at = idle_.insert(idle_.end(), &connection);
  auto& client_idle = clients_.at(connection.client_ip()).idle;
  r.client_idle_at = client_idle.insert(client_idle.end(), &connection);
  r.idle = true;
}

void ServerCore::unmark_idle(Connection& connection) {
  Registration& r = connection.registration;
  if (!r.idle) return;
  idle_.erase(r.idle_at);
  clients_.at(connection.client_ip()).idle.erase(r.client_idle_at);
  r.idle = false;
}

void ServerCore::release_slot(Connection& connection) {
  Registration& r = connection.registration;
  if (!r.holds_slot) return;
  unmark_idle(connection);
  r.holds_slot = false;
  --open_;
  const auto it = clients_.find(connection.client_ip());
  if (--it->second.open == 0) clients_.erase(it);
}

void ServerCore::forget(Connection& connection) {
  Registration& r = connection.registration;
  if (!r.live) return;
  r.live = false;
  live_.erase(r.live_at);  // the caller holds its own reference
}

}  // namespace sluice::server::detail
