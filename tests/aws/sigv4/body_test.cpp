// verified_body: aws-chunked decoding with chained chunk signatures (AWS's documented 66560-byte
// example), trailing checksums and signatures, whole-body hashes, and every refusal with S3's code.
#include "aws/sigv4/body.h"

#include <gtest/gtest.h>

#include "aws/sigv4/chunked.h"
#include "aws/sigv4/sigv4.h"
#include "aws/sigv4/sigv4_authenticator.h"
#include "tests/aws/sigv4/test_requests.h"

namespace sluice::aws {
namespace {

using testing::make_request;
using testing::PieceReader;
using testing::utc;

constexpr const char* kS3Secret = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY";
constexpr const char* kS3KeyId = "AKIAIOSFODNN7EXAMPLE";

// AWS's "Signature Calculations for the Authorization Header: Transferring Payload in Multiple
// Chunks" example: 66560 bytes of 'a' in a 65536-byte and a 1024-byte chunk.
constexpr const char* kSeedSignature = "4f232c4386841ef735655705268965c44a0e4690baa4adea153f7db9fa80a0a9";
constexpr const char* kChunk1Signature = "ad80c730a21e5b8d04586a2213dd63b9a0e99e0e2307b0ade35a65485a288648";
constexpr const char* kChunk2Signature = "0055627c9e194cb4542bae2aa5492e3c1575bbb81b612b7d234b86a503ef5497";
constexpr const char* kFinalSignature = "b6c6ea8a5354eaf15b3cb7646744f4275b71ea724fed81ceb9323e279d449df9";

std::string example_body() {
  return "10000;chunk-signature=" + std::string(kChunk1Signature) + "\r\n" + std::string(65536, 'a') +
         "\r\n" + "400;chunk-signature=" + kChunk2Signature + "\r\n" + std::string(1024, 'a') + "\r\n" +
         "0;chunk-signature=" + kFinalSignature + "\r\n\r\n";
}

server::HttpRequest example_head() {
  return make_request("PUT", "/examplebucket/chunkObject.txt",
                      {{"Host", "s3.amazonaws.com"},
                       {"x-amz-date", "20130524T000000Z"},
                       {"x-amz-storage-class", "REDUCED_REDUNDANCY"},
                       {"x-amz-content-sha256", "STREAMING-AWS4-HMAC-SHA256-PAYLOAD"},
                       {"Content-Encoding", "aws-chunked"},
                       {"x-amz-decoded-content-length", "66560"},
                       {"Content-Length", "66824"},
                       {"Authorization",
                        "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request,"
                        "SignedHeaders=content-encoding;content-length;host;x-amz-content-sha256;x-amz-date;"
                        "x-amz-decoded-content-length;x-amz-storage-class,Signature=" +
                            std::string(kSeedSignature)}});
}

SigV4Authenticator example_authenticator() {
  SigV4Options options;
  options.secrets[kS3KeyId] = kS3Secret;
  options.now = [] { return utc(2013, 5, 24); };
  return SigV4Authenticator(ProtocolFamily::kS3, "s3", std::move(options));
}

// Everything verified_body yields for `head` with `raw` as its body, read `piece` bytes at a time; or
// the HttpError it throws (its code then is what the result holds, prefixed "error:").
std::string read_all(const server::HttpRequest& head, const std::string& raw,
                     const SigV4Authenticator* authenticator, size_t piece = 4096) {
  PieceReader source(raw, piece);
  const std::vector<server::RouteParam> params;
  const server::RouteRequest request{head, params, &source, "", ""};
  try {
    auto body = verified_body(request, authenticator);
    std::string out;
    char buffer[3000];
    while (size_t n = body->read(buffer, sizeof buffer)) out.append(buffer, n);
    EXPECT_EQ(body->bytes_read(), out.size());
    return out;
  } catch (const server::HttpError& e) {
    return "error:" + e.code();
  }
}

TEST(VerifiedBody, AwsStreamingExampleDecodesWithItsDocumentedSignatures) {
  const auto authenticator = example_authenticator();
  ASSERT_EQ(example_body().size(), 66824u);                         // the Content-Length AWS's example states
  EXPECT_EQ(authenticator.authenticate(example_head()), kS3KeyId);  // the documented seed signature
  for (const size_t piece : {size_t{1} << 20, size_t{4096}, size_t{7}}) {
    EXPECT_EQ(read_all(example_head(), example_body(), &authenticator, piece), std::string(66560, 'a'));
  }
  // Without an authenticator (loopback, no keys) the framing is still removed.
  EXPECT_EQ(read_all(example_head(), example_body(), nullptr), std::string(66560, 'a'));
}

TEST(VerifiedBody, RefusesATruncatedChunkedBody) {
  const auto authenticator = example_authenticator();
  const std::string body = example_body();
  EXPECT_EQ(read_all(example_head(), body.substr(0, 40000), &authenticator), "error:IncompleteBody");
  EXPECT_EQ(read_all(example_head(), body.substr(0, body.size() - 2), &authenticator),
            "error:IncompleteBody");
}

TEST(VerifiedBody, RefusesAWrongChunkSignatureOrChangedData) {
  const auto authenticator = example_authenticator();
  std::string wrong_signature = example_body();
  const size_t second = wrong_signature.find(kChunk2Signature);
  wrong_signature[second] = wrong_signature[second] == '0' ? '1' : '0';
  EXPECT_EQ(read_all(example_head(), wrong_signature, &authenticator), "error:SignatureDoesNotMatch");
  std::string changed_data = example_body();
  changed_data[1000] = 'b';
  EXPECT_EQ(read_all(example_head(), changed_data, &authenticator), "error:SignatureDoesNotMatch");
  // Chunks swapped in order: the chain breaks.
  std::string missing_chunk = example_body();
  const size_t chunk2 = missing_chunk.find("400;");
  missing_chunk.erase(chunk2,
                      missing_chunk.find("0;chunk-signature=" + std::string(kFinalSignature)) - chunk2);
  EXPECT_EQ(read_all(example_head(), missing_chunk, &authenticator), "error:SignatureDoesNotMatch");
}

TEST(VerifiedBody, RefusesMalformedChunkFraming) {
  const auto authenticator = example_authenticator();
  auto head = example_head();
  EXPECT_EQ(read_all(head, "zz;chunk-signature=" + std::string(64, 'a') + "\r\n", nullptr),
            "error:InvalidChunkSizeError");
  EXPECT_EQ(read_all(head, std::string(5000, '1'), nullptr), "error:InvalidRequest");  // an endless size line
  // A small chunk that is not the last.
  const std::string sig(64, 'a');
  EXPECT_EQ(read_all(head,
                     "10;chunk-signature=" + sig + "\r\n" + std::string(16, 'x') + "\r\n10;chunk-signature=" +
                         sig + "\r\n" + std::string(16, 'x') + "\r\n0;chunk-signature=" + sig + "\r\n\r\n",
                     nullptr),
            "error:InvalidChunkSizeError");
  // Data longer than its chunk size.
  EXPECT_EQ(read_all(head, "2;chunk-signature=" + sig + "\r\nabc\r\n", nullptr), "error:InvalidRequest");
  // The decoded length differs from x-amz-decoded-content-length.
  EXPECT_EQ(
      read_all(head, "2;chunk-signature=" + sig + "\r\nab\r\n0;chunk-signature=" + sig + "\r\n\r\n", nullptr),
      "error:IncompleteBody");
}

server::HttpRequest unsigned_trailer_head(const std::string& algorithm) {
  return make_request("PUT", "/bucket/key",
                      {{"Host", "localhost"},
                       {"x-amz-content-sha256", "STREAMING-UNSIGNED-PAYLOAD-TRAILER"},
                       {"Content-Encoding", "aws-chunked"},
                       {"x-amz-trailer", "x-amz-checksum-" + algorithm},
                       {"x-amz-decoded-content-length", "9"}});
}

TEST(VerifiedBody, ChecksTrailingChecksumsOfUnsignedChunks) {
  // botocore's framing: "SIZE\r\nDATA\r\n" ... "0\r\nNAME:VALUE\r\n\r\n". CRC-32 of "123456789" is CBF43926,
  // CRC-32C E3069283 (their standard check values).
  const auto body = [](const std::string& name, const std::string& value) {
    return "4\r\n1234\r\n5\r\n56789\r\n0\r\nx-amz-checksum-" + name + ":" + value + "\r\n\r\n";
  };
  EXPECT_EQ(read_all(unsigned_trailer_head("crc32"), body("crc32", "y/Q5Jg=="), nullptr, 3), "123456789");
  EXPECT_EQ(read_all(unsigned_trailer_head("crc32c"), body("crc32c", "4waSgw=="), nullptr), "123456789");
  EXPECT_EQ(read_all(unsigned_trailer_head("crc32"), body("crc32", "AAAAAA=="), nullptr), "error:BadDigest");
  EXPECT_EQ(read_all(unsigned_trailer_head("crc32c"), body("crc32c", "y/Q5Jg=="), nullptr),
            "error:BadDigest");
  // A trailer the header did not announce, and an announced trailer that never came.
  EXPECT_EQ(read_all(unsigned_trailer_head("crc32c"), body("crc32", "y/Q5Jg=="), nullptr),
            "error:InvalidRequest");
  EXPECT_EQ(read_all(unsigned_trailer_head("crc32"), "9\r\n123456789\r\n0\r\n\r\n", nullptr),
            "error:InvalidRequest");
  // An endless trailer.
  EXPECT_EQ(
      read_all(unsigned_trailer_head("crc32"), "9\r\n123456789\r\n0\r\n" + std::string(20000, 'x'), nullptr),
      "error:InvalidRequest");
}

TEST(VerifiedBody, ChecksContentMd5AndChecksumHeadersOfPlainBodies) {
  const auto head = [](const std::string& name, const std::string& value) {
    return make_request("PUT", "/bucket/key", {{"Host", "localhost"}, {name, value}});
  };
  EXPECT_EQ(read_all(head("Content-MD5", "JfnnlDI7RTiF9RgfG2JNCw=="), "123456789", nullptr), "123456789");
  EXPECT_EQ(read_all(head("Content-MD5", "JfnnlDI7RTiF9RgfG2JNCw=="), "123456780", nullptr),
            "error:BadDigest");
  EXPECT_EQ(read_all(head("Content-MD5", "not-md5"), "123456789", nullptr), "error:InvalidDigest");
  EXPECT_EQ(read_all(head("x-amz-checksum-crc32", "y/Q5Jg=="), "123456789", nullptr), "123456789");
  EXPECT_EQ(read_all(head("x-amz-checksum-crc32", "y/Q5Jg=="), "12345678", nullptr), "error:BadDigest");
}

TEST(VerifiedBody, ChecksAStreamedBodyAgainstItsHexPayloadHash) {
  // sha256("Welcome to Amazon S3."), from S3's documented PUT example.
  const auto head = make_request(
      "PUT", "/bucket/key",
      {{"Host", "localhost"},
       {"x-amz-content-sha256", "44ce7dd67c959e0d3524ffac1771dfbba87d2b6b4b4e99e42034a8b803f8b072"}});
  EXPECT_EQ(read_all(head, "Welcome to Amazon S3.", nullptr, 5), "Welcome to Amazon S3.");
  EXPECT_EQ(read_all(head, "Welcome to Amazon S4.", nullptr, 5), "error:XAmzContentSHA256Mismatch");
}

TEST(VerifiedBody, EveryReadAfterAFailureFailsAgain) {
  PieceReader source("9\r\n123456789\r\n0\r\nx-amz-checksum-crc32:AAAAAA==\r\n\r\n", 100);
  const auto head = unsigned_trailer_head("crc32");
  const std::vector<server::RouteParam> params;
  const server::RouteRequest request{head, params, &source, "", ""};
  auto body = verified_body(request, nullptr);
  char buffer[100];
  EXPECT_EQ(body->read(buffer, sizeof buffer), 9u);
  EXPECT_THROW(body->read(buffer, sizeof buffer), server::HttpError);
  EXPECT_THROW(body->read(buffer, sizeof buffer), server::HttpError);
}

}  // namespace
}  // namespace sluice::aws
