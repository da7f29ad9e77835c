// ingest: request bodies into records (single document, array, NDJSON), partition keys, every limit
// and its message, and PutRecords-sized batches at their exact boundaries.
#include "ingest/ingest.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "tests/common/expect_error.h"

namespace sluice::ingest {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

constexpr size_t kMiB = 1048576;

// The kind and message of the Rejected that parse_records throws; kind is "none" when it accepts.
struct Refusal {
  std::string kind;
  int status = 0;
  std::string message;
};

Refusal refusal(std::string_view body, const KeyOptions& options = {}) {
  try {
    parse_records(body, options);
  } catch (const Rejected& e) {
    return {e.kind() == Rejected::Kind::kTooLarge ? "too_large" : "bad_request", e.http_status(), e.what()};
  }
  return {"none", 0, ""};
}

std::vector<std::string> data_of(const std::vector<stream::PutRecord>& records) {
  std::vector<std::string> out;
  for (const auto& r : records) out.push_back(r.data);
  return out;
}

// A JSON string document of exactly `bytes` bytes once minified (quotes included).
std::string json_string_of(size_t bytes) { return "\"" + std::string(bytes - 2, 'x') + "\""; }

// The assertions of DaemonStreaming.IngestLimitsAndMalformedBodiesWriteNothing, on the module alone.
TEST(Ingest, LimitsAndMalformedBodiesAreRefusedWithTheirMessages) {
  auto expect = [](const std::string& body, int code, const std::string& why,
                   const KeyOptions& options = {}) {
    const auto r = refusal(body, options);
    EXPECT_EQ(r.status, code) << r.message;
    EXPECT_THAT(r.message, HasSubstr(why));
  };
  expect("{\"a\": 1}\n{\"a\": ", 400, "record 1 (byte");
  expect("[{\"a\": 1}, {\"a\": ]", 400, "not valid JSON");
  expect("", 400, "empty");
  std::string many;
  for (int i = 0; i < 501; ++i) many += "{\"i\": " + std::to_string(i) + "}\n";
  expect(many, 413, "more than 500 records");
  expect("{\"big\": \"" + std::string((1 << 20) + 10, 'x') + "\"}", 413, "record 0 is");
  std::string large;
  for (int i = 0; i < 6; ++i) large += "{\"big\": \"" + std::string(1000 * 1000, 'x') + "\"}\n";
  expect(large, 413, "at most 5 MiB");
  expect("{\"a\": 1}\n{\"b\": 2}\n", 400, "record 1 has no partition key field",
         {.partition_key_field = "a"});
}

TEST(Ingest, EachRefusalNamesTheRecordTheByteAndTheLimit) {
  auto r = refusal("{\"a\": 1}\n{\"a\": ");
  EXPECT_EQ(r.kind, "bad_request");
  EXPECT_EQ(r.message, "record 1 (byte 9) is incomplete JSON");
  r = refusal(std::string(5 * kMiB + 1, ' '));
  EXPECT_EQ(r.kind, "too_large");
  EXPECT_EQ(r.message, "the request is 5242881 bytes; at most 5 MiB (5242880 bytes) per request");
  r = refusal("{}", {.partition_key = std::string(257, 'k')});
  EXPECT_EQ(r.kind, "bad_request");
  EXPECT_EQ(r.message, "the partition key is longer than 256 bytes");
  EXPECT_EQ(refusal(" \r\n\t ").message, "the body is empty; expected JSON records");
  EXPECT_EQ(refusal("[]").message, "no records in the body");
  r = refusal(json_string_of(kMiB + 1));
  EXPECT_EQ(r.kind, "too_large");
  EXPECT_EQ(r.message, "record 0 is 1048577 bytes; at most 1 MiB (1048576 bytes) per record");
  std::string many;
  for (int i = 0; i < 501; ++i) many += "1\n";
  EXPECT_EQ(refusal(many).message, "more than 500 records in one request (record 500)");
  r = refusal("{\"a\": 1}\n{\"b\": 2}\n", {.partition_key_field = "a"});
  EXPECT_EQ(r.message, "record 1 has no partition key field \"a\" (a string or number of 1 to 256 bytes)");
  EXPECT_THAT(refusal("{\"a\": 1}\n{\"a\" 2}\n").message, HasSubstr("is not valid JSON"));
  EXPECT_THAT(refusal("[1, 2").message, HasSubstr("the body is not valid JSON: "));
  // A Rejected is a sluice::Error: callers that only know Error still print it as one line.
  EXPECT_TRUE(testing_util::fails_with<Error>([] { parse_records(""); }, "the body is empty"));
}

TEST(Ingest, LimitsAreInclusive) {
  // Exactly 1 MiB of data, exactly 500 records, exactly 5 MiB of body: each accepted.
  EXPECT_EQ(parse_records(json_string_of(kMiB)).at(0).data.size(), kMiB);
  std::string five_hundred;
  for (int i = 0; i < 500; ++i) five_hundred += "1\n";
  EXPECT_EQ(parse_records(five_hundred).size(), 500u);
  std::string five_mib;
  for (int i = 0; i < 5; ++i) five_mib += json_string_of(kMiB - 1) + "\n";  // 1 MiB a line
  ASSERT_EQ(five_mib.size(), 5 * kMiB);
  EXPECT_EQ(parse_records(five_mib).size(), 5u);
  EXPECT_EQ(parse_records("{}", {.partition_key = std::string(256, 'k')}).at(0).partition_key.size(), 256u);
}

TEST(Ingest, SingleDocumentsArraysAndNdjsonBecomeMinifiedRecords) {
  EXPECT_THAT(data_of(parse_records("{\"a\": 1, \"b\": [1, 2]}")), ElementsAre("{\"a\":1,\"b\":[1,2]}"));
  EXPECT_THAT(data_of(parse_records(" [ {\"a\": 1}, 2, \"x\", null ] ")),
              ElementsAre("{\"a\":1}", "2", "\"x\"", "null"));
  EXPECT_THAT(data_of(parse_records("{\"a\": 1}\n\n  {\"a\": 2}\r\n{\"a\": 3}")),
              ElementsAre("{\"a\":1}", "{\"a\":2}", "{\"a\":3}"));
  EXPECT_THAT(data_of(parse_records("{\"a\":1} {\"a\":2}")), ElementsAre("{\"a\":1}", "{\"a\":2}"));
  // An array inside NDJSON is one record; only a body that starts with [ is a list of records.
  EXPECT_THAT(data_of(parse_records("{\"a\":1}\n[1,2]\n")), ElementsAre("{\"a\":1}", "[1,2]"));
}

TEST(Ingest, PartitionKeysComeFromAFieldAFixedKeyOrTheMd5) {
  // MD5 by default (values from Python's hashlib).
  auto records = parse_records("{\"a\": 1}\n{\"a\": 2}\n");
  EXPECT_EQ(records[0].partition_key, "bb6cb5c68df4652941caf652a366f2d8");
  EXPECT_EQ(records[1].partition_key, "aab457e0ec244f477ee0c097b94a2728");
  records = parse_records("[{\"a\": 1}, {\"a\": 2}]", {.partition_key = "same"});
  EXPECT_EQ(records[0].partition_key, "same");
  EXPECT_EQ(records[1].partition_key, "same");
  // A dotted field, a number as its JSON text; the field wins over a fixed key.
  records = parse_records("{\"user\": {\"id\": 42}}\n{\"user\": {\"id\": \"ann\"}}\n",
                          {.partition_key = "fixed", .partition_key_field = "user.id"});
  EXPECT_EQ(records[0].partition_key, "42");
  EXPECT_EQ(records[1].partition_key, "ann");
  for (std::string_view body : {"{\"user\": {\"id\": null}}", "{\"user\": {\"id\": {}}}", "{\"user\": 1}",
                                "{\"user\": {\"id\": \"\"}}"}) {
    EXPECT_EQ(refusal(body, {.partition_key_field = "user.id"}).kind, "bad_request") << body;
  }
  const std::string long_key = "{\"k\": \"" + std::string(257, 'k') + "\"}";
  EXPECT_THAT(refusal(long_key, {.partition_key_field = "k"}).message,
              HasSubstr("record 0 has no partition key field \"k\""));
}

std::vector<size_t> batch_sizes(const std::vector<std::span<const stream::PutRecord>>& batches) {
  std::vector<size_t> out;
  for (const auto& b : batches) out.push_back(b.size());
  return out;
}

std::vector<stream::PutRecord> records_of(size_t count, size_t data_bytes, const std::string& key = "k") {
  return std::vector<stream::PutRecord>(count, stream::PutRecord{key, std::string(data_bytes, 'x'), {}});
}

TEST(Ingest, BatchesHoldAtMost500RecordsAnd5MiB) {
  EXPECT_THAT(batch_sizes(split_batches(records_of(1001, 10))), ElementsAre(500, 500, 1));
  EXPECT_THAT(batch_sizes(split_batches(records_of(500, 10))), ElementsAre(500));
  EXPECT_TRUE(split_batches({}).empty());
  // 1 MiB - 1 of data and a 1-byte key: five make exactly 5 MiB and fit; the sixth starts a batch.
  EXPECT_THAT(batch_sizes(split_batches(records_of(12, kMiB - 1))), ElementsAre(5, 5, 2));
  // A record of exactly 1 MiB of data counts its key too: only four fit in 5 MiB.
  EXPECT_THAT(batch_sizes(split_batches(records_of(10, kMiB))), ElementsAre(4, 4, 2));
  // Batches are consecutive views, in order.
  auto records = records_of(3, 1);
  records[1].data = "middle";
  auto batches = split_batches(records, {.max_records = 2});
  ASSERT_EQ(batches.size(), 2u);
  EXPECT_EQ(batches[0][1].data, "middle");
  EXPECT_EQ(batches[1].data(), records.data() + 2);

  // An item larger than the byte limit makes a batch of its own.
  BatchPlanner planner({.max_records = 500, .max_bytes = 10});
  EXPECT_FALSE(planner.full_before(20));
  planner.add(20);
  EXPECT_TRUE(planner.full_before(1));
  planner.clear();
  planner.add(4);
  EXPECT_FALSE(planner.full_before(6));  // 4 + 6 = 10: at the limit still fits
  EXPECT_TRUE(planner.full_before(7));
}

TEST(Ingest, RecordBatcherHandsFullBatchesToItsSink) {
  std::vector<size_t> sizes;
  RecordBatcher batcher([&](std::span<const stream::PutRecord> batch) { sizes.push_back(batch.size()); });
  for (const auto& r : records_of(1203, 5)) batcher.add(r);
  EXPECT_THAT(sizes, ElementsAre(500, 500));
  batcher.finish();
  EXPECT_THAT(sizes, ElementsAre(500, 500, 203));
  EXPECT_EQ(batcher.records_sent(), 1203u);
  batcher.finish();  // nothing left: no empty batch
  EXPECT_EQ(sizes.size(), 3u);

  RecordBatcher failing([](std::span<const stream::PutRecord>) { throw SystemError("disk full"); });
  failing.add(records_of(1, 1)[0]);
  EXPECT_TRUE(testing_util::fails_with<SystemError>([&] { failing.finish(); }, "disk full"));
  EXPECT_EQ(failing.records_sent(), 0u);
}

TEST(Ingest, PutJsonValuesSplitsASourceResultIntoBatches) {
  std::string array = "[";
  for (int i = 0; i < 1200; ++i) array += (i ? "," : "") + std::string("{\"i\": ") + std::to_string(i) + "}";
  array += "]";
  std::vector<std::vector<std::string>> batches;
  auto sink = [&](std::span<const stream::PutRecord> batch) {
    batches.emplace_back();
    for (const auto& r : batch) batches.back().push_back(r.data);
  };
  EXPECT_EQ(put_json_values(array, {}, sink), 1200u);
  ASSERT_EQ(batches.size(), 3u);
  EXPECT_EQ(batches[0].size(), 500u);
  EXPECT_EQ(batches[2].size(), 200u);
  EXPECT_EQ(batches[0][0], "{\"i\":0}");
  EXPECT_EQ(batches[2].back(), "{\"i\":1199}");

  batches.clear();
  std::vector<stream::PutRecord> kept;
  EXPECT_EQ(put_json_values(
                "{\"a\": 1}", {},
                [&](std::span<const stream::PutRecord> batch) { kept.assign(batch.begin(), batch.end()); }),
            1u);
  ASSERT_EQ(kept.size(), 1u);
  EXPECT_EQ(kept[0].partition_key, "bb6cb5c68df4652941caf652a366f2d8");

  // Large values: batches by bytes (four of ~1 MiB + key fit, the fifth does not).
  std::string big = "[";
  for (int i = 0; i < 9; ++i) big += (i ? "," : "") + json_string_of(kMiB - 20);
  big += "]";
  std::vector<size_t> sizes;
  put_json_values(big, {}, [&](std::span<const stream::PutRecord> batch) { sizes.push_back(batch.size()); });
  EXPECT_THAT(sizes, ElementsAre(4, 4, 1));

  EXPECT_TRUE(testing_util::fails_with<Error>([&] { put_json_values("{\"a\": ", {}, sink); }, "not JSON: "));
}

}  // namespace
}  // namespace sluice::ingest
