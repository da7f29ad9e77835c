// Test helper: a raw loopback TCP client for driving HttpServer byte by byte, like a hostile client
// would (half-sent heads, idle sockets, never reading), with every wait bounded.
#pragma once

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdint>
#include <string>

namespace sluice::server::testing {

// Connects to 127.0.0.1:`port`, binding the client side to `from` (any 127/8 address is loopback on
// Linux, which lets a test play several clients). Returns -1 when the connection fails.
inline int connect_from(uint16_t port, const char* from = "127.0.0.1") {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) return -1;
  sockaddr_in local{};
  local.sin_family = AF_INET;
  ::inet_pton(AF_INET, from, &local.sin_addr);
  sockaddr_in remote{};
  remote.sin_family = AF_INET;
  remote.sin_port = htons(port);
  remote.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::bind(fd, reinterpret_cast<sockaddr*>(&local), sizeof(local)) != 0 ||
      ::connect(fd, reinterpret_cast<sockaddr*>(&remote), sizeof(remote)) != 0) {
    ::close(fd);
    return -1;
  }
  return fd;
}

class RawClient {
 public:
  explicit RawClient(uint16_t port, const char* from = "127.0.0.1") : fd_(connect_from(port, from)) {}
  RawClient(const RawClient&) = delete;
  RawClient& operator=(const RawClient&) = delete;
  ~RawClient() { close(); }

  bool connected() const { return fd_ >= 0; }
  int fd() const { return fd_; }
  void close() {
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
  }

  // Sends all of `data`; false when the peer has closed or reset the connection.
  bool send(const std::string& data) {
    size_t done = 0;
    while (done < data.size()) {
      const ssize_t n = ::send(fd_, data.data() + done, data.size() - done, MSG_NOSIGNAL);
      if (n <= 0) return false;
      done += static_cast<size_t>(n);
    }
    return true;
  }

  // Reads until `until` appears, the peer closes, or `limit` passes; returns what was read.
  std::string read_until(const std::string& until,
                         std::chrono::milliseconds limit = std::chrono::seconds(5)) {
    std::string out;
    const auto deadline = std::chrono::steady_clock::now() + limit;
    while (out.find(until) == std::string::npos) {
      if (!read_some(out, deadline)) break;
    }
    return out;
  }

  // What one read returns (waiting at most `limit`); "" when the peer closed or nothing came.
  std::string read_once(std::chrono::milliseconds limit = std::chrono::seconds(5)) {
    std::string out;
    read_some(out, std::chrono::steady_clock::now() + limit);
    return out;
  }

  // Appends what one read returns (waiting at most `limit`) to `out` without a temporary string;
  // returns how many bytes came (0 when the peer closed or nothing came).
  size_t read_once_into(std::string& out, std::chrono::milliseconds limit = std::chrono::seconds(5)) {
    pollfd p{fd_, POLLIN, 0};
    if (::poll(&p, 1, static_cast<int>(limit.count())) <= 0) return 0;
    const size_t before = out.size();
    out.resize(before + 65536);
    const ssize_t n = ::recv(fd_, out.data() + before, 65536, 0);
    out.resize(before + static_cast<size_t>(std::max<ssize_t>(n, 0)));
    if (n <= 0) closed_ = true;
    return static_cast<size_t>(std::max<ssize_t>(n, 0));
  }

  // Reads until the peer closes (true) or `limit` passes (false); what came is appended to `out`.
  bool read_until_closed(std::string& out, std::chrono::milliseconds limit = std::chrono::seconds(5)) {
    const auto deadline = std::chrono::steady_clock::now() + limit;
    while (read_some(out, deadline)) {
    }
    return closed_;
  }

  // True when the peer has closed (or reset) the connection; waits at most `limit` for it.
  bool closed_by_peer(std::chrono::milliseconds limit = std::chrono::milliseconds(0)) {
    std::string ignored;
    return read_until_closed(ignored, limit);
  }

 private:
  // One read, waiting until `deadline`; false on close, reset or timeout (closed_ tells which).
  bool read_some(std::string& out, std::chrono::steady_clock::time_point deadline) {
    const auto left =
        std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    pollfd p{fd_, POLLIN, 0};
    if (::poll(&p, 1, static_cast<int>(std::max<int64_t>(left.count(), 0))) <= 0) return false;
    char buffer[65536];
    const ssize_t n = ::recv(fd_, buffer, sizeof(buffer), 0);
    if (n <= 0) {
      closed_ = true;
      return false;
    }
    out.append(buffer, static_cast<size_t>(n));
    return true;
  }

  int fd_ = -1;
  bool closed_ = false;
};

}  // namespace sluice::server::testing
