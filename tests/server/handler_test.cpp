// HttpServer and long-running handlers: client_gone, streamed responses, stop() while handlers run.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sys/socket.h>

#include <atomic>
#include <fstream>
#include <future>
#include <thread>

#include "server/http_server.h"
#include "tests/server/raw_client.h"

namespace sluice::server {
namespace {

using namespace std::chrono_literals;
using ::testing::HasSubstr;
using ::testing::Not;
using testing::RawClient;
using ::testing::StartsWith;
using Clock = std::chrono::steady_clock;

// Waits up to `limit` for `flag` to become true.
bool wait_for(const std::atomic<bool>& flag, std::chrono::milliseconds limit) {
  for (const auto deadline = Clock::now() + limit; !flag.load(); std::this_thread::sleep_for(2ms)) {
    if (Clock::now() > deadline) return false;
  }
  return true;
}

// ---- client_gone ----

// A handler that watches client_gone for up to `watch` and says whether it was set.
struct WatchingHandler {
  std::chrono::milliseconds watch;
  std::atomic<bool> entered{false};
  std::promise<bool> saw_gone;

  HttpResponse operator()(const HttpRequest& request) {
    entered = true;
    const auto until = Clock::now() + watch;
    while (!request.client_gone->load() && Clock::now() < until) std::this_thread::sleep_for(2ms);
    const bool gone = request.client_gone->load();
    if (request.path == "/watched") saw_gone.set_value(gone);
    return HttpResponse{200, {}, request.path + std::string(" gone=") + (gone ? "true" : "false") + "\n"};
  }
};

TEST(ServerClientGone, SetWhenTheClientClosesDuringALongHandler) {
  WatchingHandler handler{10s};
  HttpServer server({}, [&](const HttpRequest& r) { return handler(r); });
  server.start();
  auto saw_gone = handler.saw_gone.get_future();
  {
    RawClient client(server.port());
    client.send("GET /watched HTTP/1.1\r\nHost: t\r\n\r\n");
    ASSERT_TRUE(wait_for(handler.entered, 5s));
  }  // closed here, long before the handler would give up
  ASSERT_EQ(saw_gone.wait_for(5s), std::future_status::ready);
  EXPECT_TRUE(saw_gone.get());
}

TEST(ServerClientGone, SetWhenTheClientResetsTheConnection) {
  WatchingHandler handler{10s};
  HttpServer server({}, [&](const HttpRequest& r) { return handler(r); });
  server.start();
  auto saw_gone = handler.saw_gone.get_future();
  RawClient client(server.port());
  client.send("GET /watched HTTP/1.1\r\nHost: t\r\n\r\n");
  ASSERT_TRUE(wait_for(handler.entered, 5s));
  const linger reset{1, 0};  // close() sends RST instead of FIN
  ::setsockopt(client.fd(), SOL_SOCKET, SO_LINGER, &reset, sizeof(reset));
  client.close();
  ASSERT_EQ(saw_gone.wait_for(5s), std::future_status::ready);
  EXPECT_TRUE(saw_gone.get());
}

TEST(ServerClientGone, NotSetForAClientThatWaits) {
  WatchingHandler handler{400ms};
  HttpServer server({}, [&](const HttpRequest& r) { return handler(r); });
  server.start();
  RawClient client(server.port());
  client.send("GET /watched HTTP/1.1\r\nHost: t\r\n\r\n");
  const std::string reply = client.read_until("gone=false\n", 5s);
  EXPECT_THAT(reply, StartsWith("HTTP/1.1 200"));
  EXPECT_THAT(reply, HasSubstr("gone=false"));
}

TEST(ServerClientGone, NotSetForAClientThatPipelinesItsNextRequest) {
  WatchingHandler handler{400ms};
  HttpServer server({}, [&](const HttpRequest& r) { return handler(r); });
  server.start();
  RawClient client(server.port());
  client.send("GET /watched HTTP/1.1\r\nHost: t\r\n\r\nGET /second HTTP/1.1\r\nHost: t\r\n\r\n");
  const std::string replies = client.read_until("/second gone=false\n", 5s);
  EXPECT_THAT(replies, Not(HasSubstr("gone=true")));
  EXPECT_EQ(replies.find("HTTP/1.1 200"), 0u);
  EXPECT_NE(replies.find("HTTP/1.1 200", 1), std::string::npos) << "the pipelined request was not answered";
}

// ---- streamed responses ----

constexpr size_t kPiece = 64 << 10;

char letter_of(size_t offset) { return static_cast<char>('a' + (offset / kPiece) % 26); }

// Produces `total` bytes in 64 KiB pieces; the byte at offset k is letter_of(k).
HttpResponse stream_letters(size_t total) {
  HttpResponse response;
  response.headers["Content-Type"] = "application/octet-stream";
  response.stream = [total](BodyWriter& out) {
    std::string piece(kPiece, ' ');
    for (size_t offset = 0; offset < total; offset += kPiece) {
      piece.assign(std::min(kPiece, total - offset), letter_of(offset));
      if (!out.write(piece)) return;
    }
  };
  return response;
}

size_t rss_bytes() {
  std::ifstream status("/proc/self/status");
  for (std::string line; std::getline(status, line);) {
    if (line.rfind("VmRSS:", 0) == 0) return std::stoul(line.substr(6)) * 1024;
  }
  return 0;
}

// Reads a chunked response from a socket with a bounded buffer, checking each byte of the body
// against letter_of; records the largest RSS seen while reading.
class ChunkedReader {
 public:
  explicit ChunkedReader(RawClient& client) : client_(client) {}

