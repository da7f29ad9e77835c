#include "server/http_server.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <thread>

namespace sluice::server {
namespace {

using namespace std::chrono_literals;
using ::testing::HasSubstr;
using ::testing::StartsWith;

// A raw loopback client: sends bytes, reads what comes back until the peer closes or `until` appears.
class RawClient {
 public:
  explicit RawClient(uint16_t port) {
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(port);
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (::connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) ADD_FAILURE() << "connect";
    timeval tv{5, 0};
    ::setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
  }
  ~RawClient() { ::close(fd_); }
  void send(const std::string& data) {
    ASSERT_EQ(::write(fd_, data.data(), data.size()), static_cast<ssize_t>(data.size()));
  }
  std::string read_until(const std::string& until) {
    std::string out;
    char buffer[4096];
    while (out.find(until) == std::string::npos) {
      ssize_t n = ::read(fd_, buffer, sizeof(buffer));
      if (n <= 0) break;
      out.append(buffer, static_cast<size_t>(n));
    }
    return out;
  }

 private:
  int fd_ = -1;
};

HttpResponse echo(const HttpRequest& r) {
  HttpResponse response;
  response.headers["Content-Type"] = "text/plain";
  response.body = r.method + " " + r.path + " q=" + (r.query.count("q") ? r.query.at("q") : "-") +
                  " h=" + (r.headers.count("x-test") ? r.headers.at("X-Test") : "-") + " body=" + r.body;
  return response;
}

TEST(ServerHttp, RoundTripAndKeepAlive) {
  HttpServer server({}, echo);
  server.start();
  ASSERT_GT(server.port(), 0);
  RawClient client(server.port());
  client.send("GET /a%20b?q=x+y%26z HTTP/1.1\r\nHost: t\r\nX-Test: yes\r\n\r\n");
  auto first = client.read_until("h=yes body=");
  EXPECT_THAT(first, StartsWith("HTTP/1.1 200 OK"));
  EXPECT_THAT(first, HasSubstr("GET /a b q=x y&z h=yes body="));
  // The same connection serves a second request.
  client.send("POST /p HTTP/1.1\r\nHost: t\r\nContent-Length: 5\r\n\r\nhello");
  EXPECT_THAT(client.read_until("body=hello"), HasSubstr("POST /p q=- h=- body=hello"));
}

TEST(ServerHttp, BodyTooLargeIs413) {
  HttpServerOptions options;
  options.max_body_bytes = 10;
  HttpServer server(options, echo);
  server.start();
  RawClient client(server.port());
  client.send("POST /p HTTP/1.1\r\nHost: t\r\nContent-Length: 11\r\n\r\nhello world");
  auto reply = client.read_until("}");
  EXPECT_THAT(reply, StartsWith("HTTP/1.1 413"));
  EXPECT_THAT(reply, HasSubstr("larger than 10 bytes"));
}

TEST(ServerHttp, MalformedRequestIs400) {
  HttpServer server({}, echo);
  server.start();
  RawClient client(server.port());
  client.send("THIS IS NOT HTTP\r\n\r\n");
  EXPECT_THAT(client.read_until("}"), StartsWith("HTTP/1.1 400"));
  // The server is still alive for others.
  RawClient other(server.port());
  other.send("GET /ok HTTP/1.1\r\nHost: t\r\n\r\n");
  EXPECT_THAT(other.read_until("body="), StartsWith("HTTP/1.1 200"));
}

TEST(ServerHttp, HandlerExceptionIs500) {
  HttpServer server({}, [](const HttpRequest&) -> HttpResponse { throw std::runtime_error("kaboom"); });
  server.start();
  RawClient client(server.port());
  client.send("GET / HTTP/1.1\r\nHost: t\r\n\r\n");
  auto reply = client.read_until("}");
  EXPECT_THAT(reply, StartsWith("HTTP/1.1 500"));
  EXPECT_THAT(reply, HasSubstr("{\"error\":\"internal error: kaboom\"}"));
}

TEST(ServerHttp, StopWithAnIdleClientConnectedIsPrompt) {
  HttpServer server({}, echo);
  server.start();
  RawClient client(server.port());
  client.send("GET / HTTP/1.1\r\nHost: t\r\n\r\n");
  client.read_until("body=");
  const auto start = std::chrono::steady_clock::now();
  server.stop();
  EXPECT_LT(std::chrono::steady_clock::now() - start, 2s);
  server.stop();  // idempotent
}

TEST(ServerHttp, PortInUseIsAClearError) {
  HttpServer first({}, echo);
  first.start();
  HttpServerOptions options;
  options.port = first.port();
  HttpServer second(options, echo);
  try {
    second.start();
    FAIL();
  } catch (const std::exception& e) {
    EXPECT_THAT(std::string(e.what()),
                HasSubstr("cannot listen on 127.0.0.1:" + std::to_string(first.port())));
  }
}

TEST(ServerUrl, Decode) {
  EXPECT_EQ(url_decode("a%2Fb+c%zz", true), "a/b c%zz");
  EXPECT_EQ(url_decode("a+b", false), "a+b");
  EXPECT_EQ(url_decode("%", true), "%");
}

}  // namespace
}  // namespace sluice::server
