// HttpServer against hostile or careless clients: idle sockets, slow bytes, connection floods,
// file-descriptor exhaustion. Deadlines are short (hundreds of ms); every wait is bounded by a
// generous limit, so a broken server fails a test instead of hanging it.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <spdlog/spdlog.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <condition_variable>
#include <fstream>
#include <mutex>
#include <sstream>
#include <thread>
#include <vector>

#include "server/http_server.h"
#include "tests/common/sanitizers.h"
#include "tests/server/raw_client.h"

namespace sluice::server {
namespace {

using namespace std::chrono_literals;
using ::testing::HasSubstr;
using testing::RawClient;
using ::testing::StartsWith;
using Clock = std::chrono::steady_clock;

HttpResponse ok(const HttpRequest& request) {
  return HttpResponse{200, {}, "{\"path\":\"" + request.path + "\"}\n"};
}

// Serves GET /n on a fresh connection every 50 ms from a thread until destroyed, counting what came
// back: "a normal client is served throughout".
class NormalClient {
 public:
  explicit NormalClient(uint16_t port)
      : thread_([this, port] {
          while (!stop_.load()) {
            RawClient client(port);
            client.send("GET /n HTTP/1.1\r\nHost: t\r\n\r\n");
            const std::string reply = client.read_until("}\n");
            ++(reply.rfind("HTTP/1.1 200", 0) == 0 ? served_ : failed_);
            std::this_thread::sleep_for(50ms);
          }
        }) {}
  ~NormalClient() { finish(); }
  void finish() {
    stop_ = true;
    if (thread_.joinable()) thread_.join();
  }
  int served() const { return served_.load(); }
  int failed() const { return failed_.load(); }

 private:
  std::atomic<bool> stop_{false};
  std::atomic<int> served_{0}, failed_{0};
  std::thread thread_;
};

// Handlers block on it until the test opens it; counts how many are waiting.
class Gate {
 public:
  void wait() {
    std::unique_lock lock(mutex_);
    ++waiting_;
    changed_.notify_all();
    changed_.wait_for(lock, 20s, [this] { return open_; });
  }
  bool wait_for_waiters(int n) {
    std::unique_lock lock(mutex_);
    return changed_.wait_for(lock, 10s, [&] { return waiting_ >= n; });
  }
  void open() {
    std::lock_guard lock(mutex_);
    open_ = true;
    changed_.notify_all();
  }

 private:
  std::mutex mutex_;
  std::condition_variable changed_;
  int waiting_ = 0;
  bool open_ = false;
};

// ---- deadlines ----

TEST(ServerDeadlines, IdleKeepAliveConnectionIsClosedAtIdleTimeout) {
  HttpServerOptions options;
  options.idle_timeout = 300ms;
  HttpServer server(options, ok);
  server.start();
  RawClient idle(server.port());
  idle.send("GET /first HTTP/1.1\r\nHost: t\r\n\r\n");
  ASSERT_THAT(idle.read_until("}\n"), StartsWith("HTTP/1.1 200"));
  const auto idle_since = Clock::now();
  NormalClient normal(server.port());

  std::string after;
  EXPECT_TRUE(idle.read_until_closed(after, 5s)) << "the idle connection was never closed";
  const auto idle_for = Clock::now() - idle_since;
  EXPECT_GE(idle_for, 250ms) << "closed before its idle timeout";
  EXPECT_EQ(after, "") << "an idle connection is closed without an answer";
  std::this_thread::sleep_for(200ms);
  normal.finish();
  EXPECT_GT(normal.served(), 0);
  EXPECT_EQ(normal.failed(), 0);
}

TEST(ServerDeadlines, HalfSentHeadGets408AtHeaderTimeout) {
  HttpServerOptions options;
  options.header_timeout = 400ms;
  HttpServer server(options, ok);
  server.start();
  NormalClient normal(server.port());
  RawClient client(server.port());
  client.send("GET /slow HT");
  const auto sent = Clock::now();
  std::string reply;
  EXPECT_TRUE(client.read_until_closed(reply, 5s));
  EXPECT_GE(Clock::now() - sent, 300ms);
  EXPECT_THAT(reply, StartsWith("HTTP/1.1 408"));
  EXPECT_THAT(reply, HasSubstr("{\"error\":\"the request head did not arrive within 400 ms\"}"));
  normal.finish();
  EXPECT_GT(normal.served(), 0);
  EXPECT_EQ(normal.failed(), 0);
}

// Sends `text` one byte per 100 ms from a thread, until done or the server stops taking it.
class Trickle {
 public:
  Trickle(RawClient& client, std::string text)
      : thread_([this, &client, text] {
          for (char c : text) {
            if (stop_.load() || !client.send(std::string(1, c))) return;
            std::this_thread::sleep_for(100ms);
          }
        }) {}
  ~Trickle() {
    stop_ = true;
    thread_.join();
  }

