// Requests for the SigV4 tests, built as the HTTP server would hand them to an authenticator.
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "server/http_server.h"

namespace sluice::aws::testing {

// `target` is the path and query as sent ("/a%20b?x=1"): raw_path, raw_query, the decoded path and
// query are filled from it, as the server does.
server::HttpRequest make_request(std::string method, const std::string& target,
                                 std::vector<std::pair<std::string, std::string>> headers,
                                 std::string body = "");

// Seconds since the epoch of a UTC time.
int64_t utc(int year, int month, int day, int hour = 0, int minute = 0, int second = 0);

// A body handed out at most `piece` bytes per read, as a slow client's would be.
class PieceReader final : public server::BodyReader {
 public:
  PieceReader(std::string data, size_t piece) : data_(std::move(data)), piece_(piece) {}
  size_t read(char* out, size_t max) override;
  std::optional<uint64_t> declared_size() const override { return data_.size(); }
  uint64_t bytes_read() const override { return at_; }

 private:
  std::string data_;
  size_t piece_;
  size_t at_ = 0;
};

}  // namespace sluice::aws::testing