  std::string head() {
    while (buffer_.find("\r\n\r\n") == std::string::npos) {
      if (!fill()) return "";
    }
    const size_t end = buffer_.find("\r\n\r\n") + 4;
    std::string head = buffer_.substr(0, end);
    buffer_.erase(0, end);
    return head;
  }

  // The body's size when it was complete and every byte right; nullopt otherwise.
  std::optional<size_t> body() {
    size_t total = 0;
    while (true) {
      size_t line_end;
      while ((line_end = buffer_.find("\r\n", at_)) == std::string::npos) {
        if (!fill()) return std::nullopt;
      }
      const size_t size = std::stoul(buffer_.substr(at_, line_end - at_), nullptr, 16);
      at_ = line_end + 2;
      while (buffer_.size() - at_ < size + 2) {
        if (!fill()) return std::nullopt;
      }
      for (size_t i = 0; i < size; ++i) {
        if (buffer_[at_ + i] != letter_of(total + i)) return std::nullopt;
      }
      if (buffer_.compare(at_ + size, 2, "\r\n") != 0) return std::nullopt;
      at_ += size + 2;
      if (size == 0) return total;
      total += size;
      if ((total >> 24) != ((total - size) >> 24)) max_rss_ = std::max(max_rss_, rss_bytes());  // every 16 MB
    }
  }
  size_t max_rss() const { return max_rss_; }

 private:
  bool fill() {
    if (at_ > (1 << 20)) {  // keeps the buffer within a few MB
      buffer_.erase(0, at_);
      at_ = 0;
    }
    // Straight into the buffer, whose capacity is reused: memory growth measured here is the server's.
    return client_.read_once_into(buffer_, 5s) > 0;
  }

