#include "delivery/delivery.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>

#include "common/compress.h"
#include "delivery/metastore_progress.h"
#include "metastore/metastore.h"
#include "storage/local_object_store.h"
#include "stream/local_stream.h"
#include "tests/common/expect_error.h"
#include "tests/common/temp_dir.h"

namespace sluice::delivery {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using namespace std::chrono_literals;

// 2026-11-24T10:15:30Z
const TimePoint kArrival = TimePoint(std::chrono::milliseconds(1795515330000));

// An object store that fails every put after the first `budget` ones: a crash in the middle of a batch.
class FailingStore : public storage::ObjectStore {
 public:
  FailingStore(storage::ObjectStore& inner, int budget) : inner_(inner), budget_(budget) {}
  std::vector<std::string> buckets() const override { return inner_.buckets(); }
  bool has_bucket(std::string_view b) const override { return inner_.has_bucket(b); }
  storage::ObjectInfo put(std::string_view b, std::string_view k, std::string_view d) override {
    if (budget_-- <= 0) throw Error("injected failure before writing " + std::string(k));
    return inner_.put(b, k, d);
  }
  std::string get(std::string_view b, std::string_view k) const override { return inner_.get(b, k); }
  std::optional<storage::ObjectInfo> head(std::string_view b, std::string_view k) const override {
    return inner_.head(b, k);
  }
  storage::ListResult list(std::string_view b, const storage::ListRequest& r) const override {
    return inner_.list(b, r);
  }
  bool remove(std::string_view b, std::string_view k) override { return inner_.remove(b, k); }

 private:
  storage::ObjectStore& inner_;
  int budget_;
};

// An object store that fails the puts whose call index (0, 1, 2, ...) is in `failing` as a full disk
// does (SystemError, nothing written), and keeps every put it was asked for.
class FlakyStore : public storage::ObjectStore {
 public:
  FlakyStore(storage::ObjectStore& inner, std::set<int> failing)
      : inner_(inner), failing_(std::move(failing)) {}
  std::vector<std::string> buckets() const override { return inner_.buckets(); }
  bool has_bucket(std::string_view b) const override { return inner_.has_bucket(b); }
  storage::ObjectInfo put(std::string_view b, std::string_view k, std::string_view d) override {
    if (failing_.contains(calls_++)) {
      failed_.emplace_back(k, d);
      throw SystemError("cannot write objects/" + std::string(b) + "/" + std::string(k) +
                        ": No space left on device");
    }
    written_[std::string(k)].emplace_back(d);
    return inner_.put(b, k, d);
  }
  std::string get(std::string_view b, std::string_view k) const override { return inner_.get(b, k); }
  std::optional<storage::ObjectInfo> head(std::string_view b, std::string_view k) const override {
    return inner_.head(b, k);
  }
  storage::ListResult list(std::string_view b, const storage::ListRequest& r) const override {
    return inner_.list(b, r);
  }
  bool remove(std::string_view b, std::string_view k) override { return inner_.remove(b, k); }

  const std::vector<std::pair<std::string, std::string>>& failed() const { return failed_; }
  const std::map<std::string, std::vector<std::string>>& written() const { return written_; }

 private:
  storage::ObjectStore& inner_;
  std::set<int> failing_;
  int calls_ = 0;
  std::vector<std::pair<std::string, std::string>> failed_;  // key, body of each failed put
  std::map<std::string, std::vector<std::string>> written_;  // key -> each body written under it
};

// Progress whose begin / commit calls with the given indexes fail as a metastore on a full disk does.
class FlakyProgress : public DeliveryProgress {
 public:
  FlakyProgress(DeliveryProgress& inner, std::set<int> failing_begins, std::set<int> failing_commits)
      : inner_(inner),
        failing_begins_(std::move(failing_begins)),
        failing_commits_(std::move(failing_commits)) {}
  ShardProgress load(const std::string& delivery, const std::string& shard) override {
    return inner_.load(delivery, shard);
  }
  void begin(const std::string& delivery, const std::string& shard, const std::string& first,
             const std::string& last) override {
    if (failing_begins_.contains(begins_++)) throw SystemError("metastore: database or disk is full");
    inner_.begin(delivery, shard, first, last);
  }
  void commit(const std::string& delivery, const std::string& shard, const std::string& last) override {
    if (failing_commits_.contains(commits_++)) throw SystemError("metastore: disk I/O error");
    inner_.commit(delivery, shard, last);
  }

 private:
  DeliveryProgress& inner_;
  std::set<int> failing_begins_, failing_commits_;
  int begins_ = 0, commits_ = 0;
};

class DeliveryTest : public ::testing::Test {
 protected:
  DeliveryTest() : store_(dir_.path() / "objects", {"lake"}, nullptr) {}

