// DeliveryStreams, the registry behind the Firehose API: created delivery streams persist across a
// re-open, DirectPut records are delivered exactly once even when a batch fails half-written and the
// registry is opened again, and remove/create/put refuse what Firehose refuses.
#include "delivery/delivery_streams.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <atomic>
#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <thread>

#include "storage/local_object_store.h"
#include "stream/stream_store.h"
#include "tests/common/expect_error.h"
#include "tests/common/temp_dir.h"

namespace sluice::delivery {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using testing_util::fails_with;

// An object store whose puts fail (as a full disk does) while `failing_after` is reached: the first
// `failing_after` puts succeed, later ones throw SystemError. -1: never fails.
class FlakyObjects : public storage::ObjectStore {
 public:
  explicit FlakyObjects(storage::ObjectStore& inner) : inner_(inner) {}
  std::atomic<int> failing_after{-1};
  std::vector<std::string> buckets() const override { return inner_.buckets(); }
  bool has_bucket(std::string_view b) const override { return inner_.has_bucket(b); }
  storage::ObjectInfo put(std::string_view b, std::string_view k, std::string_view data) override {
    if (failing_after >= 0 && puts_++ >= failing_after) throw SystemError("disk full (injected)");
    return inner_.put(b, k, data);
  }
  std::string get(std::string_view b, std::string_view k) const override { return inner_.get(b, k); }
  std::string get_range(std::string_view b, std::string_view k, uint64_t offset,
                        uint64_t length) const override {
    return inner_.get_range(b, k, offset, length);
  }
  std::optional<storage::ObjectInfo> head(std::string_view b, std::string_view k) const override {
    return inner_.head(b, k);
  }
  storage::ListResult list(std::string_view b, const storage::ListRequest& r) const override {
    return inner_.list(b, r);
  }
  bool remove(std::string_view b, std::string_view k) override { return inner_.remove(b, k); }

 private:
  storage::ObjectStore& inner_;
  std::atomic<int> puts_{0};
};

class DeliveryStreamsTest : public ::testing::Test {
 protected:
  DeliveryStreamsTest()
      : objects_(tmp_.path() / "objects", {"lake"}, nullptr),
        flaky_(objects_),
        streams_(tmp_.path() / "streams", {{.name = "clicks", .shards = 2, .min_free_bytes = 0}}) {}

  std::unique_ptr<DeliveryStreams> open(std::vector<DeliveryConfig> declared = {}, size_t limit = 5000) {
    DeliveryStreamsOptions options{.max_delivery_streams = limit, .buffer = {}};
    options.buffer.min_free_bytes = 0;
    return std::make_unique<DeliveryStreams>(tmp_.path() / "firehose", declared, streams_, flaky_, progress_,
                                             options);
  }

  static DeliveryConfig direct(const std::string& name, const std::string& prefix) {
    DeliveryConfig config;
    config.name = name;
    config.direct_put = true;
    config.bucket = "lake";
    config.prefix = prefix;
    config.buffer_interval = std::chrono::milliseconds(0);
    return config;
  }

  // Every object under `prefix`: key -> body.
  std::map<std::string, std::string> objects_under(const std::string& prefix) {
    std::map<std::string, std::string> out;
    storage::ListRequest request;
    request.prefix = prefix;
    for (const auto& object : objects_.list("lake", request).objects)
      out[object.key] = objects_.get("lake", object.key);
    return out;
  }