  RawClient& client_;
  std::string buffer_;
  size_t at_ = 0;
  size_t max_rss_ = 0;
};

TEST(ServerStreaming, TwoHundredMegabytesInChunksWithFlatMemory) {
  constexpr size_t kTotal = 200 << 20;
  HttpServer server({}, [](const HttpRequest&) { return stream_letters(kTotal); });
  server.start();
  const size_t rss_before = rss_bytes();
  RawClient client(server.port());
  client.send("GET /big HTTP/1.1\r\nHost: t\r\n\r\n");
  ChunkedReader reader(client);
  const std::string head = reader.head();
  EXPECT_THAT(head, StartsWith("HTTP/1.1 200"));
  EXPECT_THAT(head, HasSubstr("Transfer-Encoding: chunked\r\n"));
  EXPECT_THAT(head, HasSubstr("Content-Type: application/octet-stream\r\n"));
  EXPECT_EQ(reader.body(), std::optional<size_t>(kTotal));
  EXPECT_LT(reader.max_rss(), rss_before + (64 << 20)) << "memory grew with the response";
  // The connection is still usable for the next request.
  client.send("GET /small HTTP/1.1\r\nHost: t\r\n\r\n");
  EXPECT_THAT(client.read_until("HTTP/1.1 200", 5s), HasSubstr("HTTP/1.1 200"));
}

TEST(ServerStreaming, AClientThatStopsReadingMakesWriteReturnFalse) {
  HttpServerOptions options;
  options.write_timeout = 300ms;
  std::promise<size_t> written;
  HttpServer server(options, [&](const HttpRequest&) {
    HttpResponse response;
    response.stream = [&](BodyWriter& out) {
      const std::string piece(kPiece, 'x');
      size_t pieces = 0;
      while (out.write(piece)) ++pieces;
      EXPECT_FALSE(out.write(piece)) << "write succeeded again after failing";
      written.set_value(pieces);
    };
    return response;
  });
  server.start();
  RawClient client(server.port());
  client.send("GET /never-read HTTP/1.1\r\nHost: t\r\n\r\n");
  auto outcome = written.get_future();
  ASSERT_EQ(outcome.wait_for(10s), std::future_status::ready) << "write() blocked beyond write_timeout";
  EXPECT_GT(outcome.get(), 0u);  // it did write until the socket buffers were full
  EXPECT_TRUE(client.closed_by_peer(10s));
}

TEST(ServerStreaming, AProducerThatThrowsEndsTheConnectionWithoutASecondStatusLine) {
  HttpServer server({}, [](const HttpRequest&) {
    HttpResponse response;
    response.stream = [](BodyWriter& out) {
      out.write("first piece");
      throw std::runtime_error("the producer broke");
    };
    return response;
  });
  server.start();
  RawClient client(server.port());
  client.send("GET /broken HTTP/1.1\r\nHost: t\r\n\r\n");
  std::string reply;
  EXPECT_TRUE(client.read_until_closed(reply, 5s));
  EXPECT_THAT(reply, StartsWith("HTTP/1.1 200"));
  EXPECT_THAT(reply, HasSubstr("b\r\nfirst piece\r\n"));
  EXPECT_EQ(reply.find("HTTP/1.1", 1), std::string::npos);
  EXPECT_THAT(reply, Not(HasSubstr("\r\n0\r\n\r\n"))) << "a failed body must not look complete";
}

TEST(ServerStreaming, Http10BodyEndsWithTheConnection) {
  HttpServer server({}, [](const HttpRequest&) { return stream_letters(3 * kPiece + 5); });
  server.start();
  RawClient client(server.port());
  client.send("GET /old HTTP/1.0\r\n\r\n");
  std::string reply;
  EXPECT_TRUE(client.read_until_closed(reply, 5s));
  const size_t body_at = reply.find("\r\n\r\n") + 4;
  EXPECT_THAT(reply.substr(0, body_at), Not(HasSubstr("chunked")));
  ASSERT_EQ(reply.size() - body_at, 3 * kPiece + 5);
  EXPECT_EQ(reply[body_at], 'a');
  EXPECT_EQ(reply.back(), 'd');
}

// ---- stop() ----

TEST(ServerStop, WaitsForRunningHandlersAndTellsThemTheClientIsGone) {
  std::atomic<bool> entered{false}, returned{false}, saw_gone{false};
  HttpServer server({}, [&](const HttpRequest& request) {
    entered = true;
    std::this_thread::sleep_for(300ms);
    saw_gone = request.client_gone->load();
    returned = true;
    return HttpResponse{};
  });
  server.start();
  RawClient client(server.port());
  client.send("GET /slow HTTP/1.1\r\nHost: t\r\n\r\n");
  ASSERT_TRUE(wait_for(entered, 5s));
  server.stop();
  EXPECT_TRUE(returned.load()) << "stop() returned while a handler was still running";
  EXPECT_TRUE(saw_gone.load());
  EXPECT_TRUE(client.closed_by_peer(5s));
}

TEST(ServerStop, InterruptsAStreamToAClientThatDoesNotRead) {
  std::atomic<bool> writing{false}, finished{false};
  HttpServer server({}, [&](const HttpRequest&) {
    HttpResponse response;
    response.stream = [&](BodyWriter& out) {
      const std::string piece(kPiece, 'x');
      writing = true;
      while (out.write(piece)) {
      }
      finished = true;
    };
    return response;
  });
  server.start();
  RawClient client(server.port());
  client.send("GET /stream HTTP/1.1\r\nHost: t\r\n\r\n");
  ASSERT_TRUE(wait_for(writing, 5s));
  std::this_thread::sleep_for(200ms);  // long enough to fill the socket buffers and block in write()
  const auto start = Clock::now();
  server.stop();
  EXPECT_LT(Clock::now() - start, 5s);  // far below the 30 s write_timeout
  EXPECT_TRUE(finished.load());
}

}  // namespace
}  // namespace sluice::server