  stream::Stream& open_stream(int shards = 1) {
    stream_ = std::make_unique<stream::LocalStream>(dir_.path() / "streams" / "s",
                                                    stream::StreamConfig{.name = "s", .shards = shards},
                                                    stream::StreamHooks{.clock = [this] { return clock_; }});
    return *stream_;
  }
  std::vector<stream::PutResult> put(int from, int to, const std::string& key_prefix = "k") {
    std::vector<stream::PutRecord> records;
    for (int i = from; i < to; ++i) {
      records.push_back({key_prefix + std::to_string(i),
                         nlohmann::json{{"id", i},
                                        {"team", i % 2 ? "odd" : "even"},
                                        {"pad", std::string(60 - std::to_string(i).size(), 'x')}}
                             .dump(),
                         std::nullopt});
    }
    return stream_->put(records);
  }
  std::map<std::string, std::string> objects(const std::string& prefix = "") {
    std::map<std::string, std::string> out;
    storage::ListRequest request;
    request.prefix = prefix;
    for (const auto& o : store_.list("lake", request).objects) out[o.key] = store_.get("lake", o.key);
    return out;
  }
  // Every delivered record id, in the order of the objects and lines.
  std::vector<int> ids(const std::map<std::string, std::string>& objects) {
    std::vector<int> out;
    for (const auto& [key, body] : objects) {
      std::istringstream lines(body);
      for (std::string line; std::getline(lines, line);)
        out.push_back(nlohmann::json::parse(line)["id"].get<int>());
    }
    return out;
  }

