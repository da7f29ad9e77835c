// Test helper: reads one HTTP/1.1 response (Content-Length framed) from a RawClient and splits it
// into status, headers and body, with every wait bounded.
#pragma once

#include <strings.h>

#include <chrono>
#include <map>
#include <string>

#include "server/http_server.h"
#include "tests/server/raw_client.h"

namespace sluice::server::testing {

struct Reply {
  int status = 0;  // 0: no complete response came
  std::map<std::string, std::string, CaseInsensitiveLess> headers;
  std::string body;
  std::string raw;  // everything read, the head included

  std::string header(const std::string& name) const {
    const auto it = headers.find(name);
    return it == headers.end() ? "" : it->second;
  }
};

// Reads the next response on `client`: its head, then Content-Length bytes of body (or until the
// peer closes when there is no Content-Length), waiting at most `limit` in all. Bytes beyond it stay
// in `pending` for the next call (a 100 Continue is returned as a response of its own).
inline Reply read_reply(RawClient& client, std::string& pending,
                        std::chrono::milliseconds limit = std::chrono::seconds(10)) {
  const auto deadline = std::chrono::steady_clock::now() + limit;
  const auto left = [&] {
    return std::max(std::chrono::milliseconds(1), std::chrono::duration_cast<std::chrono::milliseconds>(
                                                      deadline - std::chrono::steady_clock::now()));
  };
  Reply reply;
  size_t head_end;
  while ((head_end = pending.find("\r\n\r\n")) == std::string::npos) {
    if (std::chrono::steady_clock::now() >= deadline || client.read_once_into(pending, left()) == 0)
      return reply;
  }
  const std::string head = pending.substr(0, head_end);
  pending.erase(0, head_end + 4);
  reply.raw = head + "\r\n\r\n";
  reply.status = std::stoi(head.substr(9, 3));
  for (size_t at = head.find("\r\n"); at != std::string::npos && at < head.size();) {
    const size_t next = head.find("\r\n", at + 2);
    const std::string line =
        head.substr(at + 2, next == std::string::npos ? std::string::npos : next - at - 2);
    const size_t colon = line.find(':');
    if (colon != std::string::npos)
      reply.headers[line.substr(0, colon)] = line.substr(line.find_first_not_of(' ', colon + 1));
    at = next;
  }
  if (reply.status / 100 == 1) return reply;
  const bool sized = reply.headers.count("Content-Length") > 0;
  const size_t length = sized ? std::stoul(reply.headers.at("Content-Length")) : std::string::npos;
  while (pending.size() < length) {
    if (std::chrono::steady_clock::now() >= deadline || client.read_once_into(pending, left()) == 0) break;
  }
  if (sized && pending.size() < length) {
    reply.status = 0;  // incomplete
    return reply;
  }
  reply.body = pending.substr(0, length);
  pending.erase(0, std::min(length, pending.size()));
  reply.raw += reply.body;
  return reply;
}

// Sends `request` on a new connection to `port` and reads the response.
inline Reply fetch(uint16_t port, const std::string& request) {
  RawClient client(port);
  client.send(request);
  std::string pending;
  return read_reply(client, pending);
}

}  // namespace sluice::server::testing
