// StreamStore at run time: streams created and deleted while it is open (CreateStream/DeleteStream),
// their persisted configuration, and what a crash in the middle of either leaves.
#include "stream/stream_store.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <atomic>
#include <thread>

#include "common/fs.h"
#include "stream/local_stream.h"
#include "tests/common/expect_error.h"
#include "tests/common/temp_dir.h"

namespace sluice::stream {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using namespace std::chrono_literals;

std::vector<PutRecord> records(int first, int n) {
  std::vector<PutRecord> out;
  for (int i = first; i < first + n; ++i)
    out.push_back({"key-" + std::to_string(i), "record " + std::to_string(i), std::nullopt});
  return out;
}

size_t count_records(const Stream& s) {
  size_t n = 0;
  for (const auto& shard : s.describe().shards) {
    auto position = s.position(shard.shard_id, StartingPosition::trim_horizon());
    for (;;) {
      auto read = s.read(position);
      if (read.records.empty()) break;
      n += read.records.size();
      position = read.next;
    }
  }
  return n;
}

class StreamStoreTest : public ::testing::Test {
 protected:
  std::filesystem::path root() const { return tmp_.path() / "streams"; }
  static StreamConfig declared() { return {.name = "declared", .shards = 1}; }
  static StreamConfig created() {
    return {.name = "created",
            .shards = 3,
            .fsync = StreamConfig::FsyncPolicy::kInterval,
            .fsync_interval = 250ms,
            .segment_bytes = 4096,
            .retention = 2h,
            .max_pending_bytes = 1 << 20,
            .min_free_bytes = 0};
  }
  testing_util::TempDir tmp_;
};

TEST_F(StreamStoreTest, AStreamCreatedAtRunTimeSurvivesAReopenAndIsListed) {
  {
    StreamStore store(root(), {declared()});
    Stream& s = store.create(created());
    s.put(records(0, 30));
    EXPECT_THAT(store.names(), ElementsAre("created", "declared"));
    EXPECT_TRUE(store.declared("declared"));
    EXPECT_FALSE(store.declared("created"));
    EXPECT_TRUE(std::filesystem::exists(root() / "created" / "stream.config"));
  }
  StreamStore store(root(), {declared()});  // the pipeline file still declares only "declared"
  EXPECT_THAT(store.names(), ElementsAre("created", "declared"));
  const Stream& s = store.get("created");
  EXPECT_EQ(count_records(s), 30u);
  const StreamConfig& c = s.config();
  EXPECT_EQ(c.shards, 3);
  EXPECT_EQ(c.fsync, StreamConfig::FsyncPolicy::kInterval);
  EXPECT_EQ(c.fsync_interval, 250ms);
  EXPECT_EQ(c.segment_bytes, 4096u);
  EXPECT_EQ(c.retention, 2h);
  EXPECT_EQ(c.max_pending_bytes, 1u << 20);
  EXPECT_EQ(c.min_free_bytes, 0u);
  EXPECT_EQ(store.describe().size(), 2u);
  // Declaring it later makes the file's configuration win, and the shard count is checked as ever.
  EXPECT_TRUE(testing_util::fails_with<Error>(
      [&] {
        StreamStore again(root(), {declared(), {.name = "created", .shards = 1}});
      },
      "has 3 shards but the configuration asks for 1"));
}

TEST_F(StreamStoreTest, CreateRefusesTakenNamesAndBadConfigurationsAndLeavesNothing) {
  StreamStore store(root(), {declared()});
  EXPECT_TRUE(testing_util::fails_with<StreamExists>([&] { store.create(declared()); },
                                                     "a stream named 'declared' already exists"));
  store.create(created());
  EXPECT_TRUE(testing_util::fails_with<StreamExists>([&] { store.create(created()); }, "already exists"));
  EXPECT_TRUE(testing_util::fails_with<Error>([&] { store.create({.name = "zero", .shards = 0}); },
                                              "stream 'zero': shards is 0; it must be 1..64"));
  EXPECT_TRUE(testing_util::fails_with<Error>([&] { store.create({.name = "a/b"}); }, "is not valid"));
  EXPECT_TRUE(
      testing_util::fails_with<Error>([&] { store.create({.name = "~creating-x"}); }, "is not valid"));
  // The files of a stream once declared, then removed from the pipeline file: never taken over.
  fs::create_directories_durable(root() / "old" / "shardId-000000000000");
  EXPECT_TRUE(testing_util::fails_with<Error>([&] { store.create({.name = "old"}); },
                                              "already holds the files of a stream that is not open"));
  std::vector<std::string> entries;
  for (const auto& e : std::filesystem::directory_iterator(root())) entries.push_back(e.path().filename());
  std::sort(entries.begin(), entries.end());
  EXPECT_THAT(entries, ElementsAre("created", "declared", "old"));
  EXPECT_THAT(store.names(), ElementsAre("created", "declared"));
}

TEST_F(StreamStoreTest, RemoveDeletesTheFilesAndRefusesDeclaredStreams) {
  StreamStore store(root(), {declared()});
  store.create(created()).put(records(0, 10));
  std::shared_ptr<Stream> held = store.share("created");
  const Position position = held->position(shard_id(0), StartingPosition::trim_horizon());

  store.remove("created");
  EXPECT_FALSE(std::filesystem::exists(root() / "created"));
  EXPECT_THAT(store.names(), ElementsAre("declared"));
  EXPECT_TRUE(testing_util::fails_with<StreamNotFound>([&] { store.get("created"); }, "no stream named"));
  // Whoever still holds it learns that it is gone; nothing is written into removed files.
  EXPECT_TRUE(testing_util::fails_with<StreamNotFound>([&] { held->put(records(0, 1)); },
                                                       "stream 'created' was deleted"));
  EXPECT_TRUE(testing_util::fails_with<StreamNotFound>([&] { held->read(position); }, "was deleted"));
  EXPECT_EQ(held->enforce_retention(now_ms() + 1000h), 0u);

  EXPECT_TRUE(testing_util::fails_with<Error>([&] { store.remove("declared"); },
                                              "stream 'declared' is declared in the pipeline file"));
  EXPECT_TRUE(
      testing_util::fails_with<StreamNotFound>([&] { store.remove("nope"); }, "no stream named 'nope'"));
  EXPECT_EQ(count_records(store.get("declared")), 0u);

  // The name is free again, and a new stream under it starts empty.
  EXPECT_EQ(count_records(store.create(created())), 0u);
  store.remove("created");
  StreamStore reopened(root(), {declared()});
  EXPECT_THAT(reopened.names(), ElementsAre("declared"));
}

TEST_F(StreamStoreTest, WhatAnInterruptedCreateOrDeleteLeftIsRemovedAtOpen) {
  fs::write_file_atomic(root() / "~creating-half" / "stream.config", format_stream_config(created()));
  fs::write_file_atomic(root() / "~deleting-gone" / "shardId-000000000000" / "00000000000000000000.log", "x");
  fs::create_directories_durable(root() / "old" / "shardId-000000000000");  // no stream.config: left alone
  StreamStore store(root(), {declared()});
  EXPECT_FALSE(std::filesystem::exists(root() / "~creating-half"));
  EXPECT_FALSE(std::filesystem::exists(root() / "~deleting-gone"));
  EXPECT_TRUE(std::filesystem::exists(root() / "old" / "shardId-000000000000"));
  EXPECT_THAT(store.names(), ElementsAre("declared"));
}

TEST_F(StreamStoreTest, ADamagedStreamConfigIsOneLineNamingTheFileAndLine) {
  const auto file = root() / "bad" / "stream.config";
  fs::write_file_atomic(file, "# comment\nname=bad\nshards=two\n");
  EXPECT_TRUE(testing_util::fails_with<Error>([&] { StreamStore store(root(), {}); },
                                              file.string() + ":3: 'shards=two' is not a known key"));
  fs::write_file_atomic(file, "name=bad\nshards=1\ncolour=blue\n");
  EXPECT_TRUE(testing_util::fails_with<Error>([&] { StreamStore store(root(), {}); }, ":3: 'colour=blue'"));
  fs::write_file_atomic(file, "name=other\nshards=1\n");
  EXPECT_TRUE(
      testing_util::fails_with<Error>([&] { StreamStore store(root(), {}); },
                                      "names stream 'other' but is in the directory of stream 'bad'"));
  fs::write_file_atomic(file, "name=bad\n");
  EXPECT_TRUE(testing_util::fails_with<Error>([&] { StreamStore store(root(), {}); },
                                              "name= and shards= are required"));
  fs::write_file_atomic(file, "name=bad\nshards=1\nretention_ms=0\n");
  EXPECT_TRUE(
      testing_util::fails_with<Error>([&] { StreamStore store(root(), {}); }, "retention must be positive"));
  // What format_stream_config writes, parse_stream_config reads back whole.
  const StreamConfig c = parse_stream_config(format_stream_config(created()), file);
  EXPECT_EQ(format_stream_config(c), format_stream_config(created()));
  EXPECT_EQ(c.name, "created");
  EXPECT_EQ(c.retention, 2h);
}

// A writer keeps putting through share() while the stream is removed: every put either succeeds or
// says the stream was deleted, and nothing crashes (the sanitizers check the rest).
TEST_F(StreamStoreTest, RemovalRacesWritersSafely) {
  StreamStore store(root(), {});
  store.create({.name = "busy", .shards = 2, .fsync = StreamConfig::FsyncPolicy::kNever});
  std::atomic<bool> started{false};
  std::atomic<int> refused{0};
  std::thread writer([&] {
    auto s = store.share("busy");
    for (int i = 0; i < 2000; ++i) {
      try {
        s->put(records(i, 5));
      } catch (const StreamNotFound&) {
        ++refused;
        break;
      }
      started = true;
    }
  });
  while (!started.load()) std::this_thread::yield();
  store.remove("busy");
  writer.join();
  EXPECT_FALSE(std::filesystem::exists(root() / "busy"));
  EXPECT_LE(refused.load(), 1);
  EXPECT_TRUE(
      testing_util::fails_with<StreamNotFound>([&] { store.share("busy"); }, "no stream named 'busy'"));
}

}  // namespace
}  // namespace sluice::stream
