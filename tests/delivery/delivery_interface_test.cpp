// Delivery reads only through the stream::Stream interface: against a stream that is not the local
// log (tests/delivery/memory_stream.h — opaque iterators, Kinesis-like sequence numbers) it delivers
// every record exactly once, also when a batch must be redone after a failure.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>

#include "delivery/delivery.h"
#include "storage/local_object_store.h"
#include "tests/common/expect_error.h"
#include "tests/common/temp_dir.h"
#include "tests/delivery/memory_stream.h"

namespace sluice::delivery {
namespace {

using ::testing::HasSubstr;

const TimePoint kArrival = TimePoint(std::chrono::milliseconds(1795515330000));  // 2026-11-24T10:15:30Z

// Progress whose commits with the given indexes fail, as a metastore on a full disk does.
class FailingCommits : public DeliveryProgress {
 public:
  FailingCommits(DeliveryProgress& inner, std::set<int> failing)
      : inner_(inner), failing_(std::move(failing)) {}
  ShardProgress load(const std::string& d, const std::string& s) override { return inner_.load(d, s); }
  void begin(const std::string& d, const std::string& s, const std::string& first,
             const std::string& last) override {
    inner_.begin(d, s, first, last);
  }
  void commit(const std::string& d, const std::string& s, const std::string& last) override {
    if (failing_.contains(commits_++)) throw SystemError("metastore: disk I/O error");
    inner_.commit(d, s, last);
  }

 private:
  DeliveryProgress& inner_;
  std::set<int> failing_;
  int commits_ = 0;
};

class DeliveryThroughTheInterface : public ::testing::Test {
 protected:
  DeliveryThroughTheInterface() : objects_(dir_.path() / "objects", {"lake"}, nullptr) {}

  void put(int from, int to) {
    std::vector<stream::PutRecord> records;
    for (int i = from; i < to; ++i) {
      records.push_back({"key-" + std::to_string(i),
                         nlohmann::json{{"id", i}, {"team", i % 3 ? "odd" : "even"}}.dump(), std::nullopt});
    }
    stream_.put(records);
  }

  std::map<std::string, std::string> objects() {
    std::map<std::string, std::string> out;
    for (const auto& o : objects_.list("lake", {}).objects) out[o.key] = objects_.get("lake", o.key);
    return out;
  }

  static std::multiset<int> ids(const std::map<std::string, std::string>& objects) {
    std::multiset<int> out;
    for (const auto& [key, body] : objects) {
      std::istringstream lines(body);
      for (std::string line; std::getline(lines, line);)
        out.insert(nlohmann::json::parse(line)["id"].get<int>());
    }
    return out;
  }

  testing_util::TempDir dir_;
  storage::LocalObjectStore objects_;
  testing_util::MemoryStream stream_{"s", 2, [] { return kArrival; }};
  InMemoryDeliveryProgress progress_;
  const DeliveryConfig config_{.name = "d",
                               .stream = "s",
                               .bucket = "lake",
                               .prefix = "t=!{partitionKeyFromQuery:team}/",
                               .buffer_bytes = 1024 * 1024,
                               .buffer_interval = std::chrono::milliseconds(0)};
};

TEST_F(DeliveryThroughTheInterface, EveryRecordOnceFromAnotherBackEnd) {
  put(0, 40);
  Delivery d(config_, stream_, objects_, progress_);
  EXPECT_EQ(d.poll(kArrival).records, 40u);
  put(40, 45);
  EXPECT_EQ(d.poll(kArrival).records, 5u);
  EXPECT_EQ(d.poll(kArrival).records, 0u);  // nothing twice

  const auto all = objects();
  const auto seen = ids(all);
  for (int i = 0; i < 45; ++i) EXPECT_EQ(seen.count(i), 1u) << "record " << i;
  EXPECT_EQ(seen.size(), 45u);
  // Object names carry the back-end's own sequence numbers, whatever their form.
  EXPECT_THAT(all.begin()->first, HasSubstr("-shardId-00000000000"));
  EXPECT_THAT(all.begin()->first, ::testing::MatchesRegex(".*-shardId-[0-9]{12}-7-[0-9]+"));
  EXPECT_GT(stream_.reads(), 0);
  EXPECT_EQ(stream_.foreign_tokens(), 0);  // every position it read from was one the stream gave
}

// A batch whose commit failed is redone from its first sequence number to its last, through
// position(AT_SEQUENCE_NUMBER) and read() alone: the same objects, every record once.
TEST_F(DeliveryThroughTheInterface, AnUncommittedBatchIsRedoneThroughTheInterface) {
  put(0, 30);
  std::map<std::string, std::string> before;
  {
    FailingCommits failing(progress_, {0});
    Delivery d(config_, stream_, objects_, failing);
    EXPECT_TRUE(testing_util::fails_with<SystemError>([&] { d.poll(kArrival); }, "disk I/O error"));
    before = objects();
  }
  ASSERT_FALSE(before.empty());
  bool pending = false;
  for (const auto& shard : stream_.describe().shards)
    pending = pending || progress_.load("d", shard.shard_id).pending.has_value();
  EXPECT_TRUE(pending);
  put(30, 40);  // newer records must not join the redone batch
  Delivery restarted(config_, stream_, objects_, progress_);
  restarted.poll(kArrival);
  const auto all = objects();
  for (const auto& [key, body] : before) EXPECT_EQ(all.at(key), body) << key;  // rewritten identically
  const auto seen = ids(all);
  for (int i = 0; i < 40; ++i) EXPECT_EQ(seen.count(i), 1u) << "record " << i;
  EXPECT_EQ(seen.size(), 40u);
  EXPECT_EQ(stream_.foreign_tokens(), 0);
}

}  // namespace
}  // namespace sluice::delivery
