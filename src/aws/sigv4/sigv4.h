// AWS Signature Version 4 (AWS4-HMAC-SHA256): one canonicalisation of a request, as AWS's signing
// documentation defines it and botocore implements it, and the parsers of the two ways a client
// carries a signature — the Authorization header and presigned query parameters.
//
//   canonical request = METHOD \n canonical URI \n canonical query \n canonical headers \n
//                       signed headers \n payload hash
//   string to sign    = AWS4-HMAC-SHA256 \n AMZ-DATE \n SCOPE \n hex(sha256(canonical request))
//   signing key       = HMAC(HMAC(HMAC(HMAC("AWS4" + secret, DATE), REGION), SERVICE), "aws4_request")
//   signature         = hex(HMAC(signing key, string to sign))
//
// The canonical URI is built from the path exactly as received (HttpRequest::raw_path): S3 signs it
// as sent (no dot-segment removal, no second encoding); every other service removes dot segments and
// URI-encodes the already encoded path once more ('%' becomes "%25").
#pragma once

#include <cstdint>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "server/http_server.h"

namespace sluice::aws {

// True when `head` carries a SigV4 credential scope (in its Authorization header, or in its
// X-Amz-Credential query parameter) whose service is `service` ("s3"). Nothing is verified: this is
// the router's `claims` predicate of S3's path-style group. For "s3" it also claims Signature Version
// 2 requests ("Authorization: AWS AKID:SIG", or AWSAccessKeyId and Signature in the query), which name
// no service and which S3's authenticator then answers. Quick; never throws.
bool signed_for_service(const server::HttpRequest& head, std::string_view service) noexcept;

namespace sigv4 {

inline constexpr std::string_view kAlgorithm = "AWS4-HMAC-SHA256";
inline constexpr std::string_view kUnsignedPayload = "UNSIGNED-PAYLOAD";
inline constexpr std::string_view kStreamingSignedPayload = "STREAMING-AWS4-HMAC-SHA256-PAYLOAD";
inline constexpr std::string_view kStreamingSignedPayloadTrailer =
    "STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER";
inline constexpr std::string_view kStreamingUnsignedPayloadTrailer = "STREAMING-UNSIGNED-PAYLOAD-TRAILER";
inline constexpr std::string_view kChunkAlgorithm = "AWS4-HMAC-SHA256-PAYLOAD";
inline constexpr std::string_view kTrailerAlgorithm = "AWS4-HMAC-SHA256-TRAILER";
// The longest a presigned URL may live (X-Amz-Expires), as S3 allows: seven days.
inline constexpr int64_t kMaxPresignedExpirySeconds = 604800;
// Hex SHA-256 of the empty string.
inline constexpr std::string_view kEmptyPayloadHash =
    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

// A signature's form is broken (a missing or malformed component); what() says which, in one line.
class MalformedSignature : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// AKID/DATE/REGION/SERVICE/aws4_request.
struct CredentialScope {
  std::string access_key_id;
  std::string date;  // YYYYMMDD
  std::string region;
  std::string service;
  // "DATE/REGION/SERVICE/aws4_request", what the string to sign names.
  std::string scope() const;
};

// What a request says about its own signature, from either carrier.
struct SignatureClaim {
  CredentialScope credential;
  std::vector<std::string> signed_headers;  // lower-case, in the order given
  std::string signed_headers_text;          // as given ("host;x-amz-date")
  std::string signature;                    // 64 lower-case hex digits
  std::string amz_date;                     // YYYYMMDDTHHMMSSZ; "" when the carrier names none
  bool presigned = false;                   // from the query string
  int64_t expires_seconds = 0;              // presigned only: X-Amz-Expires
};

// Parses "AKID/DATE/REGION/SERVICE/aws4_request". Throws MalformedSignature saying what is wrong.
CredentialScope parse_credential(std::string_view text);

// Parses an Authorization header value "AWS4-HMAC-SHA256 Credential=..., SignedHeaders=...,
// Signature=..." (components in any order, spaces after commas optional). amz_date is left empty.
// Throws MalformedSignature when the algorithm is not AWS4-HMAC-SHA256 or a component is missing,
// repeated or malformed.
SignatureClaim parse_authorization(std::string_view value);

// Parses the presigned query parameters (X-Amz-Algorithm, X-Amz-Credential, X-Amz-Date,
// X-Amz-Expires, X-Amz-SignedHeaders, X-Amz-Signature) of `request`; nullopt when it has no
// X-Amz-Signature nor X-Amz-Credential (not presigned). Throws MalformedSignature when one is missing
// or malformed, or X-Amz-Expires is not 1..604800.
std::optional<SignatureClaim> parse_presigned(const server::HttpRequest& request);

// The SigV4 URI encoding of `bytes`: unreserved characters (A-Z a-z 0-9 - _ . ~) as they are, '/'
// as it is when `keep_slash`, every other byte as %XY (upper-case hex). Never throws (but bad_alloc).
std::string uri_encode(std::string_view bytes, bool keep_slash);

// The canonical URI of a path as received (`raw_path`, still percent-encoded): for S3 (`s3` true) the
// path itself ("/" when empty); for other services the path with dot segments removed and encoded
// once more. Never throws (but bad_alloc).
std::string canonical_uri(std::string_view raw_path, bool s3);

// The canonical query string of a raw query ("a=1&b=%20x&a=0"): every parameter, repeats kept,
// decoded then encoded with uri_encode, sorted by key then value, "k=v" joined by '&'. A parameter
// without '=' has an empty value. X-Amz-Signature is left out when `presigned`. Never throws.
std::string canonical_query(std::string_view raw_query, bool presigned);

// The canonical headers block: for each of `signed_headers` (lower-case, sorted as given), "name:" and
// the value with surrounding spaces trimmed and inner runs of spaces collapsed, then '\n'. Throws
// MalformedSignature naming the first signed header the request lacks.
std::string canonical_headers(const server::Headers& headers, const std::vector<std::string>& signed_headers);

// The canonical request (see the top of this file) of `request` for `claim` and `payload_hash`, and
// the S3 flavour of URI canonicalisation when `s3`. Throws MalformedSignature when a signed header is
// missing.
std::string canonical_request(const server::HttpRequest& request, const SignatureClaim& claim,
                              std::string_view payload_hash, bool s3);

// "AWS4-HMAC-SHA256\nAMZ_DATE\nSCOPE\nhex(sha256(canonical_request))". Never throws.
std::string string_to_sign(std::string_view amz_date, std::string_view scope,
                           std::string_view canonical_request);

// The signing key (32 raw bytes) of `secret` for one day, region and service. Never throws.
std::string signing_key(std::string_view secret, std::string_view date, std::string_view region,
                        std::string_view service);

// Raw HMAC-SHA256 of `data` under `key`. Never throws (but bad_alloc).
std::string hmac_sha256(std::string_view key, std::string_view data);
// Raw SHA-256 of `data`. Never throws (but bad_alloc).
std::string sha256(std::string_view data);
// Lower-case hex of `bytes`. Never throws (but bad_alloc).
std::string hex(std::string_view bytes);
// hex(sha256(data)).
std::string sha256_hex(std::string_view data);
// hex(hmac_sha256(signing_key, string_to_sign)): the signature.
std::string signature(std::string_view signing_key, std::string_view string_to_sign);

// True when `text` is 64 hex digits (a SHA-256 or a signature). Never throws.
bool is_sha256_hex(std::string_view text) noexcept;
// Equal in time independent of where they differ (CRYPTO_memcmp); false on different lengths.
bool constant_time_equal(std::string_view a, std::string_view b) noexcept;

// Seconds since the epoch of an ISO 8601 basic time "YYYYMMDDTHHMMSSZ"; nullopt when malformed.
std::optional<int64_t> parse_amz_date(std::string_view text) noexcept;

}  // namespace sigv4
}  // namespace sluice::aws