 private:
  std::atomic<bool> stop_{false};
  std::thread thread_;
};

TEST(ServerDeadlines, HeadSentOneBytePer100MsGets408) {
  HttpServerOptions options;
  options.header_timeout = 400ms;
  HttpServer server(options, ok);
  server.start();
  RawClient client(server.port());
  // 70 bytes at 10 bytes a second would take 7 s: far beyond the deadline.
  Trickle trickle(client, "GET /trickle HTTP/1.1\r\nHost: t\r\nX-Padding: aaaaaaaaaaaaaaaaaaaaaaa\r\n\r\n");
  std::string reply;
  EXPECT_TRUE(client.read_until_closed(reply, 5s));
  EXPECT_THAT(reply, StartsWith("HTTP/1.1 408"));
  EXPECT_THAT(reply, HasSubstr("request head did not arrive within 400 ms"));
}

TEST(ServerDeadlines, SlowBodyGets408AtBodyTimeout) {
  HttpServerOptions options;
  options.body_timeout = 400ms;
  HttpServer server(options, ok);
  server.start();
  NormalClient normal(server.port());
  RawClient client(server.port());
  client.send("POST /upload HTTP/1.1\r\nHost: t\r\nContent-Length: 100\r\n\r\n");
  Trickle trickle(client, std::string(100, 'x'));
  std::string reply;
  EXPECT_TRUE(client.read_until_closed(reply, 5s));
  EXPECT_THAT(reply, StartsWith("HTTP/1.1 408"));
  EXPECT_THAT(reply, HasSubstr("{\"error\":\"the request body did not arrive within 400 ms\"}"));
  normal.finish();
  EXPECT_GT(normal.served(), 0);
  EXPECT_EQ(normal.failed(), 0);
}

TEST(ServerDeadlines, ANewConnectionThatSendsNothingIsClosedAtHeaderTimeout) {
  HttpServerOptions options;
  options.header_timeout = 300ms;
  HttpServer server(options, ok);
  server.start();
  RawClient silent(server.port());
  std::string reply;
  EXPECT_TRUE(silent.read_until_closed(reply, 5s));
  EXPECT_EQ(reply, "");
}

// ---- connection caps ----

TEST(ServerCaps, IdleConnectionsAreEvictedOldestFirstForANewClient) {
  HttpServerOptions options;
  options.max_connections = 256;
  options.max_connections_per_client = 0;
  HttpServer server(options, ok);
  server.start();
  std::vector<std::unique_ptr<RawClient>> holders;
  for (int i = 0; i < 300; ++i) {
    holders.push_back(std::make_unique<RawClient>(server.port()));
    ASSERT_TRUE(holders.back()->connected());
  }
  RawClient newcomer(server.port());
  newcomer.send("GET /new HTTP/1.1\r\nHost: t\r\n\r\n");
  EXPECT_THAT(newcomer.read_until("}\n"), StartsWith("HTTP/1.1 200"));
  // The oldest were closed to make room (without an answer); the newest are still open.
  std::string said;
  EXPECT_TRUE(holders.front()->read_until_closed(said, 5s));
  EXPECT_EQ(said, "");
  EXPECT_FALSE(holders.back()->closed_by_peer(100ms));
}

TEST(ServerCaps, WhenEveryConnectionIsBusyTheExtraOneGets503) {
  Gate gate;
  HttpServerOptions options;
  options.max_connections = 4;
  options.max_connections_per_client = 0;
  HttpServer server(options, [&](const HttpRequest& request) {
    gate.wait();
    return ok(request);
  });
  server.start();
  std::vector<std::unique_ptr<RawClient>> busy;
  for (int i = 0; i < 4; ++i) {
    busy.push_back(std::make_unique<RawClient>(server.port()));
    busy.back()->send("GET /busy HTTP/1.1\r\nHost: t\r\n\r\n");
  }
  ASSERT_TRUE(gate.wait_for_waiters(4));
  RawClient extra(server.port());
  extra.send("GET /extra HTTP/1.1\r\nHost: t\r\n\r\n");
  std::string reply;
  EXPECT_TRUE(extra.read_until_closed(reply, 5s));
  EXPECT_THAT(reply, StartsWith("HTTP/1.1 503"));
  EXPECT_THAT(reply, HasSubstr("Retry-After: 1\r\n"));
  EXPECT_THAT(reply,
              HasSubstr("{\"error\":\"too many connections (at most 4 at once, all busy); retry later\"}"));
  gate.open();
  for (auto& client : busy) EXPECT_THAT(client->read_until("}\n"), StartsWith("HTTP/1.1 200"));
}

TEST(ServerCaps, PerClientCapEvictsOrRefusesOnlyThatClient) {
  Gate gate;
  HttpServerOptions options;
  options.max_connections_per_client = 3;
  HttpServer server(options, [&](const HttpRequest& request) {
    if (request.path == "/block") gate.wait();
    return ok(request);
  });
  server.start();
  // Three idle connections from 127.0.0.2; a fourth displaces the oldest of them.
  std::vector<std::unique_ptr<RawClient>> idle;
  for (int i = 0; i < 3; ++i) idle.push_back(std::make_unique<RawClient>(server.port(), "127.0.0.2"));
  ASSERT_TRUE(idle.back()->connected());
  {
    RawClient fourth(server.port(), "127.0.0.2");
    fourth.send("GET /fourth HTTP/1.1\r\nHost: t\r\n\r\n");
    EXPECT_THAT(fourth.read_until("}\n"), StartsWith("HTTP/1.1 200"));
    EXPECT_TRUE(idle.front()->closed_by_peer(5s));
    EXPECT_FALSE(idle.back()->closed_by_peer(100ms));
  }
  // Three busy connections from 127.0.0.3 (another client: what 127.0.0.2 just closed may not have
  // been noticed yet): a fourth from it is refused, while 127.0.0.1 is served.
  std::vector<std::unique_ptr<RawClient>> busy;
  for (int i = 0; i < 3; ++i) {
    busy.push_back(std::make_unique<RawClient>(server.port(), "127.0.0.3"));
    busy.back()->send("GET /block HTTP/1.1\r\nHost: t\r\n\r\n");
  }
  ASSERT_TRUE(gate.wait_for_waiters(3));
  RawClient refused(server.port(), "127.0.0.3");
  refused.send("GET /more HTTP/1.1\r\nHost: t\r\n\r\n");
  std::string reply;
  EXPECT_TRUE(refused.read_until_closed(reply, 5s));
  EXPECT_THAT(reply, StartsWith("HTTP/1.1 503"));
  EXPECT_THAT(reply, HasSubstr("too many connections from 127.0.0.3 (at most 3 at once, all busy)"));
  RawClient other(server.port(), "127.0.0.1");
  other.send("GET /other HTTP/1.1\r\nHost: t\r\n\r\n");
  EXPECT_THAT(other.read_until("}\n"), StartsWith("HTTP/1.1 200"));
  gate.open();
  for (auto& client : busy) EXPECT_THAT(client->read_until("}\n"), StartsWith("HTTP/1.1 200"));
}

// ---- file-descriptor exhaustion ----

// A server in a forked child whose descriptor limit is `max_files`; GET /block waits until its
// client has gone. Killed when destroyed.
class ServerInChild {
 public:
  explicit ServerInChild(rlim_t max_files) {
    int pipe_fds[2];
    if (::pipe(pipe_fds) != 0) throw std::runtime_error("pipe");
    pid_ = ::fork();
    if (pid_ == 0) {
      ::close(pipe_fds[0]);
      // Quiet, and touched once while descriptors remain: UBSan's first check of a type's vtable
      // needs a pipe, which a process without descriptors cannot make (a false report otherwise).
      spdlog::set_level(spdlog::level::off);
      const rlimit limit{max_files, max_files};
      if (::setrlimit(RLIMIT_NOFILE, &limit) != 0) ::_exit(2);
      HttpServerOptions options;
      options.handler_threads = 4;
      HttpServer server(options, [](const HttpRequest& request) {
        const auto give_up = Clock::now() + 20s;
        while (request.path == "/block" && !request.client_gone->load() && Clock::now() < give_up)
          std::this_thread::sleep_for(5ms);
        return ok(request);
      });
      server.start();
      const uint16_t port = server.port();
      if (::write(pipe_fds[1], &port, sizeof(port)) != sizeof(port)) ::_exit(3);
      ::pause();
      ::_exit(0);
    }
    ::close(pipe_fds[1]);
    if (::read(pipe_fds[0], &port_, sizeof(port_)) != sizeof(port_)) port_ = 0;
    ::close(pipe_fds[0]);
  }
  ~ServerInChild() {
    ::kill(pid_, SIGKILL);
    ::waitpid(pid_, nullptr, 0);
  }
  uint16_t port() const { return port_; }

