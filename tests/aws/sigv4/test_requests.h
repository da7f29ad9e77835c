// Requests for the SigV4 tests, built as the HTTP server would hand them to an authenticator.
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "aws/sigv4/sigv4_authenticator.h"
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

// AWS's documented SigV4 examples, shared by the vector and authenticator tests.
namespace examples {

inline constexpr const char* kIamSecret = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY";
inline constexpr const char* kS3Secret = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY";
inline constexpr const char* kS3KeyId = "AKIAIOSFODNN7EXAMPLE";

// An authenticator of `family` for `service` knowing one key, whose clock says `now` (epoch seconds).
SigV4Authenticator authenticator(ProtocolFamily family, std::string service, std::string key_id,
                                 std::string secret, int64_t now);

// IAM's "Create a signed request" walk-through: ListUsers signed for iam on 20150830T123600Z.
server::HttpRequest iam_list_users();
// S3's "Signature Calculations for the Authorization Header" examples (examplebucket, 20130524):
// GET /test.txt with Range, PUT /test$file.text, and the presigned GET valid for a day (with
// `extra_query` appended to its query string, to tamper with it).
server::HttpRequest s3_get_object_with_range();
server::HttpRequest s3_put_object();
server::HttpRequest s3_presigned_get(const std::string& extra_query = "");

}  // namespace examples
}  // namespace sluice::aws::testing
