#include "tests/aws/sigv4/test_requests.h"

#include <algorithm>
#include <ctime>

#include "aws/sigv4/sigv4.h"

namespace sluice::aws::testing {
server::HttpRequest make_request(std::string method, const std::string& target,
                                 std::vector<std::pair<std::string, std::string>> headers, std::string body) {
  server::HttpRequest request;
  request.method = std::move(method);
  server::set_target(request, target);
  for (auto& [name, value] : headers) request.headers[name] = std::move(value);
  request.body = std::move(body);
  request.peer = "127.0.0.1:40000";
  return request;
}

int64_t utc(int year, int month, int day, int hour, int minute, int second) {
  std::tm tm{};
  tm.tm_year = year - 1900;
  tm.tm_mon = month - 1;
  tm.tm_mday = day;
  tm.tm_hour = hour;
  tm.tm_min = minute;
  tm.tm_sec = second;
  return static_cast<int64_t>(timegm(&tm));
}

size_t PieceReader::read(char* out, size_t max) {
  const size_t n = std::min({max, piece_, data_.size() - at_});
  std::copy_n(data_.data() + at_, n, out);
  at_ += n;
  return n;
}

namespace examples {

SigV4Authenticator authenticator(ProtocolFamily family, std::string service, std::string key_id,
                                 std::string secret, int64_t now) {
  SigV4Options options;
  options.secrets[std::move(key_id)] = std::move(secret);
  options.now = [now] { return now; };
  return SigV4Authenticator(family, std::move(service), std::move(options));
}

server::HttpRequest iam_list_users() {
  return make_request("GET", "/?Action=ListUsers&Version=2010-05-08",
                      {{"Host", "iam.amazonaws.com"},
                       {"Content-Type", "application/x-www-form-urlencoded; charset=utf-8"},
                       {"X-Amz-Date", "20150830T123600Z"},
                       {"Authorization",
                        "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/iam/aws4_request, "
                        "SignedHeaders=content-type;host;x-amz-date, "
                        "Signature=5d672d79c15b13162d9279b0855cfba6789a8edb4c82c400e06b5924a6f2b5d7"}});
}

server::HttpRequest s3_get_object_with_range() {
  return make_request("GET", "/test.txt",
                      {{"Host", "examplebucket.s3.amazonaws.com"},
                       {"Range", "bytes=0-9"},
                       {"x-amz-content-sha256", std::string(sigv4::kEmptyPayloadHash)},
                       {"x-amz-date", "20130524T000000Z"},
                       {"Authorization",
                        "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request,"
                        "SignedHeaders=host;range;x-amz-content-sha256;x-amz-date,"
                        "Signature=f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41"}});
}

server::HttpRequest s3_put_object() {
  return make_request(
      "PUT", "/test%24file.text",
      {{"Host", "examplebucket.s3.amazonaws.com"},
       {"Date", "Fri, 24 May 2013 00:00:00 GMT"},
       {"x-amz-date", "20130524T000000Z"},
       {"x-amz-storage-class", "REDUCED_REDUNDANCY"},
       {"x-amz-content-sha256", "44ce7dd67c959e0d3524ffac1771dfbba87d2b6b4b4e99e42034a8b803f8b072"},
       {"Authorization",
        "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request,"
        "SignedHeaders=date;host;x-amz-content-sha256;x-amz-date;x-amz-storage-class,"
        "Signature=98ad721746da40c64f1a55b78f14c238d841ea1380cd77a1b5971af0ece108bd"}},
      "Welcome to Amazon S3.");
}

server::HttpRequest s3_presigned_get(const std::string& extra_query) {
  return make_request(
      "GET",
      "/test.txt?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKIAIOSFODNN7EXAMPLE%2F20130524%2F"
      "us-east-1%2Fs3%2Faws4_request&X-Amz-Date=20130524T000000Z&X-Amz-Expires=86400&"
      "X-Amz-SignedHeaders=host&"
      "X-Amz-Signature=aeeed9bbccd4d02ee5c0109b86d86835f995330da4c265957d157751f604d404" +
          extra_query,
      {{"Host", "examplebucket.s3.amazonaws.com"}});
}

}  // namespace examples
}  // namespace sluice::aws::testing
