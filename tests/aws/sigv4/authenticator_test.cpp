// SigV4Authenticator's refusals, each with the code and status of its protocol family, and its
// acceptance of anything when no keys are configured. The signed requests are AWS's documented
// examples (S3's examplebucket, 20130524) and one botocore-style Kinesis request signed by AWS's IAM
// example key; each refusal changes one thing about a request that verifies.
#include <gtest/gtest.h>

#include "aws/sigv4/sigv4.h"
#include "aws/sigv4/sigv4_authenticator.h"
#include "common/error.h"
#include "tests/aws/sigv4/test_requests.h"

namespace sluice::aws {
namespace {

using testing::make_request;
using testing::utc;
using namespace testing::examples;

const int64_t kSignedAt = utc(2013, 5, 24);

SigV4Authenticator s3_authenticator(std::string secret = kS3Secret, int64_t now = kSignedAt,
                                    std::string key_id = kS3KeyId) {
  return authenticator(ProtocolFamily::kS3, "s3", std::move(key_id), std::move(secret), now);
}

// The error authenticate() throws for `request` (fails the test when it accepts).
server::HttpError refusal(const SigV4Authenticator& authenticator, const server::HttpRequest& request) {
  try {
    const std::string principal = authenticator.authenticate(request);
    ADD_FAILURE() << "accepted as " << principal;
  } catch (const server::HttpError& e) {
    return e;
  }
  return server::HttpError(599, "none", "accepted");
}

void expect_refusal(const SigV4Authenticator& authenticator, const server::HttpRequest& request, int status,
                    const std::string& code) {
  const server::HttpError error = refusal(authenticator, request);
  EXPECT_EQ(error.status(), status) << error.what();
  EXPECT_EQ(error.code(), code) << error.what();
}

TEST(SigV4Authenticator, S3RefusesAWrongSecret) {
  const auto error = refusal(s3_authenticator("not the secret"), s3_get_object_with_range());
  EXPECT_EQ(error.status(), 403);
  EXPECT_EQ(error.code(), "SignatureDoesNotMatch");
  bool has_string_to_sign = false;
  for (const auto& [name, value] : error.details) has_string_to_sign |= name == "StringToSign";
  EXPECT_TRUE(has_string_to_sign);
}

TEST(SigV4Authenticator, S3RefusesAnUnknownKey) {
  expect_refusal(s3_authenticator(kS3Secret, kSignedAt, "AKIAOTHERKEY0000"), s3_get_object_with_range(), 403,
                 "InvalidAccessKeyId");
}

TEST(SigV4Authenticator, S3RefusesASkewedClock) {
  expect_refusal(s3_authenticator(kS3Secret, kSignedAt + 15 * 60 + 1), s3_get_object_with_range(), 403,
                 "RequestTimeTooSkewed");
  expect_refusal(s3_authenticator(kS3Secret, kSignedAt - 15 * 60 - 1), s3_get_object_with_range(), 403,
                 "RequestTimeTooSkewed");
  // Within the 15 minutes: accepted.
  EXPECT_EQ(s3_authenticator(kS3Secret, kSignedAt + 15 * 60).authenticate(s3_get_object_with_range()),
            kS3KeyId);
}

TEST(SigV4Authenticator, S3RefusesAnExpiredPresignedUrl) {
  EXPECT_EQ(s3_authenticator(kS3Secret, kSignedAt + 86400).authenticate(s3_presigned_get()), kS3KeyId);
  const auto error = refusal(s3_authenticator(kS3Secret, kSignedAt + 86401), s3_presigned_get());
  EXPECT_EQ(error.status(), 403);
  EXPECT_EQ(error.code(), "AccessDenied");
  EXPECT_STREQ(error.what(), "Request has expired");
}

TEST(SigV4Authenticator, S3RefusesAPresignedUrlBeyondAWeek) {
  auto request = s3_presigned_get();
  request.query["X-Amz-Expires"] = "604801";
  expect_refusal(s3_authenticator(), request, 400, "AuthorizationQueryParametersError");
}

TEST(SigV4Authenticator, S3RefusesWhatChangedAfterSigning) {
  const auto s3 = s3_authenticator();
  auto header = s3_get_object_with_range();
  header.headers["Range"] = "bytes=0-99";
  expect_refusal(s3, header, 403, "SignatureDoesNotMatch");
  auto path = s3_get_object_with_range();
  path.raw_path = "/test2.txt";
  expect_refusal(s3, path, 403, "SignatureDoesNotMatch");
  // A parameter added to a presigned URL.
  expect_refusal(s3,
                 make_request("GET", s3_presigned_get("&versionId=1").target,
                              {{"Host", "examplebucket.s3.amazonaws.com"}}),
                 403, "SignatureDoesNotMatch");
  auto body = s3_put_object();
  body.body = "Welcome to Amazon S4.";
  expect_refusal(s3, body, 400, "XAmzContentSHA256Mismatch");
  // A streamed body (not read yet: a length, or chunked transfer encoding) is left to verified_body.
  auto streamed = s3_put_object();
  streamed.body.clear();
  streamed.headers["Transfer-Encoding"] = "chunked";
  EXPECT_EQ(s3.authenticate(streamed), kS3KeyId);
  streamed.headers.erase("Transfer-Encoding");
  expect_refusal(s3, streamed, 400, "XAmzContentSHA256Mismatch");  // an empty body, not the signed one
  // A signed header dropped.
  auto dropped = s3_put_object();
  dropped.headers.erase("x-amz-storage-class");
  expect_refusal(s3, dropped, 403, "SignatureDoesNotMatch");
}

TEST(SigV4Authenticator, S3RefusesMissingAndMalformedSignatures) {
  const auto s3 = s3_authenticator();
  expect_refusal(s3, make_request("GET", "/test.txt", {{"Host", "examplebucket.s3.amazonaws.com"}}), 403,
                 "AccessDenied");
  auto malformed = s3_get_object_with_range();
  malformed.headers["Authorization"] =
      "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3";
  expect_refusal(s3, malformed, 400, "AuthorizationHeaderMalformed");
  auto no_date = s3_get_object_with_range();
  no_date.headers.erase("x-amz-date");
  expect_refusal(s3, no_date, 403, "AccessDenied");
  auto no_hash = s3_get_object_with_range();
  no_hash.headers.erase("x-amz-content-sha256");
  expect_refusal(s3, no_hash, 400, "InvalidRequest");
}

TEST(SigV4Authenticator, S3RefusesAnotherRegion) {
  SigV4Options options;
  options.region = "eu-west-1";
  options.secrets[kS3KeyId] = kS3Secret;
  options.now = [] { return kSignedAt; };
  const SigV4Authenticator s3(ProtocolFamily::kS3, "s3", options);
  const auto error = refusal(s3, s3_get_object_with_range());
  EXPECT_EQ(error.code(), "AuthorizationHeaderMalformed");
  EXPECT_NE(std::string(error.what()).find("eu-west-1"), std::string::npos);
}

// The JSON services' words for the same failures, on the IAM example request (signed for "iam").
SigV4Authenticator json_authenticator(std::string secret = kIamSecret, int64_t now = utc(2015, 8, 30, 12, 36),
                                      std::string key_id = "AKIDEXAMPLE") {
  return authenticator(ProtocolFamily::kJson, "iam", std::move(key_id), std::move(secret), now);
}

TEST(SigV4Authenticator, JsonServicesAnswerInTheirOwnCodes) {
  EXPECT_EQ(json_authenticator().authenticate(iam_list_users()), "AKIDEXAMPLE");
  expect_refusal(json_authenticator("wrong"), iam_list_users(), 400, "InvalidSignatureException");
  expect_refusal(json_authenticator(kS3Secret, utc(2015, 8, 30, 12, 36), "AKIDOTHER"), iam_list_users(), 400,
                 "UnrecognizedClientException");
  const auto skewed =
      refusal(json_authenticator(kS3Secret, utc(2015, 8, 30, 12, 52), "AKIDEXAMPLE"), iam_list_users());
  EXPECT_EQ(skewed.code(), "InvalidSignatureException");
  EXPECT_NE(std::string(skewed.what())
                .find("Signature expired: 20150830T123600Z is now earlier than 20150830T123700Z"),
            std::string::npos)
      << skewed.what();
  expect_refusal(json_authenticator(), make_request("POST", "/", {{"Host", "iam.amazonaws.com"}}), 400,
                 "MissingAuthenticationTokenException");
  auto malformed = iam_list_users();
  malformed.headers["Authorization"] =
      "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/iam/aws4_request";
  expect_refusal(json_authenticator(), malformed, 400, "IncompleteSignatureException");
  // A streaming payload mode is S3's only: a JSON body is whole, hashed or explicitly unsigned.
  auto streaming = iam_list_users();
  streaming.headers["x-amz-content-sha256"] = "STREAMING-UNSIGNED-PAYLOAD-TRAILER";
  expect_refusal(json_authenticator(), streaming, 400, "InvalidSignatureException");
  auto body = iam_list_users();
  body.body = "{}";  // the signature covers the (empty) body
  expect_refusal(json_authenticator(), body, 400, "InvalidSignatureException");
  // Another service's endpoint.
  SigV4Options options;
  options.secrets["AKIDEXAMPLE"] = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY";
  options.now = [] { return utc(2015, 8, 30, 12, 36); };
  expect_refusal(SigV4Authenticator(ProtocolFamily::kJson, "kinesis", options), iam_list_users(), 400,
                 "InvalidSignatureException");
}

TEST(SigV4Authenticator, WithoutKeysAnythingIsAccepted) {
  const SigV4Authenticator open(ProtocolFamily::kS3, "s3", SigV4Options{});
  EXPECT_FALSE(open.verifies());
  EXPECT_EQ(open.authenticate(make_request("GET", "/x", {{"Host", "localhost"}})), "anonymous");
  auto other_key = s3_get_object_with_range();  // a key sluice never heard of, a date years ago
  EXPECT_EQ(open.authenticate(other_key), kS3KeyId);
  const auto context = open.streaming_context(s3_get_object_with_range());
  ASSERT_TRUE(context.has_value());
  EXPECT_FALSE(context->verify_signatures);
}

TEST(SigV4Authenticator, KeysAreRequiredBeyondLoopback) {
  EXPECT_TRUE(is_loopback_host("127.0.0.1"));
  EXPECT_TRUE(is_loopback_host("localhost"));
  EXPECT_TRUE(is_loopback_host("::1"));
  EXPECT_FALSE(is_loopback_host("0.0.0.0"));
  EXPECT_FALSE(is_loopback_host("10.1.2.3"));
  EXPECT_THROW(options_for_server("0.0.0.0", "us-east-1", {}), Error);
  EXPECT_NO_THROW(options_for_server("127.0.0.1", "us-east-1", {}));
  ::setenv("SLUICE_SIGV4_TEST_SECRET", "s3cr3t", 1);
  const SigV4Options options =
      options_for_server("0.0.0.0", "eu-west-1", {{"AKIDTEST", "SLUICE_SIGV4_TEST_SECRET"}});
  EXPECT_EQ(options.secrets.at("AKIDTEST"), "s3cr3t");
  EXPECT_EQ(options.region, "eu-west-1");
  EXPECT_THROW(
      options_for_server("127.0.0.1", "us-east-1", {{"AKIDTEST", "SLUICE_SIGV4_TEST_UNSET_VARIABLE"}}),
      Error);
}

}  // namespace
}  // namespace sluice::aws
