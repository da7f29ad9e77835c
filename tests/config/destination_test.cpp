#include "config/destination.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace sluice::config {
namespace {

using ::testing::HasSubstr;

TEST(ConfigDestination, ASourceWritesToAnObjectKeyOrAStream) {
  std::string why;
  EXPECT_EQ(parse_destination("s3://raw/users/{date}.json", &why),
            Destination(S3Location{"raw", "users/{date}.json"}));
  EXPECT_EQ(parse_destination("stream://events", &why), Destination(StreamName{"events"}));
  EXPECT_EQ(to_string(*parse_destination("s3://raw/a/b", &why)), "s3://raw/a/b");
  EXPECT_EQ(to_string(*parse_destination("stream://events", &why)), "stream://events");
  for (const auto& [text, expected] : std::vector<std::pair<std::string, std::string>>{
           {"https://raw/x", "expected s3://BUCKET/KEY-TEMPLATE or stream://STREAM, got \"https://raw/x\""},
           {"s3://raw/", "expected s3://BUCKET/KEY-TEMPLATE with a bucket and a key, got \"s3://raw/\""},
           {"s3://raw", "with a bucket and a key"},
           {"s3:///key", "with a bucket and a key"},
           {"stream://", "expected stream://STREAM-NAME, got \"stream://\""},
           {"stream://a/b", "expected stream://STREAM-NAME"}}) {
    why.clear();
    EXPECT_EQ(parse_destination(text, &why), std::nullopt) << text;
    EXPECT_THAT(why, HasSubstr(expected)) << text;
  }
}

TEST(ConfigDestination, FoldersKeepTheirPrefixOrEndItWithASlash) {
  std::string why;
  EXPECT_EQ(parse_s3_folder("s3://lake/raw/x", &why),
            (S3Location{"lake", "raw/x"}));  // deliveries: as written
  EXPECT_EQ(parse_s3_folder("s3://lake", &why), (S3Location{"lake", ""}));
  EXPECT_EQ(parse_s3_folder_slash("s3://lake/raw/x", &why), (S3Location{"lake", "raw/x/"}));
  EXPECT_EQ(parse_s3_folder_slash("s3://lake/", &why), (S3Location{"lake", ""}));
  EXPECT_EQ(parse_s3_folder("lake/raw/", &why), std::nullopt);
  EXPECT_EQ(why, "expected s3://BUCKET/PREFIX/, got \"lake/raw/\"");
  EXPECT_EQ(parse_s3_folder_slash("s3:///raw/", &why), std::nullopt);
  EXPECT_EQ(why, "expected s3://BUCKET/PREFIX/ with a bucket, got \"s3:///raw/\"");
}

TEST(ConfigDestination, AnObjectNeedsABucketAndAKey) {
  EXPECT_EQ(parse_s3_object("s3://out/athena/results/q.csv"), (S3Location{"out", "athena/results/q.csv"}));
  EXPECT_EQ(parse_s3_object("s3://out/"), std::nullopt);
  EXPECT_EQ(parse_s3_object("s3://out"), std::nullopt);
  EXPECT_EQ(parse_s3_object(""), std::nullopt);
  EXPECT_EQ(parse_s3_object("stream://out/x"), std::nullopt);
}

}  // namespace
}  // namespace sluice::config
