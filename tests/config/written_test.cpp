// A parsed pipeline tells what the file wrote from what is a default (an exporter writes only the
// former), even where the value written equals the default.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "config/pipeline.h"

namespace sluice::config {
namespace {

const char* kFile = R"(buckets: [raw]
server: {port: 9870}
sources:
  users:
    url: https://example.com/users
    retry: {max_attempts: 5}
    to: s3://raw/users.json
streams:
  events: {shards: 1}
  quiet:
processors:
  p:
    input: {bucket: raw, prefix: in/}
    steps: [flatten]
    output: {key: "out/{name}"}
)";

TEST(ConfigWritten, KeysTheFileWroteAreKnownEvenWithTheDefaultValue) {
  const Pipeline p = parse_pipeline(kFile, "p.yaml");
  // Written, though each equals its default.
  EXPECT_EQ(p.server.port, 9870);
  EXPECT_TRUE(p.written("server.port"));
  EXPECT_EQ(p.find_source("users")->retry.max_attempts, 5);
  EXPECT_TRUE(p.written("sources.users.retry.max_attempts"));
  EXPECT_TRUE(p.written("streams.events.shards"));
  // Sections, entries and intermediate mappings count as written.
  for (const char* path :
       {"server", "buckets", "sources", "sources.users", "sources.users.retry", "sources.users.to",
        "streams.quiet", "processors.p.input", "processors.p.input.prefix", "processors.p.steps"})
    EXPECT_TRUE(p.written(path)) << path;
}

TEST(ConfigWritten, DefaultsAreNotWritten) {
  const Pipeline p = parse_pipeline(kFile, "p.yaml");
  for (const char* path : {"server.host", "version", "data_dir", "query", "sources.users.retry.base_delay",
                           "sources.users.timeout", "streams.events.fsync", "streams.quiet.shards",
                           "processors.p.output.format", "processors.p.error_prefix", "sources.nobody"})
    EXPECT_FALSE(p.written(path)) << path;
  // The defaults are still there for whoever runs the pipeline.
  EXPECT_EQ(p.server.host, "127.0.0.1");
  EXPECT_EQ(p.find_stream("quiet")->shards, 1);
  EXPECT_EQ(p.query.output_bucket, "raw");
}

TEST(ConfigWritten, DestinationsAreParsedOnceIntoTypedValues) {
  const Pipeline p = parse_pipeline(R"(buckets: [raw]
sources:
  a:
    url: http://127.0.0.1/a
    to: s3://raw/a/{date}.json
  b:
    url: http://127.0.0.1/b
    to: stream://events
streams:
  events:
)",
                                    "p.yaml");
  ASSERT_TRUE(p.find_source("a")->destination.has_value());
  EXPECT_EQ(*p.find_source("a")->destination, Destination(S3Location{"raw", "a/{date}.json"}));
  EXPECT_EQ(*p.find_source("b")->destination, Destination(StreamName{"events"}));
}

}  // namespace
}  // namespace sluice::config
