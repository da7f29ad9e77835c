// S3Client: one signed HTTP exchange with an S3 endpoint (any S3-compatible store: AWS S3, MinIO, Ceph,
// R2, sluice's own S3 API), for the S3 back-end of the ObjectStore (s3_object_store.h).
//
// - Signing: SigV4 through the canonical request of src/aws/sigv4 (the code that verifies the
//   daemon's own AWS APIs), so that one canonicalisation serves both sides. Every header the client
//   sends is signed, x-amz-content-sha256 (the SHA-256 of the body) among them, as S3 requires.
// - Retries: connection failures, 5xx, 429 and the throttling / timeout error codes (SlowDown,
//   Throttling, RequestTimeout, ...) are tried again up to max_attempts times, after an exponential
//   delay with full jitter; every other 4xx is answered at once. Requests are idempotent as sent
//   (PUT of a whole object or part, GET, HEAD, DELETE, the multipart calls), so a retry is safe.
// - Connections are kept in a small pool of libcurl handles and reused. Thread-safe.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "server/http_server.h"

namespace sluice::storage {

// Where an S3 endpoint is and how to talk to it.
struct S3ClientConfig {
  std::string endpoint;  // "http://127.0.0.1:9000"; empty: https://s3.REGION.amazonaws.com
  std::string region = "us-east-1";
  bool path_style = true;     // /BUCKET/KEY; false: BUCKET.HOST/KEY (virtual-hosted)
  std::string access_key_id;  // empty: requests go unsigned (a public or open endpoint)
  std::string secret_access_key;
  std::string session_token;                        // temporary credentials: sent as x-amz-security-token
  int max_attempts = 5;                             // tries of one request, the first included
  std::chrono::milliseconds retry_base_delay{100};  // doubled per retry, capped by retry_max_delay
  std::chrono::milliseconds retry_max_delay{5000};
  std::chrono::milliseconds connect_timeout{10'000};
  std::chrono::milliseconds request_timeout{300'000};  // one exchange, the body included
};

// Fills the empty credentials of `config` from the standard AWS environment variables
// (AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN), else from the profile AWS_PROFILE
// (default "default") of the shared credentials file (AWS_SHARED_CREDENTIALS_FILE, default
// ~/.aws/credentials). Leaves them empty when none is found. Throws Error when the credentials file
// exists but cannot be read.
void load_default_credentials(S3ClientConfig& config);

struct S3Request {
  std::string method = "GET";
  std::string bucket;                                        // "": the service (ListBuckets)
  std::string key;                                           // "": the bucket itself
  std::vector<std::pair<std::string, std::string>> query;    // decoded names and values
  std::vector<std::pair<std::string, std::string>> headers;  // besides those the client adds
  std::string_view body;                                     // sent as it is (kept until send returns)
};

struct S3Response {
  long status = 0;
  server::Headers headers;  // names case-insensitive
  std::string body;         // none for HEAD
  std::string header(const std::string& name) const;
};

class S3Client {
 public:
  // Throws Error when the endpoint is not an http:// or https:// URL.
  explicit S3Client(S3ClientConfig config);
  ~S3Client();
  S3Client(const S3Client&) = delete;
  S3Client& operator=(const S3Client&) = delete;

  // Sends `request` and returns the answer: a 2xx, or an error S3 gave that is not worth retrying
  // (a 4xx: the caller maps it). Retries as the top of this file says. Throws SystemError when the
  // endpoint still fails (unreachable, 5xx, throttled) after max_attempts, naming the request
  // (`what`, e.g. "PUT s3://raw/a.json") and the last failure.
  S3Response send(const S3Request& request, std::string_view what) const;

  // The URL a request goes to (for messages and tests). Never throws (but bad_alloc).
  std::string url_of(const S3Request& request) const;

  const S3ClientConfig& config() const { return config_; }

  // True for an answer that a later try may change: 5xx, 429, and S3's throttling and timeout codes
  // (SlowDown, Throttling, ThrottlingException, RequestThrottled, RequestLimitExceeded,
  // TooManyRequestsException, RequestTimeout, InternalError, ServiceUnavailable). Never throws.
  static bool retryable(long status, std::string_view code) noexcept;

 private:
  struct Attempt;     // one exchange's outcome (s3_client.cpp)
  struct HandlePool;  // reusable libcurl handles (s3_client.cpp)
  Attempt attempt(const S3Request& request) const;
  std::vector<std::pair<std::string, std::string>> signed_headers(const S3Request& request,
                                                                  const std::string& host,
                                                                  const std::string& raw_path,
                                                                  const std::string& raw_query) const;

  S3ClientConfig config_;
  std::string scheme_;     // "http" or "https"
  std::string host_;       // host[:port] of the endpoint
  std::string base_path_;  // the endpoint's own path, without a trailing '/' ("" mostly)
  std::unique_ptr<HandlePool> handles_;
};

}  // namespace sluice::storage
