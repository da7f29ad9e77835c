// StreamStore's run-time attributes (Kinesis retention changes and tags): applied at once, kept across
// a reopen for declared and created streams, dropped when the pipeline file's retention changes.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "common/fs.h"
#include "stream/local_stream.h"
#include "stream/stream_store.h"
#include "tests/common/expect_error.h"
#include "tests/common/temp_dir.h"

namespace sluice::stream {
namespace {

using namespace std::chrono_literals;

class StreamAttributesTest : public ::testing::Test {
 protected:
  std::filesystem::path root() const { return tmp_.path() / "streams"; }
  static StreamConfig declared(std::chrono::milliseconds retention = 24h) {
    return {.name = "declared", .shards = 1, .retention = retention, .min_free_bytes = 0};
  }
  testing_util::TempDir tmp_;
};

TEST_F(StreamAttributesTest, ARetentionChangeAppliesAtOnceAndSurvivesAReopen) {
  {
    StreamStore store(root(), {declared()});
    store.create({.name = "made", .shards = 2, .min_free_bytes = 0});
    EXPECT_EQ(store.attributes("declared").retention, 24h);
    store.set_retention("declared", 48h);
    store.set_retention("made", 72h);
    EXPECT_EQ(store.attributes("declared").retention, 48h);
    EXPECT_EQ(store.get("made").describe().config.retention, 72h);
  }
  StreamStore reopened(root(), {declared()});
  EXPECT_EQ(reopened.attributes("declared").retention, 48h);
  EXPECT_EQ(reopened.attributes("made").retention, 72h);
  EXPECT_EQ(reopened.get("declared").config().retention, 24h);  // the configuration stays as opened
}

TEST_F(StreamAttributesTest, AChangedPipelineRetentionWinsOverTheRunTimeOne) {
  {
    StreamStore store(root(), {declared()});
    store.set_retention("declared", 48h);
  }
  StreamStore reopened(root(), {declared(36h)});
  EXPECT_EQ(reopened.attributes("declared").retention, 36h);
}

TEST_F(StreamAttributesTest, RetentionEnforcementUsesTheChangedRetention) {
  StreamStore store(root(), {{.name = "s", .shards = 1, .segment_bytes = 1024, .min_free_bytes = 0}});
  auto& stream = store.get("s");
  for (int i = 0; i < 40; ++i) stream.put(std::vector<PutRecord>{{"k", std::string(200, 'x'), std::nullopt}});
  const auto later = now_ms() + 30h;
  EXPECT_GT(store.enforce_retention(later), 0u);  // 24 h: old segments go
  for (int i = 0; i < 40; ++i) stream.put(std::vector<PutRecord>{{"k", std::string(200, 'x'), std::nullopt}});
  store.set_retention("s", 48h);
  EXPECT_EQ(store.enforce_retention(later), 0u);  // 48 h: everything stays
}

TEST_F(StreamAttributesTest, TagsAreEditedAtomicallyAndPersisted) {
  {
    StreamStore store(root(), {declared()});
    store.update_tags("declared", [](StreamTags& tags) {
      tags["team"] = "data";
      tags["odd key=with %chars\n"] = "välue=1\n";
    });
    // An edit that throws changes nothing.
    EXPECT_THROW(store.update_tags("declared",
                                   [](StreamTags& tags) {
                                     tags.clear();
                                     throw Error("refused");
                                   }),
                 Error);
    EXPECT_EQ(store.attributes("declared").tags.size(), 2u);
  }
  StreamStore reopened(root(), {declared()});
  const auto tags = reopened.attributes("declared").tags;
  ASSERT_EQ(tags.size(), 2u);
  EXPECT_EQ(tags.at("team"), "data");
  EXPECT_EQ(tags.at("odd key=with %chars\n"), "välue=1\n");
}

TEST_F(StreamAttributesTest, UnknownStreamsAndDamagedFilesAreRefused) {
  {
    StreamStore store(root(), {declared()});
    EXPECT_THROW(store.attributes("nope"), StreamNotFound);
    EXPECT_THROW(store.set_retention("nope", 48h), StreamNotFound);
    EXPECT_THROW(store.update_tags("nope", [](StreamTags&) {}), StreamNotFound);
    EXPECT_THROW(store.set_retention("declared", 0ms), Error);
    EXPECT_GT(to_epoch_ms(store.attributes("declared").created), 0);
  }
  fs::write_file_atomic(root() / "declared" / kStreamAttributesFile, "retention_ms=banana\n");
  EXPECT_TRUE(testing_util::fails_with<Error>([&] { StreamStore store(root(), {declared()}); },
                                              "stream.attributes:1"));
}

}  // namespace
}  // namespace sluice::stream
