// SigV4Authenticator: the server::Authenticator of every AWS route group. It verifies a request's
// AWS Signature Version 4 (Authorization header or presigned query) against the access keys of the
// pipeline file (server.aws.credentials), and refuses in the terms of the group's protocol family:
//
//   failure                     S3 (REST XML)                      JSON 1.1 (Kinesis, Firehose, ...)
//   no signature at all         403 AccessDenied                   400 MissingAuthenticationTokenException
//   malformed signature         400 AuthorizationHeaderMalformed   400 IncompleteSignatureException
//                               (presigned: 400 AuthorizationQueryParametersError)
//   no x-amz-date               403 AccessDenied                   400 IncompleteSignatureException
//   unknown access key id       403 InvalidAccessKeyId             400 UnrecognizedClientException
//   signature differs           403 SignatureDoesNotMatch          400 InvalidSignatureException
//   clock skew > 15 minutes     403 RequestTimeTooSkewed           400 InvalidSignatureException
//                                                                      ("Signature expired: ...")
//   presigned URL expired       403 AccessDenied "Request has expired"   (same, AccessDeniedException)
//   wrong region / service      400 AuthorizationHeaderMalformed   400 InvalidSignatureException
//   body hash differs (whole)   400 XAmzContentSHA256Mismatch      400 InvalidSignatureException
//
// With no keys configured (allowed on loopback only: see check_keys_for_host) every request is
// accepted, unsigned or signed with any key, as local emulators do; aws-chunked bodies are then still
// decoded (verified_body), their chunk signatures unchecked.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "aws/sigv4/sigv4.h"
#include "server/authenticator.h"

namespace sluice::aws {

// Which protocol family a group speaks: it decides the error codes and statuses (see above), the
// canonical URI flavour (S3's raw path) and whether the payload hash comes from x-amz-content-sha256.
enum class ProtocolFamily { kS3, kJson };

// AWS's default clock skew allowance.
inline constexpr std::chrono::seconds kMaxClockSkew{15 * 60};

// One access key named in the pipeline file: its id and the environment variable holding its secret.
struct AccessKeyReference {
  std::string access_key_id;
  std::string secret_env;
};

struct SigV4Options {
  std::string region = "us-east-1";                     // the credential scope's region must be this
  std::map<std::string, std::string> secrets;           // access key id -> secret access key
  std::chrono::seconds max_clock_skew = kMaxClockSkew;  // x-amz-date vs now
  // Seconds since the epoch now; null: the system clock (tests pin it).
  std::function<int64_t()> now;
};

// Reads each key's secret from its environment variable. Throws sluice::Error naming the key and the
// variable when it is unset or empty, or when an access key id is given twice.
std::map<std::string, std::string> secrets_from_environment(const std::vector<AccessKeyReference>& keys);

// The rule of the daemon's listening address: beyond loopback, AWS routes need keys. Throws
// sluice::Error ("server.host H is not a loopback address: the AWS APIs answer elsewhere only with
// keys; set server.aws.credentials") when `loopback` is false and `keys` is empty.
void check_keys_for_host(const std::string& host, bool loopback, const std::vector<AccessKeyReference>& keys);

// True for the loopback addresses the daemon may listen on without keys: "localhost", "::1",
// 127.0.0.0/8. Never throws.
bool is_loopback_host(const std::string& host) noexcept;

// The options of the pipeline file's server.aws for a daemon listening on `host`: the region, and
// each key's secret read from its environment variable. Throws sluice::Error as
// secrets_from_environment and check_keys_for_host do.
SigV4Options options_for_server(const std::string& host, std::string region,
                                const std::vector<AccessKeyReference>& keys);

// What verified_body needs to check the chunk signatures of an aws-chunked body
// (STREAMING-AWS4-HMAC-SHA256-PAYLOAD[-TRAILER]).
struct StreamingContext {
  std::string content_sha256;      // the request's x-amz-content-sha256 ("" when absent)
  bool verify_signatures = false;  // false without keys: chunk signatures are not checked
  std::string signing_key;         // raw 32 bytes (verify_signatures only)
  std::string seed_signature;      // the request's own signature, which the first chunk's chains from
  std::string amz_date;            // YYYYMMDDTHHMMSSZ
  std::string scope;               // DATE/REGION/SERVICE/aws4_request
};

class SigV4Authenticator final : public server::Authenticator {
 public:
  // An authenticator for a group of `family` whose credential scopes must name `service` ("s3",
  // "kinesis", "firehose", "glue", "athena"). Never throws (but bad_alloc).
  SigV4Authenticator(ProtocolFamily family, std::string service, SigV4Options options);

  // Returns the access key id that signed `request` ("anonymous" for an unsigned request accepted
  // without keys). Throws server::HttpError in the family's terms (see the top of this file) when the
  // signature is missing, malformed, stale or wrong. For a whole body (request.body set, or an S3
  // request with no body) the payload hash is checked here; for a streamed one verified_body checks
  // it as the body arrives.
  std::string authenticate(const server::HttpRequest& request) const override;

  // True for the loopback addresses the daemon may listen on without keys: "localhost", "::1",
  // 127.0.0.0/8. Never throws.
  bool is_loopback_host(const std::string& host) noexcept;

  // The options of the pipeline file's server.aws for a daemon listening on `host`: the region, and
  // each key's secret read from its environment variable. Throws sluice::Error as
  // secrets_from_environment and check_keys_for_host do.
  SigV4Options options_for_server(const std::string& host, std::string region,
                                  const std::vector<AccessKeyReference>& keys);

  // What verified_body needs for `request`, which authenticate() accepted: nullopt when the request is
  // not signed with a header signature (unsigned, presigned). Never throws (but bad_alloc).
  std::optional<StreamingContext> streaming_context(const server::HttpRequest& request) const;

  ProtocolFamily family() const { return family_; }
  // True when keys are configured (signatures are verified).
  bool verifies() const { return !options_.secrets.empty(); }

 private:
  struct Verified {
    sigv4::SignatureClaim claim;
    std::string signing_key;
  };
  Verified verify(const server::HttpRequest& request) const;
  std::optional<sigv4::SignatureClaim> claim_of(const server::HttpRequest& request) const;
  std::string payload_hash(const server::HttpRequest& request, const sigv4::SignatureClaim& claim) const;
  void check_scope(const sigv4::SignatureClaim& claim) const;
  void check_time(const server::HttpRequest& request, const sigv4::SignatureClaim& claim) const;
  int64_t now() const;

  ProtocolFamily family_;
  std::string service_;
  SigV4Options options_;
};

}  // namespace sluice::aws
