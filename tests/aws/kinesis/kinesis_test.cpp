// The Kinesis JSON 1.1 API without a server: requests built as the server builds them, answered by
// the router (server::Router::serve) over a StreamStore in a temporary directory. Shapes, limits,
// pagination, iterators and every error code the operations answer.
#include "aws/kinesis/kinesis.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <atomic>
#include <condition_variable>
#include <mutex>
#include <nlohmann/json.hpp>
#include <thread>

#include "aws/kinesis/shard_iterator.h"
#include "aws/protocol/json_protocol.h"
#include "server/error_shapes.h"
#include "stream/local_stream.h"
#include "tests/common/temp_dir.h"

namespace sluice::aws {
namespace {

using nlohmann::json;
using ::testing::HasSubstr;
using namespace std::chrono_literals;

constexpr std::string_view kMaxHashKey = "340282366920938463463374607431768211455";  // 2^128 - 1

struct Answer {
  int status = 0;
  json body;
  std::string code() const { return body.value("__type", ""); }
};

// A router with the Kinesis routes over a store whose streams and API share a settable clock.
class KinesisTest : public ::testing::Test {
 protected:
  void SetUp() override { open({{.name = "declared", .shards = 2, .min_free_bytes = 0}}); }

  void open(std::vector<stream::StreamConfig> declared, stream::StreamHooks hooks = {}) {
    router_ = std::make_unique<server::Router>();
    store_.reset();
    if (!hooks.clock) hooks.clock = [this] { return from_epoch_ms(clock_ms_.load()); };
    store_ = std::make_unique<stream::StreamStore>(tmp_.path() / "streams", declared, hooks);
    auto& group = router_->group({.name = "kinesis", .errors = server::aws_json_errors()});
    add_kinesis_routes(group, {.streams = [this]() -> stream::StreamStore& { return *store_; },
                               .iterator_key = "test-key",
                               .clock = [this] { return from_epoch_ms(clock_ms_.load()); }});
  }

  Answer call(const std::string& operation, const std::string& body, server::Headers headers = {}) {
    server::HttpRequest request;
    request.method = "POST";
    request.target = request.raw_path = request.path = "/";
    request.headers = std::move(headers);
    request.headers["X-Amz-Target"] = "Kinesis_20131202." + operation;
    if (!request.headers.contains("Content-Type"))
      request.headers["Content-Type"] = "application/x-amz-json-1.1";
    request.body = body;
    const auto response = router_->serve(request);
    Answer answer{response.status, json::parse(response.body.empty() ? "{}" : response.body, nullptr, false)};
    return answer;
  }
  Answer call(const std::string& operation, const json& body) { return call(operation, body.dump()); }

  // Calls `operation` and expects a 200, returning the body.
  json ok(const std::string& operation, const json& body) {
    const Answer answer = call(operation, body);
    EXPECT_EQ(answer.status, 200) << operation << ": " << answer.body.dump();
    return answer.body;
  }

  std::string put(const std::string& stream, const std::string& data, const std::string& key = "k") {
    return ok("PutRecord", {{"StreamName", stream}, {"Data", base64_encode(data)}, {"PartitionKey", key}})
        .value("SequenceNumber", "");
  }

  std::string iterator(const std::string& stream, const std::string& shard, json extra) {
    extra["StreamName"] = stream;
    extra["ShardId"] = shard;
    return ok("GetShardIterator", extra).value("ShardIterator", "");
  }

  std::vector<std::string> data_of(const json& records) {
    std::vector<std::string> out;
    for (const auto& r : records) out.push_back(base64_decode(r.at("Data").get<std::string>()).value_or("?"));
    return out;
  }

