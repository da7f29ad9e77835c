#include "server/http_server.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <thread>

#include "tests/server/raw_client.h"

namespace sluice::server {
namespace {

using namespace std::chrono_literals;
using ::testing::HasSubstr;
using testing::RawClient;
using ::testing::StartsWith;

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

TEST(ServerHttp, RequestCarriesRawAndDecodedTargetPeerAndClientGone) {
  HttpRequest seen;
  HttpServer server({}, [&](const HttpRequest& r) {
    seen = r;
    return HttpResponse{200, {}, "{}\n", {}};
  });
  server.start();
  RawClient client(server.port());
  client.send("GET /a%2Fb%20c?x=1&y=%41+b&x=2&flag&&=v HTTP/1.1\r\nHost: t\r\n\r\n");
  ASSERT_THAT(client.read_until("{}"), StartsWith("HTTP/1.1 200"));
  EXPECT_EQ(seen.target, "/a%2Fb%20c?x=1&y=%41+b&x=2&flag&&=v");
  EXPECT_EQ(seen.raw_path, "/a%2Fb%20c");
  EXPECT_EQ(seen.raw_query, "x=1&y=%41+b&x=2&flag&&=v");
  EXPECT_EQ(seen.path, "/a/b c");
  const std::vector<std::pair<std::string, std::string>> params{
      {"x", "1"}, {"y", "A b"}, {"x", "2"}, {"flag", ""}, {"", "v"}};
  EXPECT_EQ(seen.query_params, params);
  EXPECT_EQ(seen.query.at("x"), "2");  // the last wins in the map
  EXPECT_THAT(seen.peer, ::testing::MatchesRegex("127\\.0\\.0\\.1:[0-9]+"));
  EXPECT_NE(seen.client_gone, nullptr);
  // Outside the server the flag still exists and is never set.
  EXPECT_FALSE(HttpRequest{}.client_gone->load());
}

TEST(ServerHttp, NoQueryMeansEmptyRawQuery) {
  HttpRequest seen;
  HttpServer server({}, [&](const HttpRequest& r) {
    seen = r;
    return HttpResponse{200, {}, "{}\n", {}};
  });
  server.start();
  RawClient client(server.port());
  client.send("GET /plain HTTP/1.1\r\nHost: t\r\n\r\n");
  ASSERT_THAT(client.read_until("{}"), StartsWith("HTTP/1.1 200"));
  EXPECT_EQ(seen.raw_path, "/plain");
  EXPECT_EQ(seen.raw_query, "");
  EXPECT_TRUE(seen.query_params.empty());
}

TEST(ServerHttp, ExpectContinueIsAnsweredBeforeTheBody) {
  HttpServer server({}, echo);
  server.start();
  RawClient client(server.port());
  client.send("POST /up HTTP/1.1\r\nHost: t\r\nContent-Length: 5\r\nExpect: 100-continue\r\n\r\n");
  EXPECT_THAT(client.read_until("\r\n\r\n"), StartsWith("HTTP/1.1 100 Continue\r\n"));
  client.send("hello");
  EXPECT_THAT(client.read_until("body=hello"), HasSubstr("HTTP/1.1 200"));
}

TEST(ServerHttp, HeadersTooLargeIs431) {
  HttpServerOptions options;
  options.max_header_bytes = 1024;
  HttpServer server(options, echo);
  server.start();
  RawClient client(server.port());
  client.send("GET / HTTP/1.1\r\nHost: t\r\nX-Big: " + std::string(2000, 'a') + "\r\n\r\n");
  auto reply = client.read_until("}");
  EXPECT_THAT(reply, StartsWith("HTTP/1.1 431"));
  EXPECT_THAT(reply, HasSubstr("request headers larger than 1024 bytes"));
}

TEST(ServerUrl, Decode) {
  EXPECT_EQ(url_decode("a%2Fb+c%zz", true), "a/b c%zz");
  EXPECT_EQ(url_decode("a+b", false), "a+b");
  EXPECT_EQ(url_decode("%", true), "%");
}

}  // namespace
}  // namespace sluice::server
