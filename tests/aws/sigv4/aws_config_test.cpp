// server.aws in the pipeline file: the region and access keys SigV4 is verified against.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "config/diagnostic.h"
#include "config/pipeline.h"

namespace sluice::config {
namespace {

std::string errors_of(const std::string& yaml) {
  try {
    parse_pipeline(yaml, "p.yaml");
  } catch (const ConfigError& e) {
    return e.what();
  }
  return "";
}

TEST(ServerAwsConfig, DefaultsToUsEast1WithoutKeys) {
  const Pipeline p = parse_pipeline("buckets: [raw]\n", "p.yaml");
  EXPECT_EQ(p.server.aws.region, "us-east-1");
  EXPECT_TRUE(p.server.aws.credentials.empty());
}

TEST(ServerAwsConfig, ReadsRegionAndKeys) {
  const Pipeline p = parse_pipeline(R"(server:
  aws:
    region: eu-west-3
    credentials:
      - {access_key_id: AKIAIOSFODNN7EXAMPLE, secret_env: PIPELINE_SECRET}
      - access_key_id: AKIDSECOND
        secret_env: OTHER_SECRET
)",
                                    "p.yaml");
  EXPECT_EQ(p.server.aws.region, "eu-west-3");
  ASSERT_EQ(p.server.aws.credentials.size(), 2u);
  EXPECT_EQ(p.server.aws.credentials[0].access_key_id, "AKIAIOSFODNN7EXAMPLE");
  EXPECT_EQ(p.server.aws.credentials[0].secret_env, "PIPELINE_SECRET");
  EXPECT_EQ(p.server.aws.credentials[1].secret_env, "OTHER_SECRET");
}

TEST(ServerAwsConfig, RefusesSecretsInTheFileAndBadNames) {
  EXPECT_THAT(errors_of("server: {aws: {credentials: [{access_key_id: AKID1, secret: abc}]}}\n"),
              ::testing::HasSubstr("secret"));
  EXPECT_THAT(errors_of("server: {aws: {credentials: [{access_key_id: AKID1}]}}\n"),
              ::testing::HasSubstr("secret_env"));
  EXPECT_THAT(errors_of("server: {aws: {credentials: [{access_key_id: AK/ID, secret_env: S}]}}\n"),
              ::testing::HasSubstr("access_key_id"));
  EXPECT_THAT(errors_of("server: {aws: {credentials: [{access_key_id: A, secret_env: S}, "
                        "{access_key_id: A, secret_env: T}]}}\n"),
              ::testing::HasSubstr("listed twice"));
  EXPECT_THAT(errors_of("server: {aws: {region: US East}}\n"), ::testing::HasSubstr("server.aws.region"));
  EXPECT_THAT(errors_of("server: {aws: {credentials: AKID}}\n"),
              ::testing::HasSubstr("server.aws.credentials"));
}

}  // namespace
}  // namespace sluice::config