  // User plus system CPU time of the child so far.
  std::chrono::milliseconds cpu_time() const {
    std::ifstream in("/proc/" + std::to_string(pid_) + "/stat");
    std::string stat((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    std::istringstream fields(stat.substr(stat.rfind(')') + 2));  // after "pid (comm) "
    std::string field;
    long ticks = 0;
    for (int i = 3; i <= 15 && fields >> field; ++i) {
      if (i == 14 || i == 15) ticks += std::stol(field);  // utime, stime
    }
    return std::chrono::milliseconds(ticks * 1000 / ::sysconf(_SC_CLK_TCK));
  }

 private:
  pid_t pid_ = -1;
  uint16_t port_ = 0;
};

// The share of one core the child used over `wall`.
double cpu_share(const ServerInChild& child, std::chrono::milliseconds wall) {
  const auto before = child.cpu_time();
  std::this_thread::sleep_for(wall);
  const double share =
      static_cast<double>((child.cpu_time() - before).count()) / static_cast<double>(wall.count());
  ::testing::Test::RecordProperty("cpu_share_percent", static_cast<int>(share * 100));
  return share;
}

TEST(ServerDescriptors, ExhaustionByBusyConnectionsDoesNotSpinAndHeals) {
  SLUICE_SKIP_WHEN_SANITIZED_WITHOUT_DESCRIPTORS();
  ServerInChild child(64);
  ASSERT_NE(child.port(), 0);
  // 100 connections whose requests all block: the server runs out of descriptors with none idle,
  // and the connections it cannot accept wait in the listen backlog.
  std::vector<std::unique_ptr<RawClient>> holders;
  for (int i = 0; i < 100; ++i) {
    holders.push_back(std::make_unique<RawClient>(child.port()));
    holders.back()->send("GET /block HTTP/1.1\r\nHost: t\r\n\r\n");
  }
  std::this_thread::sleep_for(300ms);
  EXPECT_LT(cpu_share(child, 1500ms), 0.3) << "the server spins while it cannot accept";
  holders.clear();  // the blocked handlers see their clients gone and return; descriptors come back
  bool served = false;
  for (auto deadline = Clock::now() + 10s; !served && Clock::now() < deadline;) {
    RawClient client(child.port());
    client.send("GET /after HTTP/1.1\r\nHost: t\r\n\r\n");
    served = client.read_until("}\n", 3s).rfind("HTTP/1.1 200", 0) == 0;
  }
  EXPECT_TRUE(served) << "no request served after the descriptors came back";
}

TEST(ServerDescriptors, ExhaustionByIdleConnectionsIsRelievedByClosingTheOldest) {
  SLUICE_SKIP_WHEN_SANITIZED_WITHOUT_DESCRIPTORS();
  ServerInChild child(64);
  ASSERT_NE(child.port(), 0);
  std::vector<std::unique_ptr<RawClient>> holders;
  for (int i = 0; i < 100; ++i) holders.push_back(std::make_unique<RawClient>(child.port()));
  std::this_thread::sleep_for(300ms);
  EXPECT_LT(cpu_share(child, 1500ms), 0.3) << "the server spins while it cannot accept";
  // The holders are still there, but idle: a new client gets served anyway.
  RawClient client(child.port());
  client.send("GET /while-held HTTP/1.1\r\nHost: t\r\n\r\n");
  EXPECT_THAT(client.read_until("}\n", 10s), StartsWith("HTTP/1.1 200"));
  EXPECT_TRUE(holders.front()->closed_by_peer(5s)) << "the oldest idle connection was not closed";
}

}  // namespace
}  // namespace sluice::server
