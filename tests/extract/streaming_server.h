// Test helper: a loopback HTTP server whose responses are written by a handler piece by piece, for
// bodies too large to hold in memory and for bodies that stall half-way. One connection at a time;
// each response is "200 OK" with Connection: close and no Content-Length (the body ends when the
// connection does).
#pragma once

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <functional>
#include <string>
#include <string_view>
#include <thread>

namespace sluice::testing_util {

class StreamingServer {
 public:
  // Sends a piece of the body; false once the client has gone (or the server is stopping).
  using Send = std::function<bool(std::string_view piece)>;
  // Writes the body of a request for `target` (path and query) through `send`.
  using Handler = std::function<void(const std::string& target, const Send& send)>;

  explicit StreamingServer(Handler handler) : handler_(std::move(handler)) {
    listener_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t length = sizeof address;
    if (listener_ < 0 || ::bind(listener_, reinterpret_cast<sockaddr*>(&address), sizeof address) != 0 ||
        ::listen(listener_, 8) != 0 ||
        ::getsockname(listener_, reinterpret_cast<sockaddr*>(&address), &length) != 0) {
      std::abort();
    }
    port_ = ntohs(address.sin_port);
    thread_ = std::thread([this] { serve(); });
  }
  StreamingServer(const StreamingServer&) = delete;
  StreamingServer& operator=(const StreamingServer&) = delete;
  ~StreamingServer() {
    stopping_ = true;
    thread_.join();
    ::close(listener_);
  }

  int port() const { return port_; }
  std::string url(const std::string& target) const {
    return "http://127.0.0.1:" + std::to_string(port_) + target;
  }
  // True once the server is being destroyed: a handler that waits should give up.
  bool stopping() const { return stopping_; }

 private:
  void serve() {
    while (!stopping_) {
      pollfd p{listener_, POLLIN, 0};
      if (::poll(&p, 1, 20) <= 0) continue;
      const int client = ::accept4(listener_, nullptr, nullptr, SOCK_CLOEXEC);
      if (client < 0) continue;
      answer(client);
      ::close(client);
    }
  }

  void answer(int client) {
    std::string request;
    char buffer[4096];
    while (request.find("\r\n\r\n") == std::string::npos) {
      const ssize_t n = ::recv(client, buffer, sizeof buffer, 0);
      if (n <= 0) return;
      request.append(buffer, static_cast<size_t>(n));
    }
    const auto first_space = request.find(' ');
    const auto second_space = request.find(' ', first_space + 1);
    const std::string target = request.substr(first_space + 1, second_space - first_space - 1);
    Send send = [this, client](std::string_view piece) {
      while (!piece.empty()) {
        if (stopping_) return false;
        const ssize_t n = ::send(client, piece.data(), piece.size(), MSG_NOSIGNAL);
        if (n <= 0) return false;
        piece.remove_prefix(static_cast<size_t>(n));
      }
      return true;
    };
    if (send("HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nConnection: close\r\n\r\n")) {
      handler_(target, send);
    }
  }

  Handler handler_;
  int listener_ = -1;
  int port_ = 0;
  std::atomic<bool> stopping_{false};
  std::thread thread_;
};

}  // namespace sluice::testing_util