  testing_util::TempDir tmp_;
  storage::LocalObjectStore objects_;
  FlakyObjects flaky_;
  stream::StreamStore streams_;
  InMemoryDeliveryProgress progress_;  // durable across re-opens, as the metastore is
};

TEST_F(DeliveryStreamsTest, CreatedDeliveryStreamsAreOpenedAgainAsTheyWereCreated) {
  DeliveryStreamInfo created;
  {
    auto registry = open();
    DeliveryConfig config = direct("events", "raw/!{timestamp:yyyy}/");
    config.compression = Compression::kGzip;
    config.buffer_bytes = 3 << 20;
    config.delimiter = "";
    created = registry->create(config, R"({"RoleARN":"arn:aws:iam::1:role/r"})");
    DeliveryConfig from_stream;
    from_stream.name = "from-clicks";
    from_stream.stream = "clicks";
    from_stream.bucket = "lake";
    registry->create(from_stream);
  }
  EXPECT_TRUE(std::filesystem::exists(tmp_.path() / "firehose" / "events.json"));
  auto registry = open();
  EXPECT_THAT(registry->names(), ElementsAre("events", "from-clicks"));
  const auto info = registry->describe("events");
  EXPECT_FALSE(info.declared);
  EXPECT_TRUE(info.config.direct_put);
  EXPECT_EQ(info.config.prefix, "raw/!{timestamp:yyyy}/");
  EXPECT_EQ(info.config.compression, Compression::kGzip);
  EXPECT_EQ(info.config.buffer_bytes, 3u << 20);
  EXPECT_EQ(info.config.delimiter, "");
  EXPECT_EQ(info.created, created.created);
  EXPECT_EQ(nlohmann::json::parse(info.metadata)["RoleARN"], "arn:aws:iam::1:role/r");
  EXPECT_EQ(registry->describe("from-clicks").config.stream, "clicks");
  // And it still takes records.
  EXPECT_EQ(registry->put("events", {"a"}).size(), 1u);
}

TEST_F(DeliveryStreamsTest, DirectPutIsDeliveredExactlyOnceAcrossAReopenMidBatch) {
  std::set<std::string> first_attempt;
  {
    auto registry = open();
    // Partitioned by a field: one batch becomes several objects, and the second one fails.
    registry->create(direct("users", "users/city=!{partitionKeyFromQuery:city}/"));
    registry->put("users",
                  {R"({"id":1,"city":"oslo"})", R"({"id":2,"city":"lima"})", R"({"id":3,"city":"oslo"})"});
    flaky_.failing_after = 1;
    const auto results = registry->poll(now_ms(), true);
    ASSERT_EQ(results.size(), 1u);
    EXPECT_THAT(results[0].error, HasSubstr("disk full"));
    for (const auto& [key, body] : objects_under("users/")) first_attempt.insert(key);
    ASSERT_EQ(first_attempt.size(), 1u);  // half the batch is out
    // Acknowledged after the failed batch began: must come after it, in a batch of its own.
    registry->put("users", {R"({"id":4,"city":"lima"})"});
  }  // "crash": the registry goes away with its batch begun and not committed
  flaky_.failing_after = -1;
  auto registry = open();
  registry->poll(now_ms(), true);
  const auto objects = objects_under("users/");
  for (const auto& key : first_attempt)
    EXPECT_TRUE(objects.count(key)) << key << " was written under another name";
  std::multiset<std::string> ids;
  for (const auto& [key, body] : objects) {
    for (size_t at = 0; (at = body.find("\"id\":", at)) != std::string::npos; at += 5)
      ids.insert(body.substr(at + 5, 1));
    EXPECT_THAT(key, HasSubstr(body.find("oslo") != std::string::npos ? "city=oslo/" : "city=lima/"));
  }
  EXPECT_EQ(ids, (std::multiset<std::string>{"1", "2", "3", "4"}));  // every record, once
  EXPECT_EQ(objects.size(), 3u);  // the redone batch's two objects, and the later record's one
  // Nothing more to do: a poll after that writes nothing new.
  registry->poll(now_ms(), true);
  EXPECT_EQ(objects_under("users/").size(), 3u);
}

TEST_F(DeliveryStreamsTest, RemovedDeliveryStreamIsGoneAndOneOfTheSameNameStartsAnew) {
  auto registry = open();
  registry->create(direct("temp", "one/"));
  registry->put("temp", {"first"});
  registry->poll(now_ms(), true);
  ASSERT_EQ(objects_under("one/").size(), 1u);
  registry->remove("temp");
  EXPECT_FALSE(std::filesystem::exists(tmp_.path() / "firehose" / "temp.json"));
  EXPECT_FALSE(std::filesystem::exists(tmp_.path() / "firehose" / "buffers" / "temp"));
  EXPECT_TRUE(fails_with<DeliveryStreamNotFound>([&] { registry->describe("temp"); }, "temp"));
  EXPECT_TRUE(fails_with<DeliveryStreamNotFound>([&] { registry->put("temp", {"x"}); }, "temp"));
  // A new buffer numbers its records from the start again: the old progress must not apply.
  registry->create(direct("temp", "two/"));
  registry->put("temp", {"second"});
  const auto results = registry->poll(now_ms(), true);
  ASSERT_EQ(results.size(), 1u);
  EXPECT_EQ(results[0].error, "");
  const auto objects = objects_under("two/");
  ASSERT_EQ(objects.size(), 1u);
  EXPECT_EQ(objects.begin()->second, "second\n");
}

TEST_F(DeliveryStreamsTest, RefusesWhatFirehoseRefuses) {
  DeliveryConfig declared = direct("declared", "d/");
  auto registry = open({declared}, 3);
  EXPECT_TRUE(fails_with<DeliveryStreamInUse>([&] { registry->remove("declared"); }, "pipeline file"));
  EXPECT_TRUE(fails_with<DeliveryStreamInUse>([&] { registry->create(direct("declared", "x/")); }, "exists"));
  EXPECT_TRUE(fails_with<DeliveryStreamNotFound>([&] { registry->remove("absent"); }, "absent"));
  EXPECT_TRUE(fails_with<Error>([&] { registry->create(direct("bad name", "x/")); }, "a-z A-Z 0-9"));
  DeliveryConfig no_bucket = direct("nb", "x/");
  no_bucket.bucket = "absent";
  EXPECT_TRUE(fails_with<Error>([&] { registry->create(no_bucket); }, "no bucket named \"absent\""));
  DeliveryConfig no_stream = direct("ns", "x/");
  no_stream.direct_put = false;
  no_stream.stream = "absent";
  EXPECT_TRUE(fails_with<Error>([&] { registry->create(no_stream); }, "no stream named \"absent\""));
  EXPECT_TRUE(
      fails_with<Error>([&] { registry->create(direct("bp", "x/!{nope:y}/")); }, "unknown expression"));
  EXPECT_FALSE(std::filesystem::exists(tmp_.path() / "firehose" / "bp.json"));
  EXPECT_FALSE(std::filesystem::exists(tmp_.path() / "firehose" / "buffers" / "bp"));
  DeliveryConfig from_stream = direct("reads-clicks", "c/");
  from_stream.direct_put = false;
  from_stream.stream = "clicks";
  registry->create(from_stream);
  EXPECT_TRUE(fails_with<NotDirectPut>([&] { registry->put("reads-clicks", {"x"}); }, "clicks"));
  registry->create(direct("third", "t/"));
  EXPECT_TRUE(
      fails_with<DeliveryStreamLimit>([&] { registry->create(direct("fourth", "f/")); }, "3 delivery"));
}

TEST_F(DeliveryStreamsTest, ABufferWithoutItsDeliveryStreamIsRemovedAtOpen) {
  open()->create(direct("orphan", "o/"));
  // As if a crash cut a remove short after the file went.
  std::filesystem::remove(tmp_.path() / "firehose" / "orphan.json");
  auto registry = open();
  EXPECT_TRUE(registry->names().empty());
  EXPECT_FALSE(std::filesystem::exists(tmp_.path() / "firehose" / "buffers" / "orphan"));
}

TEST_F(DeliveryStreamsTest, ADeliveryWhoseSourceStreamWasDeletedSaysSo) {
  streams_.create({.name = "ephemeral", .shards = 1, .min_free_bytes = 0});
  DeliveryConfig config = direct("from-ephemeral", "e/");
  config.direct_put = false;
  config.stream = "ephemeral";
  auto registry = open();
  registry->create(config);
  streams_.remove("ephemeral");
  auto results = registry->poll(now_ms(), true);
  ASSERT_EQ(results.size(), 1u);
  EXPECT_NE(results[0].error, "");
  EXPECT_THAT(registry->describe("from-ephemeral").problem, HasSubstr("ephemeral"));
  EXPECT_TRUE(registry->poll(now_ms(), true).empty());  // said once, not at every poll
  registry.reset();
  EXPECT_THAT(open()->describe("from-ephemeral").problem, HasSubstr("ephemeral"));
}

TEST_F(DeliveryStreamsTest, PutsPollsAndARemoveAtOnceEndCleanly) {
  auto registry = open();
  registry->create(direct("busy", "busy/"));
  std::atomic<bool> stop{false};
  std::atomic<int> acknowledged{0};
  std::string ended_with;
  std::thread producer([&] {
    try {
      while (!stop) {
        registry->put("busy", {"r"});
        ++acknowledged;
      }
    } catch (const DeliveryStreamNotFound& e) {
      ended_with = e.what();
    }
  });
  std::thread poller([&] {
    while (!stop) registry->poll(now_ms(), true);
  });
  while (acknowledged < 20) std::this_thread::yield();
  registry->remove("busy");
  producer.join();  // its next put finds the delivery stream gone
  stop = true;
  poller.join();
  EXPECT_THAT(ended_with, HasSubstr("busy"));
  EXPECT_TRUE(registry->names().empty());
}

}  // namespace
}  // namespace sluice::delivery