  testing_util::TempDir tmp_;
  std::atomic<int64_t> clock_ms_{1'700'000'000'000};
  std::unique_ptr<stream::StreamStore> store_;
  std::unique_ptr<server::Router> router_;
};

// ---- streams -------------------------------------------------------------------------------------

TEST_F(KinesisTest, CreateDescribeListAndDeleteAStream) {
  ok("CreateStream", {{"StreamName", "made"}, {"ShardCount", 4}});
  const Answer described = call("DescribeStream", R"({"StreamName":"made"})",
                                {{"Authorization",
                                  "AWS4-HMAC-SHA256 Credential=AK/20240101/eu-west-3/kinesis/"
                                  "aws4_request, SignedHeaders=host, Signature=00"}});
  ASSERT_EQ(described.status, 200);
  const json& d = described.body.at("StreamDescription");
  EXPECT_EQ(d.at("StreamARN"), "arn:aws:kinesis:eu-west-3:000000000000:stream/made");
  EXPECT_EQ(d.at("StreamStatus"), "ACTIVE");
  EXPECT_EQ(d.at("RetentionPeriodHours"), 24);
  EXPECT_EQ(d.at("HasMoreShards"), false);
  ASSERT_EQ(d.at("Shards").size(), 4u);
  EXPECT_EQ(d["Shards"][0].at("ShardId"), "shardId-000000000000");
  EXPECT_EQ(d["Shards"][0]["HashKeyRange"].at("StartingHashKey"), "0");
  EXPECT_EQ(d["Shards"][3]["HashKeyRange"].at("EndingHashKey"), kMaxHashKey);
  EXPECT_TRUE(d["Shards"][0]["SequenceNumberRange"].contains("StartingSequenceNumber"));

  const json paged =
      ok("DescribeStream",
         {{"StreamName", "made"}, {"Limit", 2}, {"ExclusiveStartShardId", "shardId-000000000000"}});
  EXPECT_EQ(paged["StreamDescription"]["Shards"].size(), 2u);
  EXPECT_EQ(paged["StreamDescription"]["Shards"][0]["ShardId"], "shardId-000000000001");
  EXPECT_EQ(paged["StreamDescription"]["HasMoreShards"], true);

  const json summary = ok("DescribeStreamSummary", {{"StreamName", "made"}});
  EXPECT_EQ(summary["StreamDescriptionSummary"]["OpenShardCount"], 4);
  EXPECT_EQ(summary["StreamDescriptionSummary"]["StreamARN"],
            "arn:aws:kinesis:us-east-1:000000000000:stream/made");

  EXPECT_EQ(ok("ListStreams", json::object())["StreamNames"], json::array({"declared", "made"}));
  ok("DeleteStream", {{"StreamName", "made"}});
  EXPECT_EQ(ok("ListStreams", json::object())["StreamNames"], json::array({"declared"}));
  EXPECT_EQ(call("DescribeStream", json{{"StreamName", "made"}}).code(), "ResourceNotFoundException");
}

TEST_F(KinesisTest, CreateStreamErrors) {
  ok("CreateStream", {{"StreamName", "made"}, {"ShardCount", 1}});
  EXPECT_EQ(call("CreateStream", json{{"StreamName", "made"}, {"ShardCount", 1}}).code(),
            "ResourceInUseException");
  EXPECT_EQ(call("CreateStream", json{{"StreamName", "declared"}}).code(), "ResourceInUseException");
  EXPECT_EQ(call("CreateStream", json{{"StreamName", "x"}, {"ShardCount", 0}}).code(), "ValidationException");
  EXPECT_EQ(call("CreateStream", json{{"StreamName", "x"}, {"ShardCount", 65}}).code(),
            "LimitExceededException");
  EXPECT_EQ(call("CreateStream", json{{"StreamName", "bad/name"}}).code(), "ValidationException");
  EXPECT_EQ(call("CreateStream", json{{"ShardCount", 1}}).code(), "ValidationException");
  EXPECT_EQ(call("CreateStream", json{{"StreamName", 7}}).code(), "ValidationException");
  const Answer malformed = call("CreateStream", std::string("{\"StreamName\": "));
  EXPECT_EQ(malformed.status, 400);
  EXPECT_EQ(malformed.code(), "SerializationException");
  // Without ShardCount (on-demand), 4 shards.
  ok("CreateStream", {{"StreamName", "on-demand"}});
  EXPECT_EQ(ok("ListShards", {{"StreamName", "on-demand"}})["Shards"].size(), 4u);
  EXPECT_EQ(call("DeleteStream", json{{"StreamName", "declared"}}).code(), "ResourceInUseException");
  EXPECT_EQ(call("DeleteStream", json{{"StreamName", "nope"}}).code(), "ResourceNotFoundException");
}

TEST_F(KinesisTest, ListStreamsPaginates) {
  for (const char* name : {"a", "b", "c"}) ok("CreateStream", {{"StreamName", name}, {"ShardCount", 1}});
  const json first = ok("ListStreams", {{"Limit", 2}});
  EXPECT_EQ(first["StreamNames"], json::array({"a", "b"}));
  EXPECT_EQ(first["HasMoreStreams"], true);
  EXPECT_EQ(first["StreamSummaries"][1]["StreamARN"], "arn:aws:kinesis:us-east-1:000000000000:stream/b");
  const json second = ok("ListStreams", {{"Limit", 2}, {"ExclusiveStartStreamName", "b"}});
  EXPECT_EQ(second["StreamNames"], json::array({"c", "declared"}));
  EXPECT_EQ(second["HasMoreStreams"], false);
  const json by_token = ok("ListStreams", {{"Limit", 2}, {"NextToken", first["NextToken"]}});
  EXPECT_EQ(by_token["StreamNames"], second["StreamNames"]);
  EXPECT_EQ(call("ListStreams", json{{"Limit", 10001}}).code(), "ValidationException");
}

TEST_F(KinesisTest, ListShardsPaginatesWithATokenThatExpires) {
  ok("CreateStream", {{"StreamName", "made"}, {"ShardCount", 3}});
  const json first = ok("ListShards", {{"StreamName", "made"}, {"MaxResults", 2}});
  ASSERT_EQ(first["Shards"].size(), 2u);
  ASSERT_TRUE(first.contains("NextToken"));
  const json rest = ok("ListShards", {{"NextToken", first["NextToken"]}});
  ASSERT_EQ(rest["Shards"].size(), 1u);
  EXPECT_EQ(rest["Shards"][0]["ShardId"], "shardId-000000000002");
  EXPECT_FALSE(rest.contains("NextToken"));
  EXPECT_EQ(call("ListShards", json{{"NextToken", first["NextToken"]}, {"StreamName", "made"}}).code(),
            "InvalidArgumentException");
  EXPECT_EQ(call("ListShards", json{{"NextToken", "garbage"}}).code(), "InvalidArgumentException");
  clock_ms_ += 301'000;
  EXPECT_EQ(call("ListShards", json{{"NextToken", first["NextToken"]}}).code(), "ExpiredNextTokenException");
}

// ---- put and get ---------------------------------------------------------------------------------

TEST_F(KinesisTest, APutRecordIsReadBackWithItsKeyDataAndArrival) {
  const std::string binary("\x00\xff{\"name\":\"x\"}\n", 15);
  const json put_answer =
      ok("PutRecord",
         {{"StreamName", "declared"}, {"Data", base64_encode(binary)}, {"PartitionKey", "random_user_key"}});
  const std::string shard = put_answer.at("ShardId");
  const std::string it = iterator("declared", shard, {{"ShardIteratorType", "TRIM_HORIZON"}});
  const json got = ok("GetRecords", {{"ShardIterator", it}});
  ASSERT_EQ(got["Records"].size(), 1u);
  const json& r = got["Records"][0];
  EXPECT_EQ(base64_decode(r.at("Data").get<std::string>()), binary);
  EXPECT_EQ(r.at("PartitionKey"), "random_user_key");
  EXPECT_EQ(r.at("SequenceNumber"), put_answer.at("SequenceNumber"));
  EXPECT_DOUBLE_EQ(r.at("ApproximateArrivalTimestamp").get<double>(), clock_ms_.load() / 1000.0);
  EXPECT_EQ(got.at("MillisBehindLatest"), 0);
  EXPECT_NE(got.at("NextShardIterator"), it);
  // The next iterator continues after the record.
  EXPECT_TRUE(ok("GetRecords", {{"ShardIterator", got["NextShardIterator"]}})["Records"].empty());
}

TEST_F(KinesisTest, ExplicitHashKeyChoosesTheShard) {
  const json high = ok("PutRecord", {{"StreamName", "declared"},
                                     {"Data", base64_encode("a")},
                                     {"PartitionKey", "k"},
                                     {"ExplicitHashKey", std::string(kMaxHashKey)}});
  EXPECT_EQ(high["ShardId"], "shardId-000000000001");
  const json low = ok("PutRecord", {{"StreamName", "declared"},
                                    {"Data", base64_encode("b")},
                                    {"PartitionKey", "k"},
                                    {"ExplicitHashKey", "0"}});
  EXPECT_EQ(low["ShardId"], "shardId-000000000000");
  EXPECT_EQ(call("PutRecord", json{{"StreamName", "declared"},
                                   {"Data", "YQ=="},
                                   {"PartitionKey", "k"},
                                   {"ExplicitHashKey", "340282366920938463463374607431768211456"}})
                .code(),
            "InvalidArgumentException");
  EXPECT_EQ(call("PutRecord", json{{"StreamName", "declared"},
                                   {"Data", "YQ=="},
                                   {"PartitionKey", "k"},
                                   {"ExplicitHashKey", "-1"}})
                .code(),
            "ValidationException");
}

TEST_F(KinesisTest, PutRecordsAnswersEveryRecordInOrder) {
  json records = json::array();
  for (int i = 0; i < 500; ++i)
    records.push_back({{"Data", base64_encode("record " + std::to_string(i))},
                       {"PartitionKey", "key-" + std::to_string(i)}});
  const json answer = ok("PutRecords", {{"StreamName", "declared"}, {"Records", records}});
  EXPECT_EQ(answer["FailedRecordCount"], 0);
  ASSERT_EQ(answer["Records"].size(), 500u);
  size_t read_back = 0;
  for (const char* shard : {"shardId-000000000000", "shardId-000000000001"}) {
    const json got =
        ok("GetRecords",
           {{"ShardIterator", iterator("declared", shard, {{"ShardIteratorType", "TRIM_HORIZON"}})}});
    read_back += got["Records"].size();
  }
  EXPECT_EQ(read_back, 500u);
  EXPECT_EQ(answer["Records"][7]["ShardId"].get<std::string>().substr(0, 8), "shardId-");
}

TEST_F(KinesisTest, PutRecordsLimits) {
  json too_many = json::array();
  for (int i = 0; i < 501; ++i) too_many.push_back({{"Data", "YQ=="}, {"PartitionKey", "k"}});
  EXPECT_EQ(call("PutRecords", json{{"StreamName", "declared"}, {"Records", too_many}}).code(),
            "ValidationException");
  EXPECT_EQ(call("PutRecords", json{{"StreamName", "declared"}, {"Records", json::array()}}).code(),
            "ValidationException");
  // Six records of 1 MiB - 1 byte of data each: more than 5 MiB in all.
  const std::string big = base64_encode(std::string((1u << 20) - 1, 'x'));
  json heavy = json::array();
  for (int i = 0; i < 6; ++i) heavy.push_back({{"Data", big}, {"PartitionKey", "k"}});
  const Answer too_heavy = call("PutRecords", json{{"StreamName", "declared"}, {"Records", heavy}});
  EXPECT_EQ(too_heavy.code(), "InvalidArgumentException");
  EXPECT_THAT(too_heavy.body.value("message", ""), HasSubstr("5 MB"));
  // One record whose key and data together pass 1 MiB.
  json one = json::array({{{"Data", big}, {"PartitionKey", "kk"}}});
  EXPECT_EQ(call("PutRecords", json{{"StreamName", "declared"}, {"Records", one}}).code(),
            "InvalidArgumentException");
  json not_base64 = json::array({{{"Data", "!!"}, {"PartitionKey", "k"}}});
  EXPECT_EQ(call("PutRecords", json{{"StreamName", "declared"}, {"Records", not_base64}}).code(),
            "SerializationException");
  json no_key = json::array({{{"Data", "YQ=="}}});
  EXPECT_EQ(call("PutRecords", json{{"StreamName", "declared"}, {"Records", no_key}}).code(),
            "ValidationException");
  EXPECT_EQ(call("PutRecords", json{{"StreamName", "nope"},
                                    {"Records", json::array({{{"Data", "YQ=="}, {"PartitionKey", "k"}}})}})
                .code(),
            "ResourceNotFoundException");
  // Nothing of the refused requests was written.
  EXPECT_TRUE(
      ok("GetRecords", {{"ShardIterator", iterator("declared", "shardId-000000000000",
                                                   {{"ShardIteratorType", "TRIM_HORIZON"}})}})["Records"]
          .empty());
}

// The batch path's own parser and base64 decoder keep the protocol's strictness.
TEST_F(KinesisTest, PutBodiesAreParsedStrictly) {
  const auto put_code = [&](const std::string& data) {
    return call("PutRecord", json{{"StreamName", "declared"}, {"Data", data}, {"PartitionKey", "k"}}).code();
  };
  EXPECT_EQ(put_code("YQ"), "SerializationException");    // no padding
  EXPECT_EQ(put_code("YR=="), "SerializationException");  // non-canonical: dropped bits set
  EXPECT_EQ(put_code("Y==="), "SerializationException");
  EXPECT_EQ(put_code("YQ=a"), "SerializationException");
  EXPECT_EQ(put_code("Y Q="), "SerializationException");
  EXPECT_EQ(base64_decode(
                ok("GetRecords", {{"ShardIterator",
                                   iterator("declared",
                                            ok("PutRecord", {{"StreamName", "declared"},
                                                             {"Data", "YWJjZA=="},
                                                             {"PartitionKey", "k"}})["ShardId"],
                                            {{"ShardIteratorType", "TRIM_HORIZON"}})}})["Records"][0]["Data"]
                    .get<std::string>()),
            "abcd");
  EXPECT_EQ(call("PutRecord", json{{"StreamName", "declared"}, {"Data", ""}, {"PartitionKey", "k"}}).status,
            200);
  EXPECT_EQ(call("PutRecord", json{{"StreamName", "declared"}, {"Data", 5}, {"PartitionKey", "k"}}).code(),
            "SerializationException");
  EXPECT_EQ(call("PutRecord", json{{"StreamName", "declared"}, {"Data", "YQ=="}}).code(),
            "ValidationException");
  EXPECT_EQ(call("PutRecord",
                 json{{"StreamName", "declared"}, {"Data", "YQ=="}, {"PartitionKey", std::string(257, 'k')}})
                .code(),
            "ValidationException");
  EXPECT_EQ(call("PutRecords", json{{"StreamName", "declared"}, {"Records", "no"}}).code(),
            "SerializationException");
  EXPECT_EQ(call("PutRecords", json{{"StreamName", "declared"}, {"Records", json::array({1})}}).code(),
            "SerializationException");
  EXPECT_EQ(call("PutRecords", std::string(200, '[') + std::string(200, ']')).code(),
            "SerializationException");
  EXPECT_EQ(call("PutRecords", std::string("{\"StreamName\": \"declared\", \"Records\": [")).code(),
            "SerializationException");
  EXPECT_EQ(call("PutRecords", std::string("")).code(), "SerializationException");
}

// A writer held in before_write keeps bytes pending: the next put is throttled.
TEST_F(KinesisTest, BackPressureIsProvisionedThroughputExceeded) {
  std::mutex mutex;
  std::condition_variable cv;
  bool holding = false, release = false;
  stream::StreamHooks hooks;
  hooks.before_write = [&] {
    std::unique_lock lock(mutex);
    holding = true;
    cv.notify_all();
    cv.wait(lock, [&] { return release; });
  };
  open({{.name = "tight", .shards = 1, .max_pending_bytes = 64, .min_free_bytes = 0}}, hooks);
  std::thread first([&] { put("tight", "first"); });
  {
    std::unique_lock lock(mutex);
    cv.wait(lock, [&] { return holding; });
  }
  const Answer single = call(
      "PutRecord",
      json{{"StreamName", "tight"}, {"Data", base64_encode(std::string(100, 'x'))}, {"PartitionKey", "k"}});
  EXPECT_EQ(single.status, 400);
  EXPECT_EQ(single.code(), "ProvisionedThroughputExceededException");
  const json batch =
      ok("PutRecords",
         {{"StreamName", "tight"},
          {"Records", json::array({{{"Data", base64_encode(std::string(100, 'y'))}, {"PartitionKey", "k"}},
                                   {{"Data", "YQ=="}, {"PartitionKey", "k"}}})}});
  EXPECT_EQ(batch["FailedRecordCount"], 2);
  EXPECT_EQ(batch["Records"][1]["ErrorCode"], "ProvisionedThroughputExceededException");
  EXPECT_FALSE(batch["Records"][0].contains("SequenceNumber"));
  {
    std::lock_guard lock(mutex);
    release = true;
  }
  cv.notify_all();
  first.join();
}

// ---- iterators -----------------------------------------------------------------------------------

TEST_F(KinesisTest, AllFiveIteratorTypesStartWhereKinesisSays) {
  open({{.name = "one", .shards = 1, .min_free_bytes = 0}});
  std::vector<std::string> sequence;
  for (int i = 0; i < 3; ++i) {
    clock_ms_ = 1'700'000'000'000 + i * 10'000;
    sequence.push_back(put("one", "r" + std::to_string(i)));
  }
  const std::string shard = "shardId-000000000000";
  const auto read = [&](json start) {
    return data_of(ok("GetRecords", {{"ShardIterator", iterator("one", shard, start)}})["Records"]);
  };
  using V = std::vector<std::string>;
  EXPECT_EQ(read({{"ShardIteratorType", "TRIM_HORIZON"}}), (V{"r0", "r1", "r2"}));
  EXPECT_EQ(read({{"ShardIteratorType", "AT_SEQUENCE_NUMBER"}, {"StartingSequenceNumber", sequence[1]}}),
            (V{"r1", "r2"}));
  EXPECT_EQ(read({{"ShardIteratorType", "AFTER_SEQUENCE_NUMBER"}, {"StartingSequenceNumber", sequence[1]}}),
            (V{"r2"}));
  EXPECT_EQ(read({{"ShardIteratorType", "AT_TIMESTAMP"}, {"Timestamp", 1'700'000'005.0}}), (V{"r1", "r2"}));
  const std::string latest = iterator("one", shard, {{"ShardIteratorType", "LATEST"}});
  EXPECT_TRUE(ok("GetRecords", {{"ShardIterator", latest}})["Records"].empty());
  put("one", "r3");
  EXPECT_EQ(data_of(ok("GetRecords", {{"ShardIterator", latest}})["Records"]), (V{"r3"}));
  // Limit, and how far behind the reader then is.
  const json limited =
      ok("GetRecords",
         {{"ShardIterator", iterator("one", shard, {{"ShardIteratorType", "TRIM_HORIZON"}})}, {"Limit", 1}});
  EXPECT_EQ(data_of(limited["Records"]), (V{"r0"}));
  EXPECT_EQ(limited["MillisBehindLatest"], clock_ms_.load() - 1'700'000'000'000);
}

TEST_F(KinesisTest, GetShardIteratorErrors) {
  const auto code = [&](json body) {
    body["StreamName"] = body.value("StreamName", "declared");
    return call("GetShardIterator", body).code();
  };
  EXPECT_EQ(code({{"ShardId", "shardId-000000000000"}, {"ShardIteratorType", "SIDEWAYS"}}),
            "ValidationException");
  EXPECT_EQ(code({{"ShardId", "shardId-000000000000"}, {"ShardIteratorType", "AT_SEQUENCE_NUMBER"}}),
            "InvalidArgumentException");
  EXPECT_EQ(code({{"ShardId", "shardId-000000000000"}, {"ShardIteratorType", "AT_TIMESTAMP"}}),
            "InvalidArgumentException");
  EXPECT_EQ(code({{"ShardId", "shardId-000000000000"},
                  {"ShardIteratorType", "AT_SEQUENCE_NUMBER"},
                  {"StartingSequenceNumber", "01"}}),
            "ValidationException");
  EXPECT_EQ(code({{"ShardId", "shardId-000000000000"},
                  {"ShardIteratorType", "AT_SEQUENCE_NUMBER"},
                  {"StartingSequenceNumber", "1000100000000000000000000"}}),
            "InvalidArgumentException");  // a sequence number of the other shard
  EXPECT_EQ(code({{"ShardId", "shardId-000000000009"}, {"ShardIteratorType", "LATEST"}}),
            "ResourceNotFoundException");
  EXPECT_EQ(
      code({{"StreamName", "nope"}, {"ShardId", "shardId-000000000000"}, {"ShardIteratorType", "LATEST"}}),
      "ResourceNotFoundException");
}

TEST_F(KinesisTest, IteratorsExpireAfterFiveMinutesAndCannotBeForged) {
  const std::string it =
      iterator("declared", "shardId-000000000000", {{"ShardIteratorType", "TRIM_HORIZON"}});
  clock_ms_ += 299'000;
  EXPECT_EQ(call("GetRecords", json{{"ShardIterator", it}}).status, 200);
  clock_ms_ += 2'000;
  EXPECT_EQ(call("GetRecords", json{{"ShardIterator", it}}).code(), "ExpiredIteratorException");

  const std::string fresh =
      iterator("declared", "shardId-000000000000", {{"ShardIteratorType", "TRIM_HORIZON"}});
  // Editing the issue time (to revive an iterator) or any other byte breaks the signature.
  std::string edited = fresh;
  const auto last_dot = edited.rfind('.');
  edited[last_dot - 1] = edited[last_dot - 1] == '9' ? '8' : '9';
  EXPECT_EQ(call("GetRecords", json{{"ShardIterator", edited}}).code(), "InvalidArgumentException");
  // Another key (another process) made it.
  const ShardIteratorCodec other("another-key");
  const ShardIterator decoded = ShardIteratorCodec("test-key").decode(fresh);
  EXPECT_EQ(decoded.stream, "declared");
  EXPECT_EQ(call("GetRecords", json{{"ShardIterator", other.encode(decoded)}}).code(),
            "InvalidArgumentException");
  EXPECT_EQ(call("GetRecords", json{{"ShardIterator", fresh}, {"Limit", 10001}}).code(),
            "ValidationException");
  EXPECT_EQ(call("GetRecords", json{{"ShardIterator", "x"}}).code(), "InvalidArgumentException");
}

TEST_F(KinesisTest, ReadingADeletedStreamIsResourceNotFound) {
  ok("CreateStream", {{"StreamName", "gone"}, {"ShardCount", 1}});
  const std::string it = iterator("gone", "shardId-000000000000", {{"ShardIteratorType", "TRIM_HORIZON"}});
  ok("DeleteStream", {{"StreamName", "gone"}});
  EXPECT_EQ(call("GetRecords", json{{"ShardIterator", it}}).code(), "ResourceNotFoundException");
}

// ---- retention and tags --------------------------------------------------------------------------

TEST_F(KinesisTest, RetentionChangesAsAwsAllows) {
  ok("IncreaseStreamRetentionPeriod", {{"StreamName", "declared"}, {"RetentionPeriodHours", 72}});
  EXPECT_EQ(ok("DescribeStreamSummary",
               {{"StreamName", "declared"}})["StreamDescriptionSummary"]["RetentionPeriodHours"],
            72);
  EXPECT_EQ(
      call("IncreaseStreamRetentionPeriod", json{{"StreamName", "declared"}, {"RetentionPeriodHours", 48}})
          .code(),
      "InvalidArgumentException");
  EXPECT_EQ(
      call("DecreaseStreamRetentionPeriod", json{{"StreamName", "declared"}, {"RetentionPeriodHours", 96}})
          .code(),
      "InvalidArgumentException");
  EXPECT_EQ(
      call("DecreaseStreamRetentionPeriod", json{{"StreamName", "declared"}, {"RetentionPeriodHours", 23}})
          .code(),
      "InvalidArgumentException");
  EXPECT_EQ(
      call("IncreaseStreamRetentionPeriod", json{{"StreamName", "declared"}, {"RetentionPeriodHours", 8761}})
          .code(),
      "InvalidArgumentException");
  ok("DecreaseStreamRetentionPeriod", {{"StreamName", "declared"}, {"RetentionPeriodHours", 24}});
  EXPECT_EQ(store_->attributes("declared").retention, 24h);
  EXPECT_EQ(call("IncreaseStreamRetentionPeriod", json{{"StreamName", "nope"}, {"RetentionPeriodHours", 48}})
                .code(),
            "ResourceNotFoundException");
}

TEST_F(KinesisTest, TagsAreAddedListedInPagesAndRemoved) {
  ok("AddTagsToStream", {{"StreamName", "declared"}, {"Tags", {{"b", "2"}, {"a", "1"}, {"c", ""}}}});
  const json first = ok("ListTagsForStream", {{"StreamName", "declared"}, {"Limit", 2}});
  EXPECT_EQ(first["Tags"], json::parse(R"([{"Key":"a","Value":"1"},{"Key":"b","Value":"2"}])"));
  EXPECT_EQ(first["HasMoreTags"], true);
  const json rest = ok("ListTagsForStream", {{"StreamName", "declared"}, {"ExclusiveStartTagKey", "b"}});
  EXPECT_EQ(rest["Tags"], json::parse(R"([{"Key":"c","Value":""}])"));
  EXPECT_EQ(rest["HasMoreTags"], false);
  ok("RemoveTagsFromStream", {{"StreamName", "declared"}, {"TagKeys", {"a", "c", "absent"}}});
  EXPECT_EQ(ok("ListTagsForStream", {{"StreamName", "declared"}})["Tags"],
            json::parse(R"([{"Key":"b","Value":"2"}])"));

  json many = json::object();
  for (int i = 0; i < 50; ++i) many["t" + std::to_string(i)] = "v";
  EXPECT_EQ(call("AddTagsToStream", json{{"StreamName", "declared"}, {"Tags", many}}).code(),
            "InvalidArgumentException");
  EXPECT_EQ(ok("ListTagsForStream", {{"StreamName", "declared"}})["Tags"].size(), 1u);  // nothing added
  EXPECT_EQ(call("AddTagsToStream", json{{"StreamName", "declared"}, {"Tags", json::object()}}).code(),
            "ValidationException");
  EXPECT_EQ(call("ListTagsForStream", json{{"StreamName", "nope"}}).code(), "ResourceNotFoundException");
  EXPECT_EQ(call("RemoveTagsFromStream", json{{"StreamName", "declared"}, {"TagKeys", json::array()}}).code(),
            "ValidationException");
}

// ---- protocol ------------------------------------------------------------------------------------

TEST_F(KinesisTest, StreamArnNamesTheStreamAndCborIsRefusedWithAHint) {
  EXPECT_EQ(ok("DescribeStreamSummary",
               {{"StreamARN",
                 "arn:aws:kinesis:us-east-1:000000000000:stream/declared"}})["StreamDescriptionSummary"]
                                                                            ["StreamName"],
            "declared");
  const Answer cbor =
      call("ListStreams", std::string("\xa0"), {{"Content-Type", "application/x-amz-cbor-1.1"}});
  EXPECT_EQ(cbor.status, 400);
  EXPECT_THAT(cbor.body.value("message", ""), HasSubstr("AWS_CBOR_DISABLE"));
  EXPECT_EQ(call("NoSuchOperation", json::object()).code(), "UnknownOperationException");
}

}  // namespace
}  // namespace sluice::aws
