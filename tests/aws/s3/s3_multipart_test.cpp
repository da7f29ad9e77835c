// Multipart uploads through Router::serve: staging, listing, completion with S3's ETag, the errors,
// and uploads surviving a restart.
#include <gmock/gmock.h>

#include "storage/md5.h"
#include "tests/aws/s3/s3_fixture.h"

namespace sluice::aws::s3_test {
namespace {

using ::testing::HasSubstr;

std::string between(const std::string& text, const std::string& open, const std::string& close) {
  const auto at = text.find(open);
  if (at == std::string::npos) return "";
  const auto start = at + open.size();
  return text.substr(start, text.find(close, start) - start);
}

std::string bytes_of_hex(const std::string& hex) {
  std::string out;
  for (size_t i = 0; i < hex.size(); i += 2)
    out.push_back(static_cast<char>(std::stoi(hex.substr(i, 2), nullptr, 16)));
  return out;
}

class S3MultipartTest : public S3Test {
 protected:
  std::string create(const std::string& key) {
    const auto reply = call("POST", "/declared/" + key + "?uploads",
                            {{"Content-Type", "application/json"}, {"X-Amz-Meta-M", "v"}});
    EXPECT_EQ(reply.status, 200) << reply.body;
    return between(reply.body, "<UploadId>", "</UploadId>");
  }
  std::string part(const std::string& key, const std::string& id, int number, const std::string& data) {
    const auto reply = call(
        "PUT", "/declared/" + key + "?partNumber=" + std::to_string(number) + "&uploadId=" + id, {}, data);
    EXPECT_EQ(reply.status, 200) << reply.body;
    return reply.header("ETag");
  }
  Answer complete(const std::string& key, const std::string& id,
                  const std::vector<std::pair<int, std::string>>& parts) {
    std::string body = "<CompleteMultipartUpload>";
    for (const auto& [number, etag] : parts)
      body += "<Part><PartNumber>" + std::to_string(number) + "</PartNumber><ETag>" + etag + "</ETag></Part>";
    return call("POST", "/declared/" + key + "?uploadId=" + id, {}, body + "</CompleteMultipartUpload>");
  }
};

TEST_F(S3MultipartTest, CompletedUploadIsOneObjectWithTheMultipartEtagAndOneEvent) {
  const std::string first(5 << 20, 'a');
  const std::string second = "tail";
  const std::string id = create("big.bin");
  ASSERT_EQ(id.size(), 32u);
  const auto etag1 = part("big.bin", id, 1, first);
  const auto etag2 = part("big.bin", id, 2, second);
  const auto parts = call("GET", "/declared/big.bin?uploadId=" + id);
  EXPECT_THAT(parts.body, HasSubstr("<PartNumber>2</PartNumber>"));
  EXPECT_THAT(parts.body, HasSubstr("<Size>5242880</Size>"));
  EXPECT_THAT(call("GET", "/declared?uploads").body, HasSubstr("<UploadId>" + id + "</UploadId>"));

  const auto done = complete("big.bin", id, {{1, etag1}, {2, etag2}});
  ASSERT_EQ(done.status, 200) << done.body;
  // S3's rule: the MD5 of the parts' binary MD5s, then "-" and the number of parts.
  const std::string md5s = bytes_of_hex(storage::md5_hex(first)) + bytes_of_hex(storage::md5_hex(second));
  const std::string expected = "\"" + storage::md5_hex(md5s) + "-2\"";
  EXPECT_THAT(done.body, HasSubstr("<ETag>" + expected + "</ETag>"));
  const auto object = call("GET", "/declared/big.bin");
  EXPECT_EQ(object.header("ETag"), expected);
  EXPECT_EQ(object.body.size(), first.size() + second.size());
  EXPECT_EQ(object.body.substr(first.size()), "tail");
  EXPECT_EQ(object.header("Content-Type"), "application/json");
  EXPECT_EQ(object.header("x-amz-meta-m"), "v");
  EXPECT_EQ(events_.committed().size(), 1u);
  EXPECT_THAT(call("GET", "/declared/big.bin?uploadId=" + id).body, HasSubstr("<Code>NoSuchUpload</Code>"));
  EXPECT_EQ(std::filesystem::is_empty(root_ / "multipart"), true);
}

TEST_F(S3MultipartTest, CompletionRefusesSmallPartsWrongOrderAndUnknownParts) {
  const std::string id = create("k");
  const auto etag1 = part("k", id, 1, "small");
  const auto etag2 = part("k", id, 2, "small");
  EXPECT_THAT(complete("k", id, {{1, etag1}, {2, etag2}}).body, HasSubstr("<Code>EntityTooSmall</Code>"));
  EXPECT_THAT(complete("k", id, {{2, etag2}, {1, etag1}}).body, HasSubstr("<Code>InvalidPartOrder</Code>"));
  EXPECT_THAT(complete("k", id, {{3, etag1}}).body, HasSubstr("<Code>InvalidPart</Code>"));
  EXPECT_THAT(complete("k", id, {{1, "\"0000\""}}).body, HasSubstr("<Code>InvalidPart</Code>"));
  EXPECT_THAT(call("PUT", "/declared/k?partNumber=10001&uploadId=" + id, {}, "x").body,
              HasSubstr("<Code>InvalidArgument</Code>"));
  EXPECT_EQ(events_.committed().size(), 0u);
  // A single small part is a whole object.
  EXPECT_EQ(complete("k", id, {{2, etag2}}).status, 200);
  EXPECT_EQ(call("GET", "/declared/k").body, "small");
}

TEST_F(S3MultipartTest, UploadsSurviveARestartAndAbortRemovesThem) {
  const std::string id = create("kept");
  const auto etag = part("kept", id, 1, "before restart");
  open();
  EXPECT_THAT(call("GET", "/declared/kept?uploadId=" + id).body, HasSubstr("<ETag>" + etag + "</ETag>"));
  EXPECT_EQ(call("DELETE", "/declared/kept?uploadId=" + id).status, 204);
  const auto gone = call("DELETE", "/declared/kept?uploadId=" + id);
  EXPECT_EQ(gone.status, 404);
  EXPECT_THAT(gone.body, HasSubstr("<Code>NoSuchUpload</Code>"));
  EXPECT_THAT(call("GET", "/declared/kept?uploadId=../../etc").body, HasSubstr("<Code>NoSuchUpload</Code>"));
  EXPECT_THAT(call("GET", "/declared/other?uploadId=" + create("kept")).body,
              HasSubstr("<Code>NoSuchUpload</Code>"));
}

}  // namespace
}  // namespace sluice::aws::s3_test