  testing_util::TempDir dir_;
  storage::LocalObjectStore store_;
  TimePoint clock_ = kArrival;
  std::unique_ptr<stream::Stream> stream_;
  InMemoryDeliveryProgress progress_;
};

TEST_F(DeliveryTest, BuffersBySizeAndIntervalIntoFirehoseLayout) {
  auto& s = open_stream();
  put(0, 100);
  const size_t record =
      stream_->read(s.position(stream::shard_id(0), stream::StartingPosition::trim_horizon()), 1)
          .records[0]
          .data.size() +
      1;
  Delivery d(
      {.name = "d", .stream = "s", .bucket = "lake", .buffer_bytes = record * 30, .buffer_interval = 60s}, s,
      store_, progress_);
  auto first = d.poll(kArrival + 1s);
  EXPECT_EQ(first.records, 90u);  // three full buffers; 10 records wait for the interval
  EXPECT_EQ(first.objects.size(), 3u);
  EXPECT_EQ(d.poll(kArrival + 59s).records, 0u);
  auto late = d.poll(kArrival + 60s);
  EXPECT_EQ(late.records, 10u);
  auto all = objects();
  ASSERT_EQ(all.size(), 4u);
  const std::string seq0 = stream::format_sequence_number(0, 0),
                    seq29 = stream::format_sequence_number(0, 29);
  EXPECT_EQ(all.begin()->first,
            "2026/11/24/10/d-1-2026-11-24-10-15-30-shardId-000000000000-" + seq0 + "-" + seq29);
  std::vector<int> expected(100);
  for (int i = 0; i < 100; ++i) expected[i] = i;
  EXPECT_EQ(ids(all), expected);
  EXPECT_EQ(d.poll(kArrival + 1h).records, 0u);  // nothing twice
}

TEST_F(DeliveryTest, CompressionAndDynamicPartitioningWithErrorPrefix) {
  auto& s = open_stream();
  put(0, 6);
  stream::PutRecord bad{"x", "not json", std::nullopt};
  stream::PutRecord missing{"y", "{\"id\": 99}", std::nullopt};
  std::vector<stream::PutRecord> extra = {bad, missing};
  s.put(extra);
  Delivery d({.name = "d",
              .stream = "s",
              .bucket = "lake",
              .prefix = "raw/team=!{partitionKeyFromQuery:team}/!{timestamp:yyyy-MM-dd}/",
              .buffer_interval = 0ms,
              .compression = Compression::kGzip},
             s, store_, progress_);
  auto report = d.poll(kArrival);
  EXPECT_EQ(report.records, 6u);
  EXPECT_EQ(report.error_records, 2u);
  auto all = objects();
  ASSERT_EQ(all.size(), 3u);
  std::vector<std::string> keys;
  for (const auto& [k, v] : all) keys.push_back(k.substr(0, k.find("/d-1-")));
  EXPECT_THAT(keys, ElementsAre("delivery-errors/d/2026/11/24/10", "raw/team=even/2026-11-24",
                                "raw/team=odd/2026-11-24"));
  for (const auto& [k, v] : all) {
    EXPECT_THAT(k, ::testing::EndsWith(".gz"));
    EXPECT_TRUE(compress::is_gzip(v));
  }
  EXPECT_EQ(compress::gunzip(all.begin()->second), "not json\n{\"id\": 99}\n");
  std::map<std::string, std::string> plain;
  for (const auto& [k, v] : all)
    if (k.rfind("raw/", 0) == 0) plain[k] = compress::gunzip(v);
  EXPECT_THAT(ids(plain), ElementsAre(0, 2, 4, 1, 3, 5));

  EXPECT_THAT(validate_prefix("a/!{nope:x}/"), HasSubstr("unknown expression"));
  EXPECT_THAT(validate_prefix("a/!{timestamp:yyyy"), HasSubstr("unclosed"));
  EXPECT_EQ(validate_prefix("!{timestamp:yyyy/MM/dd/HH}/"), "");
}

TEST_F(DeliveryTest, ZstdRoundTrip) {
  auto& s = open_stream();
  put(0, 3);
  Delivery d({.name = "z",
              .stream = "s",
              .bucket = "lake",
              .buffer_interval = 0ms,
              .compression = Compression::kZstd},
             s, store_, progress_);
  d.poll(kArrival);
  auto all = objects();
  ASSERT_EQ(all.size(), 1u);
  EXPECT_THAT(all.begin()->first, ::testing::EndsWith(".zst"));
  std::map<std::string, std::string> plain = {{"x", compress::unzstd(all.begin()->second)}};
  EXPECT_THAT(ids(plain), ElementsAre(0, 1, 2));
}

// A failure in the middle of a batch (two of its three partition objects written), then a new
// Delivery (a restarted process) on the same progress: the batch is redone with the same names and
// bytes, and every record is delivered exactly once.
TEST_F(DeliveryTest, CrashMidBatchRewritesTheSameObjectsExactlyOnce) {
  auto& s = open_stream(2);
  for (int i = 0; i < 40; i += 10) put(i, i + 10, "key-" + std::to_string(i));
  DeliveryConfig config{.name = "d",
                        .stream = "s",
                        .bucket = "lake",
                        .prefix = "t=!{partitionKeyFromQuery:team}/",
                        .buffer_bytes = 1500,
                        .buffer_interval = 0ms};
  std::map<std::string, std::string> after_crash;
  {
    FailingStore failing(store_, 3);
    Delivery d(config, s, failing, progress_);
    EXPECT_TRUE(
        testing_util::fails_with<Error>([&] { d.poll(kArrival); }, "injected failure before writing t="));
    after_crash = objects();
  }
  ASSERT_EQ(after_crash.size(), 3u);
  bool pending = false;
  for (const auto& shard : s.describe().shards)
    pending = pending || progress_.load("d", shard.shard_id).pending;
  EXPECT_TRUE(pending);
  put(40, 50);  // more data arrives meanwhile: it must not change the pending batch
  Delivery restarted(config, s, store_, progress_);
  restarted.poll(kArrival);
  auto all = objects();
  for (const auto& [key, body] : after_crash) EXPECT_EQ(all.at(key), body) << key;  // rewritten identically
  std::vector<int> delivered = ids(all);
  std::multiset<int> seen(delivered.begin(), delivered.end());
  for (int i = 0; i < 50; ++i) EXPECT_EQ(seen.count(i), 1u) << "record " << i;
  EXPECT_EQ(seen.size(), 50u);
  // Per shard and partition, records are in sequence order.
  for (const auto& [key, body] : all) {
    std::map<std::string, std::string> one = {{key, body}};
    auto v = ids(one);
    EXPECT_TRUE(std::is_sorted(v.begin(), v.end())) << key;
  }
}

// The same Delivery object keeps polling through failed object writes (a full disk): each failing
// poll throws SystemError and leaves its batch pending; a later poll writes exactly the objects that
// failed — same names, same bytes — and every record ends up in exactly one object.
TEST_F(DeliveryTest, StoreFailuresLeaveTheBatchPendingAndALaterPollWritesTheSameObjects) {
  auto& s = open_stream(2);
  for (int i = 0; i < 40; i += 10) put(i, i + 10, "key-" + std::to_string(i));
  const DeliveryConfig config{.name = "d",
                              .stream = "s",
                              .bucket = "lake",
                              .prefix = "t=!{partitionKeyFromQuery:team}/",
                              .buffer_bytes = 1500,
                              .buffer_interval = 0ms};
  FlakyStore flaky(store_, {1, 2, 4});  // mid-batch, then the first put of the retry, then later
  Delivery d(config, s, flaky, progress_);
  int failed_polls = 0;
  bool succeeded = false;
  for (int attempt = 0; attempt < 10 && !succeeded; ++attempt) {
    try {
      d.poll(kArrival);
      succeeded = true;
    } catch (const SystemError& e) {
      EXPECT_THAT(e.what(), HasSubstr("No space left on device"));
      ++failed_polls;
      if (failed_polls == 1) put(40, 50, "late-");  // new records must not change the pending batch
    }
  }
  ASSERT_TRUE(succeeded);
  EXPECT_EQ(failed_polls, 3);
  EXPECT_EQ(d.poll(kArrival + 1h).records, 0u);  // nothing twice

  auto all = objects();
  ASSERT_EQ(flaky.failed().size(), 3u);
  for (const auto& [key, body] : flaky.failed()) {
    ASSERT_TRUE(all.contains(key)) << "a failed object was never written: " << key;
    EXPECT_EQ(all.at(key), body) << key;
  }
  for (const auto& [key, bodies] : flaky.written()) {
    for (const auto& body : bodies) EXPECT_EQ(body, bodies.front()) << "rewritten differently: " << key;
  }
  EXPECT_EQ(all.size(), flaky.written().size());
  std::vector<int> delivered = ids(all);
  std::multiset<int> seen(delivered.begin(), delivered.end());
  for (int i = 0; i < 50; ++i) EXPECT_EQ(seen.count(i), 1u) << "record " << i;
  EXPECT_EQ(seen.size(), 50u);
  for (const auto& shard : s.describe().shards) EXPECT_FALSE(progress_.load("d", shard.shard_id).pending);
}

// The progress store fails: a begin (nothing is written for that batch) and a commit (the objects
// are written but the batch stays pending). Later polls of the same Delivery rewrite the pending
// batch under the same names with the same bytes; every record is delivered exactly once.
TEST_F(DeliveryTest, ProgressFailuresLeaveTheBatchPendingAndALaterPollWritesTheSameObjects) {
  auto& s = open_stream(2);
  for (int i = 0; i < 40; i += 10) put(i, i + 10, "key-" + std::to_string(i));
  const DeliveryConfig config{
      .name = "d", .stream = "s", .bucket = "lake", .buffer_bytes = 1500, .buffer_interval = 0ms};
  FlakyStore recording(store_, {});
  FlakyProgress flaky_progress(progress_, {0}, {1});
  Delivery d(config, s, recording, flaky_progress);
  int failed_polls = 0;
  bool succeeded = false;
  for (int attempt = 0; attempt < 10 && !succeeded; ++attempt) {
    try {
      d.poll(kArrival);
      succeeded = true;
    } catch (const SystemError& e) {
      ++failed_polls;
      if (failed_polls == 1) {
        EXPECT_THAT(e.what(), HasSubstr("disk is full"));
        EXPECT_TRUE(objects().empty());  // a failed begin writes nothing
      }
    }
  }
  ASSERT_TRUE(succeeded);
  EXPECT_EQ(failed_polls, 2);
  size_t rewritten = 0;
  for (const auto& [key, bodies] : recording.written()) {
    if (bodies.size() > 1) ++rewritten;
    for (const auto& body : bodies) EXPECT_EQ(body, bodies.front()) << "rewritten differently: " << key;
  }
  EXPECT_EQ(rewritten, 1u);  // the object of the batch whose commit failed
  auto all = objects();
  EXPECT_EQ(all.size(), recording.written().size());
  std::vector<int> delivered = ids(all);
  std::multiset<int> seen(delivered.begin(), delivered.end());
  for (int i = 0; i < 40; ++i) EXPECT_EQ(seen.count(i), 1u) << "record " << i;
  EXPECT_EQ(seen.size(), 40u);
}

TEST_F(DeliveryTest, MetastoreProgressAndCheckpointsSurviveReopening) {
  const auto file = dir_.path() / "metastore.db";
  {
    metastore::Metastore db(file);
    MetastoreDeliveryProgress progress(db);
    EXPECT_FALSE(progress.load("d", "shardId-000000000000").delivered);
    progress.begin("d", "shardId-000000000000", "1", "5");
    MetastoreCheckpoints checkpoints(db);
    checkpoints.save("s", "app", "shardId-000000000001", "17");
    checkpoints.save("s", "app", "shardId-000000000001", "18");
  }
  {
    metastore::Metastore db(file);
    MetastoreDeliveryProgress progress(db);
    auto state = progress.load("d", "shardId-000000000000");
    ASSERT_TRUE(state.pending);
    EXPECT_EQ(state.pending->first, "1");
    EXPECT_EQ(state.pending->second, "5");
    EXPECT_FALSE(state.delivered);
    progress.commit("d", "shardId-000000000000", "5");
    EXPECT_EQ(*MetastoreCheckpoints(db).load("s", "app", "shardId-000000000001"), "18");
    EXPECT_FALSE(MetastoreCheckpoints(db).load("s", "other", "shardId-000000000001"));
  }
  metastore::Metastore db(file);
  auto state = MetastoreDeliveryProgress(db).load("d", "shardId-000000000000");
  EXPECT_FALSE(state.pending);
  EXPECT_EQ(*state.delivered, "5");
}

}  // namespace
}  // namespace sluice::delivery
