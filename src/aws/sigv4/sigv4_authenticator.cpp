#include "aws/sigv4/sigv4_authenticator.h"

#include <arpa/inet.h>

#include <algorithm>
#include <cctype>
#include <cstdio>
#include <cstdlib>
#include <utility>

#include "common/error.h"

namespace sluice::aws {
namespace {

using server::HttpError;
using sigv4::MalformedSignature;
using sigv4::SignatureClaim;

// What went wrong, independent of the protocol family's words for it.
enum class Failure {
  kMissing,          // neither an Authorization header nor presigned parameters
  kMalformed,        // the signature's form (header or query)
  kNoDate,           // no X-Amz-Date
  kScope,            // wrong region, service or date in the credential scope
  kUnknownKey,       // access key id not configured
  kMismatch,         // the signature differs
  kSkew,             // X-Amz-Date too far from now
  kExpired,          // presigned URL past X-Amz-Expires
  kPayloadMismatch,  // x-amz-content-sha256 differs from the body
  kPayloadHeader,    // x-amz-content-sha256 missing (S3) or not a valid value
};

struct Refusal {
  int status;
  const char* code;
};

Refusal s3_refusal(Failure failure, bool presigned) {
  switch (failure) {
    case Failure::kMissing:
      return {403, "AccessDenied"};
    case Failure::kMalformed:
    case Failure::kScope:
      return presigned ? Refusal{400, "AuthorizationQueryParametersError"}
                       : Refusal{400, "AuthorizationHeaderMalformed"};
    case Failure::kNoDate:
      return {403, "AccessDenied"};
    case Failure::kUnknownKey:
      return {403, "InvalidAccessKeyId"};
    case Failure::kMismatch:
      return {403, "SignatureDoesNotMatch"};
    case Failure::kSkew:
      return {403, "RequestTimeTooSkewed"};
    case Failure::kExpired:
      return {403, "AccessDenied"};
    case Failure::kPayloadMismatch:
      return {400, "XAmzContentSHA256Mismatch"};
    case Failure::kPayloadHeader:
      return {400, "InvalidRequest"};
  }
  return {403, "AccessDenied"};
}

Refusal json_refusal(Failure failure) {
  switch (failure) {
    case Failure::kMissing:
      return {400, "MissingAuthenticationTokenException"};
    case Failure::kMalformed:
    case Failure::kNoDate:
      return {400, "IncompleteSignatureException"};
    case Failure::kUnknownKey:
      return {400, "UnrecognizedClientException"};
    case Failure::kExpired:
      return {403, "AccessDeniedException"};
    case Failure::kScope:
    case Failure::kMismatch:
    case Failure::kSkew:
    case Failure::kPayloadMismatch:
    case Failure::kPayloadHeader:
      return {400, "InvalidSignatureException"};
  }
  return {400, "InvalidSignatureException"};
}

std::string header(const server::HttpRequest& request, const char* name) {
  const auto it = request.headers.find(name);
  return it == request.headers.end() ? std::string() : it->second;
}

// "20150830T123600Z" from seconds since the epoch.
std::string amz_date_of(int64_t seconds) {
  const int64_t days = seconds >= 0 ? seconds / 86400 : (seconds - 86399) / 86400;
  const int64_t rest = seconds - days * 86400;
  // civil_from_days (Howard Hinnant's algorithm).
  const int64_t z = days + 719468;
  const int64_t era = (z >= 0 ? z : z - 146096) / 146097;
  const int64_t doe = z - era * 146097;
  const int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  const int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const int64_t mp = (5 * doy + 2) / 153;
  const int64_t day = doy - (153 * mp + 2) / 5 + 1;
  const int64_t month = mp < 10 ? mp + 3 : mp - 9;
  const int64_t year = yoe + era * 400 + (month <= 2);
  char text[128];
  std::snprintf(text, sizeof text, "%04lld%02lld%02lldT%02lld%02lld%02lldZ", static_cast<long long>(year),
                static_cast<long long>(month), static_cast<long long>(day),
                static_cast<long long>(rest / 3600), static_cast<long long>(rest % 3600 / 60),
                static_cast<long long>(rest % 60));
  return text;
}

bool is_valid_s3_content_sha256(std::string_view value) {
  return sigv4::is_sha256_hex(value) || value == sigv4::kUnsignedPayload ||
         value == sigv4::kStreamingSignedPayload || value == sigv4::kStreamingSignedPayloadTrailer ||
         value == sigv4::kStreamingUnsignedPayloadTrailer;
}

}  // namespace

std::map<std::string, std::string> secrets_from_environment(const std::vector<AccessKeyReference>& keys) {
  std::map<std::string, std::string> secrets;
  for (const AccessKeyReference& key : keys) {
    const char* value = std::getenv(key.secret_env.c_str());
    if (!value || !*value)
      throw Error("server.aws.credentials: access key " + key.access_key_id + " names secret_env " +
                  key.secret_env + ", which is not set");
    if (!secrets.emplace(key.access_key_id, value).second)
      throw Error("server.aws.credentials: access key " + key.access_key_id + " is listed twice");
  }
  return secrets;
}

void check_keys_for_host(const std::string& host, bool loopback,
                         const std::vector<AccessKeyReference>& keys) {
  if (!loopback && keys.empty())
    throw Error("server.host " + host +
                " is not a loopback address: the AWS APIs answer elsewhere only with keys; set "
                "server.aws.credentials");
}

bool is_loopback_host(const std::string& host) noexcept {
  if (host == "localhost" || host == "::1" || host == "[::1]") return true;
  in_addr address{};
  if (inet_pton(AF_INET, host.c_str(), &address) != 1) return false;
  return (ntohl(address.s_addr) >> 24) == 127;
}

SigV4Options options_for_server(const std::string& host, std::string region,
                                const std::vector<AccessKeyReference>& keys) {
  check_keys_for_host(host, is_loopback_host(host), keys);
  SigV4Options options;
  options.region = std::move(region);
  options.secrets = secrets_from_environment(keys);
  return options;
}

SigV4Authenticator::SigV4Authenticator(ProtocolFamily family, std::string service, SigV4Options options)
    : family_(family), service_(std::move(service)), options_(std::move(options)) {}

namespace {

// Throws the family's HttpError for `failure`.
[[noreturn]] void refuse(ProtocolFamily family, Failure failure, bool presigned, const std::string& message,
                         std::vector<std::pair<std::string, std::string>> details = {}) {
  const Refusal refusal =
      family == ProtocolFamily::kS3 ? s3_refusal(failure, presigned) : json_refusal(failure);
  HttpError error(refusal.status, refusal.code, message);
  if (family == ProtocolFamily::kS3) error.details = std::move(details);
  throw error;
}

}  // namespace

int64_t SigV4Authenticator::now() const {
  if (options_.now) return options_.now();
  return std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

std::optional<SignatureClaim> SigV4Authenticator::claim_of(const server::HttpRequest& request) const {
  const auto authorization = request.headers.find("Authorization");
  std::optional<SignatureClaim> presigned;
  try {
    presigned = sigv4::parse_presigned(request);
    if (authorization == request.headers.end()) return presigned;
    if (presigned)
      throw MalformedSignature("only one auth mechanism allowed: the Authorization header or the query");
    SignatureClaim claim = sigv4::parse_authorization(authorization->second);
    claim.amz_date = header(request, "X-Amz-Date");
    return claim;
  } catch (const MalformedSignature& e) {
    const bool in_query = authorization == request.headers.end();
    refuse(family_, Failure::kMalformed, in_query,
           std::string(in_query ? "Error parsing the presigned query parameters: "
                                : "The authorization header is malformed; ") +
               e.what());
  }
}

void SigV4Authenticator::check_scope(const SignatureClaim& claim) const {
  const auto& scope = claim.credential;
  const bool s3 = family_ == ProtocolFamily::kS3;
  const std::string lead = claim.presigned ? "Error parsing the X-Amz-Credential parameter; "
                                           : "The authorization header is malformed; ";
  if (scope.region != options_.region)
    refuse(family_, Failure::kScope, claim.presigned,
           s3 ? lead + "the region '" + scope.region + "' is wrong; expecting '" + options_.region + "'"
              : "Credential should be scoped to a valid region, not '" + scope.region + "'. Expecting '" +
                    options_.region + "'.",
           {{"Region", options_.region}});
  if (scope.service != service_)
    refuse(
        family_, Failure::kScope, claim.presigned,
        s3 ? lead + "incorrect service '" + scope.service + "'. This endpoint belongs to '" + service_ + "'."
           : "Credential should be scoped to correct service: '" + service_ + "'.");
  if (claim.amz_date.compare(0, 8, scope.date) != 0)
    refuse(
        family_, Failure::kScope, claim.presigned,
        s3 ? lead + "Invalid credential date \"" + scope.date +
                 "\". This date is not the same as X-Amz-Date: \"" + claim.amz_date.substr(0, 8) + "\"."
           : "Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date from HTTP: '" +
                 scope.date + "' != '" + claim.amz_date.substr(0, 8) + "', from '" + claim.amz_date + "'.");
}

void SigV4Authenticator::check_time(const server::HttpRequest& request, const SignatureClaim& claim) const {
  (void)request;
  const std::optional<int64_t> signed_at = sigv4::parse_amz_date(claim.amz_date);
  const bool s3 = family_ == ProtocolFamily::kS3;
  if (!signed_at)
    refuse(family_, Failure::kNoDate, claim.presigned,
           s3 ? "AWS authentication requires a valid Date or x-amz-date header"
              : "Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header.");
  const int64_t current = now();
  const int64_t skew = options_.max_clock_skew.count();
  if (claim.presigned) {
    if (current > *signed_at + claim.expires_seconds)
      refuse(family_, Failure::kExpired, true, "Request has expired",
             {{"X-Amz-Expires", std::to_string(claim.expires_seconds)},
              {"Expires", amz_date_of(*signed_at + claim.expires_seconds)},
              {"ServerTime", amz_date_of(current)}});
    if (*signed_at > current + skew)
      refuse(family_, Failure::kExpired, true, "Request is not valid yet",
             {{"ServerTime", amz_date_of(current)}});
    return;
  }
  if (*signed_at >= current - skew && *signed_at <= current + skew) return;
  if (s3)
    refuse(family_, Failure::kSkew, false,
           "The difference between the request time and the current time is too large.",
           {{"RequestTime", claim.amz_date},
            {"ServerTime", amz_date_of(current)},
            {"MaxAllowedSkewMilliseconds", std::to_string(skew * 1000)}});
  const std::string minutes = std::to_string(skew / 60);
  if (*signed_at < current)
    refuse(family_, Failure::kSkew, false,
           "Signature expired: " + claim.amz_date + " is now earlier than " + amz_date_of(current - skew) +
               " (" + amz_date_of(current) + " - " + minutes + " min.)");
  refuse(family_, Failure::kSkew, false,
         "Signature not yet current: " + claim.amz_date + " is still later than " +
             amz_date_of(current + skew) + " (" + amz_date_of(current) + " + " + minutes + " min.)");
}

std::string SigV4Authenticator::payload_hash(const server::HttpRequest& request,
                                             const SignatureClaim& claim) const {
  const std::string declared = header(request, "x-amz-content-sha256");
  const bool s3 = family_ == ProtocolFamily::kS3;
  if (s3 && claim.presigned) return declared.empty() ? std::string(sigv4::kUnsignedPayload) : declared;
  if (s3 && declared.empty())
    refuse(family_, Failure::kPayloadHeader, false,
           "Missing required header for this request: x-amz-content-sha256");
  // The JSON services read whole bodies: the payload is a hash of it, or explicitly unsigned.
  const bool valid = s3 ? is_valid_s3_content_sha256(declared)
                        : sigv4::is_sha256_hex(declared) || declared == sigv4::kUnsignedPayload;
  if (!declared.empty() && !valid) {
    if (s3) {
      HttpError error(
          400, "InvalidArgument",
          "x-amz-content-sha256 must be UNSIGNED-PAYLOAD, STREAMING-UNSIGNED-PAYLOAD-TRAILER, "
          "STREAMING-AWS4-HMAC-SHA256-PAYLOAD, STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER or a valid "
          "sha256 value.");
      error.details = {{"ArgumentName", "x-amz-content-sha256"}, {"ArgumentValue", declared.substr(0, 200)}};
      throw error;
    }
    refuse(family_, Failure::kPayloadHeader, false,
           "x-amz-content-sha256 must be UNSIGNED-PAYLOAD or a sha256 value");
  }
  if (!s3 && declared.empty()) return sigv4::sha256_hex(request.body);
  if (!sigv4::is_sha256_hex(declared)) return declared;
  // A whole body is checked here; a streamed one (empty here, announced by a length or chunked
  // transfer encoding) by verified_body.
  const std::string length = header(request, "Content-Length");
  const bool streamed = request.body.empty() &&
                        ((!length.empty() && length != "0") || !header(request, "Transfer-Encoding").empty());
  if (!streamed) {
    const std::string computed = sigv4::sha256_hex(request.body);
    std::string lower = declared;
    std::transform(lower.begin(), lower.end(), lower.begin(),
                   [](unsigned char c) { return std::tolower(c); });
    if (!sigv4::constant_time_equal(computed, lower))
      refuse(family_, Failure::kPayloadMismatch, false,
             "The provided 'x-amz-content-sha256' header does not match what was computed.",
             {{"ClientComputedContentSHA256", declared}, {"S3ComputedContentSHA256", computed}});
  }
  return declared;
}

SigV4Authenticator::Verified SigV4Authenticator::verify(const server::HttpRequest& request) const {
  std::optional<SignatureClaim> claim = claim_of(request);
  const bool s3 = family_ == ProtocolFamily::kS3;
  if (!claim) {
    const bool version2 = request.query.contains("AWSAccessKeyId") && request.query.contains("Signature");
    refuse(family_, Failure::kMissing, false,
           !s3        ? "Missing Authentication Token"
           : version2 ? "Access Denied: sluice verifies Signature Version 4 only; presign with s3v4 "
                        "(botocore: Config(signature_version='s3v4'))"
                      : "Access Denied");
  }
  const auto secret = options_.secrets.find(claim->credential.access_key_id);
  if (secret == options_.secrets.end())
    refuse(family_, Failure::kUnknownKey, claim->presigned,
           s3 ? "The AWS Access Key Id you provided does not exist in our records."
              : "The security token included in the request is invalid.",
           {{"AWSAccessKeyId", claim->credential.access_key_id}});
  check_time(request, *claim);
  check_scope(*claim);
  const bool host_signed = std::find(claim->signed_headers.begin(), claim->signed_headers.end(), "host") !=
                           claim->signed_headers.end();
  if (!host_signed)
    refuse(family_, Failure::kMalformed, claim->presigned,
           "'Host' or ':authority' must be a 'SignedHeader' in the AWS Authorization.");
  const std::string hash = payload_hash(request, *claim);
  std::string canonical;
  try {
    canonical = sigv4::canonical_request(request, *claim, hash, s3);
  } catch (const MalformedSignature& e) {
    refuse(family_, Failure::kMismatch, claim->presigned,
           std::string("The request signature we calculated does not match the signature you provided: ") +
               e.what());
  }
  const auto& scope = claim->credential;
  const std::string to_sign = sigv4::string_to_sign(claim->amz_date, scope.scope(), canonical);
  std::string key = sigv4::signing_key(secret->second, scope.date, scope.region, scope.service);
  if (!sigv4::constant_time_equal(sigv4::signature(key, to_sign), claim->signature))
    refuse(
        family_, Failure::kMismatch, claim->presigned,
        s3 ? "The request signature we calculated does not match the signature you provided. Check your key "
             "and "
             "signing method."
           : "The request signature we calculated does not match the signature you provided. Check your AWS "
             "Secret Access Key and signing method. Consult the service documentation for details.",
        {{"AWSAccessKeyId", scope.access_key_id},
         {"StringToSign", to_sign},
         {"SignatureProvided", claim->signature},
         {"CanonicalRequest", canonical}});
  return {std::move(*claim), std::move(key)};
}

std::string SigV4Authenticator::authenticate(const server::HttpRequest& request) const {
  if (!verifies()) {
    // No keys (loopback only): anyone, signed with any key or not at all, like local emulators.
    try {
      if (auto claim = sigv4::parse_presigned(request)) return claim->credential.access_key_id;
      const auto authorization = request.headers.find("Authorization");
      if (authorization != request.headers.end())
        return sigv4::parse_authorization(authorization->second).credential.access_key_id;
    } catch (const MalformedSignature&) {
      // Accepted all the same: nothing is verified without keys.
    }
    return "anonymous";
  }
  return verify(request).claim.credential.access_key_id;
}

std::optional<StreamingContext> SigV4Authenticator::streaming_context(
    const server::HttpRequest& request) const {
  StreamingContext context;
  context.content_sha256 = header(request, "x-amz-content-sha256");
  if (!verifies()) return context;
  try {
    const Verified verified = verify(request);
    if (verified.claim.presigned) return std::nullopt;
    context.verify_signatures = true;
    context.signing_key = verified.signing_key;
    context.seed_signature = verified.claim.signature;
    context.amz_date = verified.claim.amz_date;
    context.scope = verified.claim.credential.scope();
    return context;
  } catch (const HttpError&) {
    return std::nullopt;
  }
}

}  // namespace sluice::aws
