// Request bodies streamed to a route's handler through a BodyReader: read in pieces with bounded
// memory, chunked or sized, each route with its own limit and deadline, authentication before any of
// the body is read; and whole-body routes keeping the server's limit.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <atomic>
#include <fstream>
#include <future>
#include <nlohmann/json.hpp>
#include <thread>

#include "server/router.h"
#include "tests/server/reply.h"

namespace sluice::server {
namespace {

using namespace std::chrono_literals;
using ::testing::HasSubstr;
using testing::RawClient;
using testing::read_reply;
using testing::Reply;
using Clock = std::chrono::steady_clock;

size_t rss_bytes() {
  std::ifstream status("/proc/self/status");
  for (std::string line; std::getline(status, line);) {
    if (line.rfind("VmRSS:", 0) == 0) return std::stoul(line.substr(6)) * 1024;
  }
  return 0;
}

// The byte at `offset` of an upload: a pattern whose period (4093) is prime to every piece size, so
// that a piece lost, repeated or reordered shows.
char byte_at(uint64_t offset) { return static_cast<char>('a' + (offset / 4093) % 26); }

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

// Reads the whole body through `reader` in pieces of at most `piece` bytes.
std::string read_all(BodyReader& reader, size_t piece) {
  std::string out, buffer(piece, '\0');
  while (const size_t n = reader.read(buffer.data(), buffer.size())) out.append(buffer.data(), n);
  return out;
}

// ---- large bodies in pieces ----

struct UploadSeen {
  uint64_t bytes = 0;
  size_t reads = 0;
  bool every_byte_right = true;
  std::optional<uint64_t> declared;
  size_t max_rss = 0;
};

TEST(RouterStreaming, A64MiBUploadIsReadInPiecesWithBoundedServerMemory) {
  constexpr uint64_t kUpload = 64 << 20;
  UploadSeen seen;
  Router router;
  router.group({.name = "objects", .path_prefix = "/"})
      .route("PUT", "/objects/{key...}",
             [&](const RouteRequest& r) {
               seen.declared = r.body->declared_size();
               std::vector<char> piece(256 << 10);
               while (const size_t n = r.body->read(piece.data(), piece.size())) {
                 for (size_t i = 0; i < n; ++i) seen.every_byte_right &= piece[i] == byte_at(seen.bytes + i);
                 if ((seen.bytes + n) >> 23 != seen.bytes >> 23)
                   seen.max_rss = std::max(seen.max_rss, rss_bytes());
                 seen.bytes += n;
                 ++seen.reads;
               }
               return HttpResponse{200, {}, "stored " + r.param("key") + "\n", {}};
             },
             {.stream_body = true, .max_body_bytes = 128 << 20})
      .route("GET", "/ping", [](const RouteRequest&) {
        return HttpResponse{200, {}, "pong\n", {}};
      });
  HttpServer server({}, std::move(router));  // its own max_body_bytes stays 8 MiB
  server.start();

  RawClient client(server.port());
  const size_t rss_before = rss_bytes();
  std::thread sender([&] {
    client.send("PUT /objects/big.bin HTTP/1.1\r\nHost: t\r\nContent-Length: " + std::to_string(kUpload) +
                "\r\n\r\n");
    std::string piece(1 << 20, '\0');
    for (uint64_t at = 0; at < kUpload; at += piece.size()) {
      for (size_t i = 0; i < piece.size(); ++i) piece[i] = byte_at(at + i);
      if (!client.send(piece)) return;
    }
  });
  std::string pending;
  const Reply reply = read_reply(client, pending, 60s);
  sender.join();
  EXPECT_EQ(reply.status, 200);
  EXPECT_EQ(reply.body, "stored big.bin\n");
  EXPECT_EQ(seen.bytes, kUpload);
  EXPECT_TRUE(seen.every_byte_right);
  EXPECT_EQ(seen.declared, std::optional<uint64_t>(kUpload));
  EXPECT_GT(seen.reads, 64u) << "the body came in pieces of at most 256 KiB";
  EXPECT_LT(seen.max_rss, rss_before + (16 << 20)) << "server memory grew with the body";
  // A body read to its end leaves the connection usable.
  client.send("GET /ping HTTP/1.1\r\nHost: t\r\n\r\n");
  EXPECT_EQ(read_reply(client, pending).body, "pong\n");
}

TEST(RouterStreaming, AChunkedBodyIsDecodedForTheHandler) {
  std::optional<uint64_t> declared = 0;
  Router router;
  router.group({.name = "g", .path_prefix = "/"})
      .route("POST", "/up",
             [&](const RouteRequest& r) {
               declared = r.body->declared_size();
               const std::string body = read_all(*r.body, 7);
               return HttpResponse{200, {}, std::to_string(r.body->bytes_read()) + ":" + body, {}};
             },
             {.stream_body = true});
  HttpServer server({}, std::move(router));
  server.start();
  const std::string middle(5000, 'q');
  const Reply reply = testing::fetch(server.port(),
                                     "POST /up HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n"
                                     "1\r\na\r\n1388\r\n" +
                                         middle + "\r\n3;ext=1\r\nxyz\r\n0\r\n\r\n");
  EXPECT_EQ(reply.status, 200);
  EXPECT_EQ(reply.body, "5004:a" + middle + "xyz");
  EXPECT_EQ(declared, std::nullopt);
}

// ---- limits ----

TEST(RouterStreaming, AChunkedBodyBeyondItsRoutesLimitIs413InTheGroupsShape) {
  Router router;
  router.group({.name = "s3", .path_prefix = "/", .errors = s3_xml_errors()})
      .route("PUT", "/{bucket}/{key...}",
             [](const RouteRequest& r) {
               read_all(*r.body, 100);
               return HttpResponse{200, {}, "", {}};
             },
             {.stream_body = true, .max_body_bytes = 1000});
  HttpServer server({}, std::move(router));
  server.start();
  RawClient client(server.port());
  const std::string chunk(800, 'x');
  client.send("PUT /b/k HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n320\r\n" + chunk +
              "\r\n320\r\n" + chunk + "\r\n0\r\n\r\n");
  std::string pending;
  const Reply reply = read_reply(client, pending);
  EXPECT_EQ(reply.status, 413);
  EXPECT_EQ(reply.header("Content-Type"), "application/xml");
  EXPECT_THAT(reply.body,
              HasSubstr("<Code>EntityTooLarge</Code><Message>request body larger than 1000 bytes</Message>"));
  EXPECT_TRUE(client.closed_by_peer(5s)) << "a body left unread ends the connection";
}

TEST(RouterStreaming, ADeclaredBodyBeyondItsRoutesLimitIsRefusedBeforeTheHandlerRuns) {
  std::atomic<bool> called{false};
  Router router;
  router.group({.name = "s3", .path_prefix = "/", .errors = s3_xml_errors()})
      .route("PUT", "/{bucket}/{key...}",
             [&](const RouteRequest&) {
               called = true;
               return HttpResponse{200, {}, "", {}};
             },
             {.stream_body = true, .max_body_bytes = 1000});
  HttpServer server({}, std::move(router));
  server.start();
  const Reply reply =
      testing::fetch(server.port(), "PUT /b/k HTTP/1.1\r\nHost: t\r\nContent-Length: 1001\r\n\r\n");
  EXPECT_EQ(reply.status, 413);
  EXPECT_THAT(reply.body,
              HasSubstr("<Code>EntityTooLarge</Code><Message>request body larger than 1000 bytes"));
  EXPECT_THAT(reply.body, HasSubstr("<Resource>/b/k</Resource>"));
  EXPECT_FALSE(called.load());
}

TEST(RouterStreaming, ANonStreamedRouteStillRefusesABodyOverMaxBodyBytesWith413) {
  Router router;
  router.group({.name = "native", .path_prefix = "/"})
      .route("POST", "/whole",
             [](const RouteRequest& r) {
               return HttpResponse{200, {}, "whole " + std::to_string(r.http.body.size()), {}};
             })
      .route("PUT", "/stream",
             [](const RouteRequest& r) {
               return HttpResponse{200, {}, "streamed " + std::to_string(read_all(*r.body, 512).size()), {}};
             },
             {.stream_body = true, .max_body_bytes = 1 << 20});
  HttpServerOptions options;
  options.max_body_bytes = 1024;
  HttpServer server(options, std::move(router));
  server.start();
  const std::string body(2048, 'b');
  const auto sized = [&](const std::string& method, const std::string& path, const std::string& content) {
    return testing::fetch(server.port(), method + " " + path + " HTTP/1.1\r\nHost: t\r\nContent-Length: " +
                                             std::to_string(content.size()) + "\r\n\r\n" + content);
  };
  const Reply declared = sized("POST", "/whole", body);
  EXPECT_EQ(declared.status, 413);
  EXPECT_EQ(declared.body, "{\"error\":\"request body larger than 1024 bytes\"}\n");
  const Reply chunked = testing::fetch(
      server.port(), "POST /whole HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n800\r\n" + body +
                         "\r\n0\r\n\r\n");
  EXPECT_EQ(chunked.status, 413);
  EXPECT_EQ(chunked.body, "{\"error\":\"request body larger than 1024 bytes\"}\n");
  EXPECT_EQ(sized("POST", "/whole", body.substr(0, 1024)).body, "whole 1024");
  EXPECT_EQ(sized("PUT", "/stream", body).body, "streamed 2048") << "the streamed route has its own limit";
}

// ---- deadlines ----

TEST(RouterStreaming, ASlowStreamedBodyIsCutAtItsRoutesBodyTimeout) {
  std::promise<int> failed_with;
  Router router;
  router.group({.name = "native", .path_prefix = "/"})
      .route("PUT", "/slow",
             [&](const RouteRequest& r) {
               try {
                 read_all(*r.body, 64);
               } catch (const HttpError& e) {
                 failed_with.set_value(e.status());
                 throw;
               }
               failed_with.set_value(0);
               return HttpResponse{200, {}, "", {}};
             },
             {.stream_body = true, .body_timeout = 400ms});
  HttpServer server({}, std::move(router));  // the server's own body_timeout stays 60 s
  server.start();
  RawClient client(server.port());
  client.send("PUT /slow HTTP/1.1\r\nHost: t\r\nContent-Length: 100\r\n\r\n");
  const auto sent = Clock::now();
  Trickle trickle(client, std::string(100, 'x'));  // 10 s at one byte per 100 ms
  std::string pending;
  const Reply reply = read_reply(client, pending, 10s);
  EXPECT_LT(Clock::now() - sent, 5s);
  EXPECT_EQ(reply.status, 408);
  EXPECT_EQ(reply.body, "{\"error\":\"the request body did not arrive within 400 ms\"}\n");
  auto outcome = failed_with.get_future();
  ASSERT_EQ(outcome.wait_for(5s), std::future_status::ready);
  EXPECT_EQ(outcome.get(), 408);
  EXPECT_TRUE(client.closed_by_peer(5s));
}

TEST(RouterStreaming, TimeTheHandlerSpendsBetweenReadsDoesNotCountAgainstTheBodyTimeout) {
  Router router;
  router.group({.name = "native", .path_prefix = "/"})
      .route("PUT", "/busy",
             [](const RouteRequest& r) {
               std::string body;
               char piece[5];
               while (const size_t n = r.body->read(piece, sizeof(piece))) {
                 body.append(piece, n);
                 std::this_thread::sleep_for(200ms);  // 800 ms in all: twice the body timeout
               }
               return HttpResponse{200, {}, body, {}};
             },
             {.stream_body = true, .body_timeout = 400ms});
  HttpServer server({}, std::move(router));
  server.start();
  const Reply reply = testing::fetch(
      server.port(), "PUT /busy HTTP/1.1\r\nHost: t\r\nContent-Length: 20\r\n\r\n01234567890123456789");
  EXPECT_EQ(reply.status, 200);
  EXPECT_EQ(reply.body, "01234567890123456789");
}

// ---- authentication and the client going away ----

TEST(RouterStreaming, AuthenticationIsCheckedBeforeAnyOfTheBodyIsRead) {
  const std::string token = "0123456789abcdef-token";
  Router router;
  router
      .group({.name = "native",
              .path_prefix = "/",
              .authenticator = std::make_shared<BearerTokenAuthenticator>(token)})
      .route("PUT", "/up",
             [](const RouteRequest& r) {
               return HttpResponse{200, {}, "got " + read_all(*r.body, 4), {}};
             },
             {.stream_body = true});
  HttpServer server({}, std::move(router));
  server.start();
  const std::string head = "PUT /up HTTP/1.1\r\nHost: t\r\nContent-Length: 10\r\nExpect: 100-continue\r\n";
  {
    RawClient anonymous(server.port());
    anonymous.send(head + "\r\n");
    std::string pending;
    const Reply refused = read_reply(anonymous, pending);
    EXPECT_EQ(refused.status, 401) << "no 100 Continue for a request that will be refused";
    EXPECT_THAT(refused.body, HasSubstr("missing or wrong credentials"));
  }
  RawClient client(server.port());
  client.send(head + "Authorization: Bearer " + token + "\r\n\r\n");
  std::string pending;
  EXPECT_EQ(read_reply(client, pending).status, 100);
  client.send("0123456789");
  const Reply reply = read_reply(client, pending);
  EXPECT_EQ(reply.status, 200);
  EXPECT_EQ(reply.body, "got 0123456789");
}

TEST(RouterStreaming, AHandlerThatStopsReadingEarlyEndsTheConnectionAfterItsAnswer) {
  Router router;
  router.group({.name = "native", .path_prefix = "/"})
      .route("PUT", "/peek",
             [](const RouteRequest& r) {
               char first[10];
               const size_t n = r.body->read(first, sizeof(first));
               return HttpResponse{200, {}, std::string(first, n), {}};
             },
             {.stream_body = true, .max_body_bytes = 8 << 20});
  HttpServer server({}, std::move(router));
  server.start();
  RawClient client(server.port());
  std::thread sender([&] {
    client.send("PUT /peek HTTP/1.1\r\nHost: t\r\nContent-Length: " + std::to_string(4 << 20) + "\r\n\r\n");
    client.send(std::string(4 << 20, 'p'));  // fails part-way when the server closes: that is fine
  });
  std::string pending;
  const Reply reply = read_reply(client, pending);
  EXPECT_EQ(reply.status, 200);
  EXPECT_EQ(reply.body.substr(0, 1), "p");
  EXPECT_EQ(reply.header("Connection"), "close");
  EXPECT_TRUE(client.closed_by_peer(5s));
  sender.join();
}

TEST(RouterStreaming, AClientThatLeavesMidBodyMakesReadThrowIncompleteBody) {
  std::promise<std::string> failure;
  Router router;
  router.group({.name = "native", .path_prefix = "/"})
      .route("PUT", "/up",
             [&](const RouteRequest& r) {
               try {
                 read_all(*r.body, 64);
                 failure.set_value("no failure");
               } catch (const HttpError& e) {
                 failure.set_value(std::to_string(e.status()) + " " + e.code() + ": " + e.what() +
                                   (r.http.client_gone->load() ? " (gone)" : ""));
               }
               return HttpResponse{200, {}, "", {}};
             },
             {.stream_body = true});
  HttpServer server({}, std::move(router));
  server.start();
  {
    RawClient client(server.port());
    client.send("PUT /up HTTP/1.1\r\nHost: t\r\nContent-Length: 1000\r\n\r\n" + std::string(100, 'x'));
  }
  auto outcome = failure.get_future();
  ASSERT_EQ(outcome.wait_for(5s), std::future_status::ready);
  EXPECT_EQ(
      outcome.get(),
      "400 IncompleteBody: the client closed the connection after 100 bytes of the request body (gone)");
}

TEST(RouterStreaming, StopWakesAHandlerWaitingForBodyBytes) {
  std::atomic<bool> waiting{false};
  std::promise<std::string> failure;
  Router router;
  router.group({.name = "native", .path_prefix = "/"})
      .route("PUT", "/up",
             [&](const RouteRequest& r) {
               waiting = true;
               try {
                 read_all(*r.body, 64);
                 failure.set_value("no failure");
               } catch (const HttpError& e) {
                 failure.set_value(std::to_string(e.status()) + ": " + e.what());
               }
               return HttpResponse{200, {}, "", {}};
             },
             {.stream_body = true});
  HttpServer server({}, std::move(router));
  server.start();
  RawClient client(server.port());
  client.send("PUT /up HTTP/1.1\r\nHost: t\r\nContent-Length: 1000\r\n\r\nsome");
  for (const auto until = Clock::now() + 5s; !waiting.load() && Clock::now() < until;)
    std::this_thread::sleep_for(2ms);
  ASSERT_TRUE(waiting.load());
  std::this_thread::sleep_for(100ms);  // the handler is now blocked in read()
  const auto start = Clock::now();
  server.stop();
  EXPECT_LT(Clock::now() - start, 5s) << "far below the 60 s body timeout";
  auto outcome = failure.get_future();
  ASSERT_EQ(outcome.wait_for(0s), std::future_status::ready);
  EXPECT_EQ(outcome.get(), "503: the server is stopping");
}

}  // namespace
}  // namespace sluice::server
