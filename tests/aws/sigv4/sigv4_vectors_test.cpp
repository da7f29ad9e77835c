// SigV4 against the signatures AWS publishes in its documentation (IAM ListUsers; S3's examplebucket
// GET with Range, PUT, list and presigned GET), and against requests botocore signs.
#include <gtest/gtest.h>

#include <cstdio>
#include <memory>
#include <nlohmann/json.hpp>

#include "aws/sigv4/body.h"
#include "aws/sigv4/sigv4.h"
#include "aws/sigv4/sigv4_authenticator.h"
#include "tests/aws/sigv4/test_requests.h"

namespace sluice::aws {
namespace {

using testing::make_request;
using testing::utc;
using namespace testing::examples;

// AWS's "Create a signed request" walk-through: each intermediate value it documents.
TEST(SigV4Vectors, IamListUsersIntermediateValuesAreAwsDocumented) {
  const auto request = iam_list_users();
  const auto claim = sigv4::parse_authorization(request.headers.at("Authorization"));
  EXPECT_EQ(claim.credential.access_key_id, "AKIDEXAMPLE");
  EXPECT_EQ(claim.credential.scope(), "20150830/us-east-1/iam/aws4_request");
  const std::string canonical = sigv4::canonical_request(request, claim, sigv4::kEmptyPayloadHash, false);
  EXPECT_EQ(canonical,
            "GET\n/\nAction=ListUsers&Version=2010-05-08\n"
            "content-type:application/x-www-form-urlencoded; charset=utf-8\nhost:iam.amazonaws.com\n"
            "x-amz-date:20150830T123600Z\n\ncontent-type;host;x-amz-date\n"
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  EXPECT_EQ(sigv4::sha256_hex(canonical), "f536975d06c0309214f805bb90ccff089219ecd68b2577efef23edd43b7e1a59");
  const std::string key = sigv4::signing_key(kIamSecret, "20150830", "us-east-1", "iam");
  EXPECT_EQ(sigv4::hex(key), "c4afb1cc5771d871763a393e44b703571b55cc28424d1a5e86da6ed3c154a4b9");
  EXPECT_EQ(
      sigv4::signature(key, sigv4::string_to_sign("20150830T123600Z", claim.credential.scope(), canonical)),
      "5d672d79c15b13162d9279b0855cfba6789a8edb4c82c400e06b5924a6f2b5d7");
}

TEST(SigV4Vectors, IamListUsersIsAcceptedByTheAuthenticator) {
  SigV4Options options;
  options.secrets["AKIDEXAMPLE"] = kIamSecret;
  options.now = [] { return utc(2015, 8, 30, 12, 36); };
  const SigV4Authenticator iam(ProtocolFamily::kJson, "iam", options);
  EXPECT_EQ(iam.authenticate(iam_list_users()), "AKIDEXAMPLE");
}

// S3's "Signature Calculations for the Authorization Header" examples (examplebucket, 20130524).
TEST(SigV4Vectors, S3GetObjectWithRange) {
  const auto s3 = authenticator(ProtocolFamily::kS3, "s3", kS3KeyId, kS3Secret, utc(2013, 5, 24));
  EXPECT_EQ(s3.authenticate(s3_get_object_with_range()), kS3KeyId);
}

TEST(SigV4Vectors, S3PutObject) {
  const auto s3 = authenticator(ProtocolFamily::kS3, "s3", kS3KeyId, kS3Secret, utc(2013, 5, 24));
  EXPECT_EQ(s3.authenticate(s3_put_object()), kS3KeyId);
}

TEST(SigV4Vectors, S3GetBucketLifecycleAndListObjects) {
  const auto s3 = authenticator(ProtocolFamily::kS3, "s3", kS3KeyId, kS3Secret, utc(2013, 5, 24));
  const auto signed_get = [](const std::string& target, const std::string& signature) {
    return make_request(
        "GET", target,
        {{"Host", "examplebucket.s3.amazonaws.com"},
         {"x-amz-content-sha256", std::string(sigv4::kEmptyPayloadHash)},
         {"x-amz-date", "20130524T000000Z"},
         {"Authorization",
          "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request,"
          "SignedHeaders=host;x-amz-content-sha256;x-amz-date,Signature=" +
              signature}});
  };
  EXPECT_EQ(s3.authenticate(signed_get("/?lifecycle",
                                       "fea454ca298b7da1c68078a5d1bdbfbbe0d65c699e0f91ac7a200a0136783543")),
            kS3KeyId);
  EXPECT_EQ(s3.authenticate(signed_get("/?max-keys=2&prefix=J",
                                       "34b48302e7b5fa45bde8084f4b7868a86f0a534bc59db6670ed5711ef69dc6f7")),
            kS3KeyId);
}

TEST(SigV4Vectors, S3PresignedGetWithinItsDay) {
  const auto s3 = authenticator(ProtocolFamily::kS3, "s3", kS3KeyId, kS3Secret, utc(2013, 5, 24, 23, 59));
  EXPECT_EQ(s3.authenticate(s3_presigned_get()), kS3KeyId);
}

TEST(SigV4Vectors, SignedForServiceReadsTheScopeOfEitherCarrier) {
  EXPECT_TRUE(signed_for_service(s3_put_object(), "s3"));
  EXPECT_TRUE(signed_for_service(s3_presigned_get(), "s3"));
  EXPECT_FALSE(signed_for_service(iam_list_users(), "s3"));
  EXPECT_TRUE(signed_for_service(iam_list_users(), "iam"));
  EXPECT_FALSE(signed_for_service(make_request("GET", "/", {{"Host", "x"}}), "s3"));
  EXPECT_FALSE(signed_for_service(
      make_request("GET", "/", {{"Authorization", "AWS4-HMAC-SHA256 Credential=A/s3"}}), "s3"));
  EXPECT_FALSE(signed_for_service(make_request("GET", "/", {{"Authorization", "Bearer s3"}}), "s3"));
  // Signature Version 2 (S3 only): the header, and botocore 1.29's default presigned URL.
  EXPECT_TRUE(signed_for_service(make_request("GET", "/b/k", {{"Authorization", "AWS AKID:c2ln"}}), "s3"));
  EXPECT_TRUE(
      signed_for_service(make_request("GET", "/b/k?AWSAccessKeyId=AKID&Signature=c2ln&Expires=1", {}), "s3"));
  EXPECT_FALSE(
      signed_for_service(make_request("GET", "/b/k?AWSAccessKeyId=AKID&Signature=c2ln", {}), "kinesis"));
}

TEST(SigV4Vectors, CanonicalUriKeepsS3PathsAndNormalisesOthers) {
  EXPECT_EQ(sigv4::canonical_uri("/a/./b//c/../d%20e", true), "/a/./b//c/../d%20e");
  EXPECT_EQ(sigv4::canonical_uri("/a/./b//c/../d%20e", false), "/a/b/d%2520e");
  EXPECT_EQ(sigv4::canonical_uri("", false), "/");
  EXPECT_EQ(sigv4::canonical_uri("/x/", false), "/x/");
}

TEST(SigV4Vectors, CanonicalQuerySortsRepeatsAndEncodesOnce) {
  EXPECT_EQ(sigv4::canonical_query("b=2&a=1&a=0&c=%7e%2f&flag&&d=a+b", false),
            "a=0&a=1&b=2&c=~%2F&d=a%2Bb&flag=");
  EXPECT_EQ(sigv4::canonical_query("X-Amz-Signature=abc&z=1", true), "z=1");
}

TEST(SigV4Vectors, AuthorizationParserRefusesWhatIsMissing) {
  EXPECT_THROW(
      sigv4::parse_authorization("AWS4-HMAC-SHA256 Credential=A/20150830/us-east-1/iam/aws4_request"),
      sigv4::MalformedSignature);
  EXPECT_THROW(sigv4::parse_authorization("AWS AKID:sig"), sigv4::MalformedSignature);
  EXPECT_THROW(sigv4::parse_authorization("AWS4-HMAC-SHA256 Credential=A/2015/us-east-1/iam/aws4_request, "
                                          "SignedHeaders=host, Signature=" +
                                          std::string(64, 'a')),
               sigv4::MalformedSignature);
  EXPECT_THROW(
      sigv4::parse_authorization("AWS4-HMAC-SHA256 Credential=A/20150830/us-east-1/iam/aws4_request, "
                                 "SignedHeaders=host, Signature=xyz"),
      sigv4::MalformedSignature);
}

// Requests botocore signed (tests/aws/sigv4/botocore_vectors.py), verified here: an implementation
// independent of this one agrees on canonical URIs with odd keys, repeated query keys, dot segments,
// whitespace in header values, presigned URLs and JSON bodies.
nlohmann::json botocore_cases() {
  const std::string command = std::string("/usr/bin/python3 ") + SLUICE_SIGV4_VECTORS_SCRIPT + " 2>&1";
  std::unique_ptr<FILE, int (*)(FILE*)> pipe(popen(command.c_str(), "r"), pclose);
  if (!pipe) return nullptr;
  std::string output;
  char buffer[4096];
  while (size_t n = fread(buffer, 1, sizeof buffer, pipe.get())) output.append(buffer, n);
  try {
    return nlohmann::json::parse(output);
  } catch (const nlohmann::json::exception&) {
    ADD_FAILURE() << "botocore_vectors.py said: " << output.substr(0, 2000);
    return nullptr;
  }
}

server::HttpRequest request_of(const nlohmann::json& c) {
  std::vector<std::pair<std::string, std::string>> headers;
  for (const auto& [name, value] : c["headers"].items()) headers.emplace_back(name, value.get<std::string>());
  // The body travels as latin-1 text: back to its bytes.
  std::string body;
  const std::u32string code_points = [&] {
    std::u32string out;
    const std::string utf8 = c["body"].get<std::string>();
    for (size_t i = 0; i < utf8.size();) {
      const auto b = static_cast<unsigned char>(utf8[i]);
      if (b < 0x80) {
        out.push_back(b);
        i += 1;
      } else {
        out.push_back(((b & 0x1f) << 6) | (static_cast<unsigned char>(utf8[i + 1]) & 0x3f));
        i += 2;
      }
    }
    return out;
  }();
  for (const char32_t cp : code_points) body.push_back(static_cast<char>(cp));
  return make_request(c["method"], c["target"], headers, body);
}

TEST(SigV4Vectors, BotocoreSignedRequestsVerify) {
  const nlohmann::json cases = botocore_cases();
  ASSERT_TRUE(cases.is_array());
  ASSERT_GE(cases.size(), 5u);
  for (const auto& c : cases) {
    SCOPED_TRACE(c["name"].get<std::string>());
    const auto family = c["family"] == "s3" ? ProtocolFamily::kS3 : ProtocolFamily::kJson;
    const auto verifier = authenticator(family, c["service"], c["access_key_id"], c["secret"], c["now"]);
    auto request = request_of(c);
    if (c.contains("decoded")) request.body.clear();  // a streamed body: the head only
    try {
      EXPECT_EQ(verifier.authenticate(request), c["access_key_id"].get<std::string>());
    } catch (const server::HttpError& e) {
      std::string details;
      for (const auto& [name, value] : e.details) details += name + ": " + value + "\n";
      ADD_FAILURE() << e.code() << ": " << e.what() << "\n" << details;
    }
    // One byte of the signature changed: refused.
    auto tampered = request;
    if (auto it = tampered.headers.find("Authorization"); it != tampered.headers.end()) {
      it->second.back() = it->second.back() == '0' ? '1' : '0';
    } else {
      tampered.raw_query.back() = tampered.raw_query.back() == '0' ? '1' : '0';
      tampered.query["X-Amz-Signature"].back() = tampered.raw_query.back();
    }
    EXPECT_THROW(verifier.authenticate(tampered), server::HttpError);
  }
}

// A STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER upload signed by Python's hmac and hashlib: its chunks
// and its trailer signature verify, its trailing CRC-32 matches; a changed trailer is refused.
TEST(SigV4Vectors, PythonSignedTrailerDecodes) {
  const nlohmann::json cases = botocore_cases();
  ASSERT_TRUE(cases.is_array());
  const auto it = std::find_if(cases.begin(), cases.end(),
                               [](const auto& c) { return c["name"] == "s3-signed-trailer"; });
  ASSERT_NE(it, cases.end());
  const auto verifier =
      authenticator(ProtocolFamily::kS3, "s3", (*it)["access_key_id"], (*it)["secret"], (*it)["now"]);
  auto head = request_of(*it);
  const std::string raw = head.body;
  head.body.clear();
  ASSERT_EQ(verifier.authenticate(head), (*it)["access_key_id"].get<std::string>());
  const auto decode = [&](const std::string& bytes) {
    testing::PieceReader source(bytes, 1000);
    const std::vector<server::RouteParam> params;
    const server::RouteRequest request{head, params, &source, "", ""};
    auto body = verified_body(request, &verifier);
    std::string out;
    char buffer[4096];
    while (size_t n = body->read(buffer, sizeof buffer)) out.append(buffer, n);
    return out;
  };
  const std::string decoded = request_of(nlohmann::json{{"method", "PUT"},
                                                        {"target", "/"},
                                                        {"headers", nlohmann::json::object()},
                                                        {"body", (*it)["decoded"]}})
                                  .body;
  EXPECT_EQ(decode(raw), decoded);
  std::string changed = raw;
  const size_t crc = changed.find("x-amz-checksum-crc32:") + 21;
  changed[crc] = changed[crc] == 'A' ? 'B' : 'A';
  try {
    decode(changed);
    ADD_FAILURE() << "a changed trailer was accepted";
  } catch (const server::HttpError& e) {
    EXPECT_EQ(e.code(), "SignatureDoesNotMatch");
  }
}

}  // namespace
}  // namespace sluice::aws
