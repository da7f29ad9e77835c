// A pipeline file declares a DirectPut delivery (direct_put: true, no stream:), and its mistakes are
// reported with file:line:column like every other key.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "config/diagnostic.h"
#include "config/pipeline.h"

namespace sluice::config {
namespace {

using ::testing::HasSubstr;

TEST(DirectPutDeliveryConfig, IsReadWithoutAStream) {
  const Pipeline p = parse_pipeline(R"(buckets: [lake]
deliveries:
  producers:
    direct_put: true
    to: s3://lake/in/
    buffer: {size: 2MiB, interval: 10s}
    compression: gzip
)",
                                    "p.yaml");
  ASSERT_EQ(p.deliveries.size(), 1u);
  const auto& d = p.deliveries[0];
  EXPECT_TRUE(d.direct_put);
  EXPECT_EQ(d.stream, "");
  EXPECT_EQ(d.bucket, "lake");
  EXPECT_EQ(d.prefix, "in/");
  EXPECT_EQ(d.buffer_bytes, 2u << 20);
  EXPECT_EQ(d.compression, delivery::Compression::kGzip);
}

TEST(DirectPutDeliveryConfig, MistakesAreReportedAtTheirPlace) {
  const std::string yaml = R"(buckets: [lake]
streams:
  s: {shards: 1}
deliveries:
  both:
    direct_put: true
    stream: s
    to: s3://lake/a/
  neither:
    to: s3://lake/b/
  not-a-bool:
    direct_put: sometimes
    to: s3://lake/c/
  a-name-longer-than-firehose-allows-0123456789012345678901234567890123:
    direct_put: true
    to: s3://lake/d/
)";
  try {
    parse_pipeline(yaml, "p.yaml");
    FAIL() << "accepted";
  } catch (const ConfigError& e) {
    const std::string all = e.what();
    EXPECT_THAT(all, HasSubstr("p.yaml:7:13: deliveries.both.stream: a direct_put delivery is fed by"));
    EXPECT_THAT(all, HasSubstr("p.yaml:10:5: deliveries.neither: missing required key \"stream\""));
    EXPECT_THAT(all, HasSubstr("p.yaml:12:17: deliveries.not-a-bool.direct_put"));
    EXPECT_THAT(all, HasSubstr("1 to 64 characters"));
  }
}

}  // namespace
}  // namespace sluice::config
