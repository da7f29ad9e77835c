// HttpClient: blocking HTTP GET (or POST) over libcurl, one easy handle per client (reused across requests so
// connections are kept alive). Transport failures (DNS, connect, timeouts, oversize responses,
// cancellation) throw TransportError; any HTTP status is a reply, for the caller to judge. A body can
// be collected in the reply or handed, as it arrives, to a sink (a file, for bodies too large to hold).
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/error.h"

namespace sluice::extract {

class TransportError : public Error {
 public:
  TransportError(const std::string& message, bool timed_out, bool cancelled, bool too_large = false)
      : Error(message), timed_out_(timed_out), cancelled_(cancelled), too_large_(too_large) {}
  bool timed_out() const { return timed_out_; }
  bool cancelled() const { return cancelled_; }
  bool too_large() const { return too_large_; }  // the body would pass max_response_bytes

 private:
  bool timed_out_;
  bool cancelled_;
  bool too_large_;
};

struct HttpGet {
  std::string url;
  std::vector<std::pair<std::string, std::string>> headers;
  std::chrono::milliseconds connect_timeout{10'000};
  std::chrono::milliseconds total_timeout{60'000};
  uint64_t max_response_bytes = 256ull << 20;
  const std::atomic<bool>* cancel = nullptr;  // checked during the transfer; aborts within ~100 ms
  std::string basic_user, basic_password;     // HTTP basic auth when user is set
  std::optional<std::string> post_body;       // set: a POST with this body instead of a GET
  // Set: the body goes here chunk by chunk as it arrives, and HttpReply::body stays empty. What it
  // throws aborts the transfer and is rethrown by get().
  std::function<void(std::string_view chunk)> body_sink;
};

struct HttpReply {
  long status = 0;
  std::map<std::string, std::string> headers;  // names lower-cased; the last of repeated headers wins
  std::string body;
  uint64_t body_bytes = 0;  // the body's size, also when it went to HttpGet::body_sink
};

class HttpClient {
 public:
  HttpClient();
  ~HttpClient();
  HttpClient(const HttpClient&) = delete;
  HttpClient& operator=(const HttpClient&) = delete;

  // Performs the request. Throws TransportError for transport failures (too_large() when the body
  // would pass max_response_bytes, cancelled() when request.cancel was set), or what body_sink threw.
  HttpReply get(const HttpGet& request);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// "https://host/path?a=1" + ("b", "x y") -> "https://host/path?a=1&b=x%20y"
std::string append_query(const std::string& url, const std::string& name, const std::string& value);
std::string url_encode(std::string_view text);

}  // namespace sluice::extract
