// The Firehose JSON 1.1 API without a server: requests as the server builds them, answered by the
// router (server::Router::serve) over a DeliveryStreams registry in a temporary directory. Shapes,
// limits and every error code the operations answer.
#include "aws/firehose/firehose.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "aws/protocol/json_protocol.h"
#include "delivery/delivery_streams.h"
#include "server/error_shapes.h"
#include "storage/local_object_store.h"
#include "stream/stream_store.h"
#include "tests/common/temp_dir.h"

namespace sluice::aws {
namespace {

using nlohmann::json;
using ::testing::HasSubstr;

struct Answer {
  int status = 0;
  json body;
  std::string code() const { return body.value("__type", ""); }
  std::string message() const { return body.value("message", ""); }
};

const json kDestination = {{"RoleARN", "arn:aws:iam::123456789012:role/r"},
                           {"BucketARN", "arn:aws:s3:::lake"},
                           {"Prefix", "in/"},
                           {"BufferingHints", {{"SizeInMBs", 1}, {"IntervalInSeconds", 0}}}};

class FirehoseApiTest : public ::testing::Test {
 protected:
  void SetUp() override { open(); }

  void open(uint64_t min_free_bytes = 0) {
    router_ = std::make_unique<server::Router>();
    registry_.reset();
    delivery::DeliveryConfig declared;
    declared.name = "declared";
    declared.stream = "clicks";
    declared.bucket = "lake";
    delivery::DeliveryStreamsOptions options{.max_delivery_streams = 4, .buffer = {}};
    options.buffer.min_free_bytes = min_free_bytes;
    registry_ = std::make_unique<delivery::DeliveryStreams>(tmp_.path() / "firehose", std::vector{declared},
                                                            streams_, objects_, progress_, options);
    auto& group = router_->group({.name = "firehose", .errors = server::aws_json_errors()});
    add_firehose_routes(group, {.deliveries = [this]() -> delivery::DeliveryStreams& { return *registry_; }});
  }

  Answer call(const std::string& operation, const std::string& body, server::Headers headers = {}) {
    server::HttpRequest request;
    request.method = "POST";
    request.target = request.raw_path = request.path = "/";
    request.headers = std::move(headers);
    request.headers["X-Amz-Target"] = "Firehose_20150804." + operation;
    request.headers["Content-Type"] = "application/x-amz-json-1.1";
    request.body = body;
    const auto response = router_->serve(request);
    Answer answer{response.status, json::parse(response.body, nullptr, false)};
    return answer;
  }
  Answer call(const std::string& operation, const json& body, server::Headers headers = {}) {
    return call(operation, body.dump(), std::move(headers));
  }

  Answer create_direct(const std::string& name, json destination = kDestination) {
    return call("CreateDeliveryStream", json{{"DeliveryStreamName", name},
                                             {"DeliveryStreamType", "DirectPut"},
                                             {"ExtendedS3DestinationConfiguration", destination}});
  }

  static json records(size_t count, size_t bytes) {
    json list = json::array();
    for (size_t i = 0; i < count; ++i) list.push_back({{"Data", base64_encode(std::string(bytes, 'r'))}});
    return list;
  }

  testing_util::TempDir tmp_;
  storage::LocalObjectStore objects_{tmp_.path() / "objects", {"lake"}, nullptr};
  stream::StreamStore streams_{tmp_.path() / "streams",
                               {{.name = "clicks", .shards = 1, .min_free_bytes = 0}}};
  delivery::InMemoryDeliveryProgress progress_;
  std::unique_ptr<delivery::DeliveryStreams> registry_;
  std::unique_ptr<server::Router> router_;
};

TEST_F(FirehoseApiTest, CreateDescribeListAndDeleteAnswerTheModelsShapes) {
  const auto created = create_direct("orders");
  ASSERT_EQ(created.status, 200) << created.body;
  EXPECT_EQ(created.body["DeliveryStreamARN"],
            "arn:aws:firehose:us-east-1:000000000000:deliverystream/orders");
  const auto described = call("DescribeDeliveryStream", json{{"DeliveryStreamName", "orders"}});
  ASSERT_EQ(described.status, 200);
  const json& d = described.body["DeliveryStreamDescription"];
  EXPECT_EQ(d["DeliveryStreamStatus"], "ACTIVE");
  EXPECT_EQ(d["DeliveryStreamType"], "DirectPut");
  EXPECT_EQ(d["VersionId"], "1");
  EXPECT_EQ(d["HasMoreDestinations"], false);
  EXPECT_TRUE(d["CreateTimestamp"].is_number());
  EXPECT_FALSE(d.contains("Source"));
  const json& s3 = d["Destinations"][0]["ExtendedS3DestinationDescription"];
  EXPECT_EQ(s3["BucketARN"], "arn:aws:s3:::lake");
  EXPECT_EQ(s3["Prefix"], "in/");
  EXPECT_EQ(s3["CompressionFormat"], "UNCOMPRESSED");
  EXPECT_EQ(s3["BufferingHints"], (json{{"SizeInMBs", 1}, {"IntervalInSeconds", 0}}));
  EXPECT_EQ(s3["EncryptionConfiguration"]["NoEncryptionConfig"], "NoEncryption");
  const auto declared = call("DescribeDeliveryStream", json{{"DeliveryStreamName", "declared"}});
  EXPECT_EQ(declared.body["DeliveryStreamDescription"]["Source"]["KinesisStreamSourceDescription"]
                         ["KinesisStreamARN"],
            "arn:aws:kinesis:us-east-1:000000000000:stream/clicks");
  const auto listed = call("ListDeliveryStreams", json{{"Limit", 1}});
  EXPECT_EQ(listed.body["DeliveryStreamNames"], json::array({"declared"}));
  EXPECT_EQ(listed.body["HasMoreDeliveryStreams"], true);
  const auto rest = call("ListDeliveryStreams", json{{"ExclusiveStartDeliveryStreamName", "declared"}});
  EXPECT_EQ(rest.body["DeliveryStreamNames"], json::array({"orders"}));
  EXPECT_EQ(rest.body["HasMoreDeliveryStreams"], false);
  EXPECT_EQ(call("DeleteDeliveryStream", json{{"DeliveryStreamName", "orders"}}).status, 200);
  EXPECT_EQ(call("DescribeDeliveryStream", json{{"DeliveryStreamName", "orders"}}).code(),
            "ResourceNotFoundException");
}

TEST_F(FirehoseApiTest, ArnsCarryTheRegionOfTheCredentialScope) {
  const auto created = call(
      "CreateDeliveryStream",
      json{{"DeliveryStreamName", "eu"}, {"S3DestinationConfiguration", kDestination}},
      {{"Authorization",
        "AWS4-HMAC-SHA256 Credential=AKID/20261125/eu-north-1/firehose/aws4_request, SignedHeaders=host, "
        "Signature=00"}});
  EXPECT_EQ(created.body["DeliveryStreamARN"], "arn:aws:firehose:eu-north-1:000000000000:deliverystream/eu");
}

TEST_F(FirehoseApiTest, PutRecordBatchAnswersEachRecordAndItsLimits) {
  ASSERT_EQ(create_direct("batch").status, 200);
  const auto put = call("PutRecordBatch", json{{"DeliveryStreamName", "batch"}, {"Records", records(3, 10)}});
  ASSERT_EQ(put.status, 200) << put.body;
  EXPECT_EQ(put.body["FailedPutCount"], 0);
  EXPECT_EQ(put.body["Encrypted"], false);
  ASSERT_EQ(put.body["RequestResponses"].size(), 3u);
  EXPECT_NE(put.body["RequestResponses"][0]["RecordId"], put.body["RequestResponses"][1]["RecordId"]);
  const auto one = call("PutRecord", json{{"DeliveryStreamName", "batch"}, {"Record", {{"Data", "aGk="}}}});
  EXPECT_EQ(one.status, 200);
  EXPECT_TRUE(one.body["RecordId"].is_string());

  const auto too_many =
      call("PutRecordBatch", json{{"DeliveryStreamName", "batch"}, {"Records", records(501, 1)}});
  EXPECT_EQ(too_many.status, 400);
  EXPECT_EQ(too_many.code(), "InvalidArgumentException");
  EXPECT_THAT(too_many.message(), HasSubstr("500"));
  const auto none = call("PutRecordBatch", json{{"DeliveryStreamName", "batch"}, {"Records", json::array()}});
  EXPECT_EQ(none.code(), "InvalidArgumentException");
  const auto too_big =
      call("PutRecordBatch", json{{"DeliveryStreamName", "batch"}, {"Records", records(5, 1000000)}});
  EXPECT_EQ(too_big.code(), "InvalidArgumentException");
  EXPECT_THAT(too_big.message(), HasSubstr("4 MiB"));
  const auto record_too_big =
      call("PutRecord", json{{"DeliveryStreamName", "batch"}, {"Record", records(1, 1024001)[0]}});
  EXPECT_EQ(record_too_big.code(), "InvalidArgumentException");
  EXPECT_THAT(record_too_big.message(), HasSubstr("1024000"));
  const auto largest =
      call("PutRecord", json{{"DeliveryStreamName", "batch"}, {"Record", records(1, 1024000)[0]}});
  EXPECT_EQ(largest.status, 200) << largest.body;
  const auto not_base64 =
      call("PutRecord", json{{"DeliveryStreamName", "batch"}, {"Record", {{"Data", "!!"}}}});
  EXPECT_EQ(not_base64.code(), "InvalidArgumentException");
  EXPECT_EQ(call("PutRecordBatch", std::string("{not json")).code(), "SerializationException");
}

TEST_F(FirehoseApiTest, ALowDiskIsServiceUnavailableAndEveryRecordOfTheBatchFails) {
  open(uint64_t{1} << 62);  // more free space than any disk has: the buffer refuses every put
  ASSERT_EQ(create_direct("full").status, 200);
  const auto put = call("PutRecord", json{{"DeliveryStreamName", "full"}, {"Record", {{"Data", "aGk="}}}});
  EXPECT_EQ(put.status, 503);
  EXPECT_EQ(put.code(), "ServiceUnavailableException");
  const auto batch = call("PutRecordBatch", json{{"DeliveryStreamName", "full"}, {"Records", records(2, 4)}});
  ASSERT_EQ(batch.status, 200);
  EXPECT_EQ(batch.body["FailedPutCount"], 2);
  for (const auto& response : batch.body["RequestResponses"]) {
    EXPECT_EQ(response["ErrorCode"], "ServiceUnavailableException");
    EXPECT_FALSE(response.contains("RecordId"));
  }
}

TEST_F(FirehoseApiTest, ErrorCodes) {
  ASSERT_EQ(create_direct("one").status, 200);
  EXPECT_EQ(create_direct("one").code(), "ResourceInUseException");
  const auto declared = call("DeleteDeliveryStream", json{{"DeliveryStreamName", "declared"}});
  EXPECT_EQ(declared.code(), "ResourceInUseException");
  EXPECT_THAT(declared.message(), HasSubstr("declared in the pipeline file"));
  EXPECT_EQ(call("DeleteDeliveryStream", json{{"DeliveryStreamName", "absent"}}).code(),
            "ResourceNotFoundException");
  EXPECT_EQ(call("PutRecord", json{{"DeliveryStreamName", "absent"}, {"Record", {{"Data", ""}}}}).code(),
            "ResourceNotFoundException");
  const auto not_direct =
      call("PutRecord", json{{"DeliveryStreamName", "declared"}, {"Record", {{"Data", ""}}}});
  EXPECT_EQ(not_direct.code(), "InvalidArgumentException");
  EXPECT_THAT(not_direct.message(), HasSubstr("clicks"));
  ASSERT_EQ(create_direct("two").status, 200);
  ASSERT_EQ(create_direct("three").status, 200);
  EXPECT_EQ(create_direct("four").code(), "LimitExceededException");  // 4 with the declared one
}

TEST_F(FirehoseApiTest, UnsupportedOrInvalidConfigurationsAreNamed) {
  auto refused = [&](json request, const std::string& says) {
    const auto answer = call("CreateDeliveryStream", request);
    EXPECT_EQ(answer.status, 400) << request;
    EXPECT_EQ(answer.code(), "InvalidArgumentException") << request;
    EXPECT_THAT(answer.message(), HasSubstr(says)) << request;
  };
  json zip = kDestination;
  zip["CompressionFormat"] = "ZIP";
  refused({{"DeliveryStreamName", "z"}, {"ExtendedS3DestinationConfiguration", zip}},
          "CompressionFormat ZIP");
  refused({{"DeliveryStreamName", "h"}, {"HttpEndpointDestinationConfiguration", json::object()}},
          "HttpEndpointDestinationConfiguration");
  refused({{"DeliveryStreamName", "n"}}, "destination is required");
  json bucket = kDestination;
  bucket["BucketARN"] = "arn:aws:s3:::absent";
  refused({{"DeliveryStreamName", "b"}, {"ExtendedS3DestinationConfiguration", bucket}}, "absent");
  bucket["BucketARN"] = "lake";
  refused({{"DeliveryStreamName", "b"}, {"ExtendedS3DestinationConfiguration", bucket}},
          "arn:aws:s3:::BUCKET");
  json hints = kDestination;
  hints["BufferingHints"]["SizeInMBs"] = 129;
  refused({{"DeliveryStreamName", "s"}, {"ExtendedS3DestinationConfiguration", hints}},
          "ExtendedS3DestinationConfiguration.BufferingHints.SizeInMBs");
  json partitioned = kDestination;
  partitioned["Prefix"] = "p/!{partitionKeyFromQuery:id}/";
  refused({{"DeliveryStreamName", "p"}, {"ExtendedS3DestinationConfiguration", partitioned}},
          "DynamicPartitioningConfiguration");
  json lambda = kDestination;
  lambda["ProcessingConfiguration"] = {{"Enabled", true}, {"Processors", {{{"Type", "Lambda"}}}}};
  refused({{"DeliveryStreamName", "l"}, {"ExtendedS3DestinationConfiguration", lambda}}, "Lambda");
  refused({{"DeliveryStreamName", "k"},
           {"DeliveryStreamType", "KinesisStreamAsSource"},
           {"ExtendedS3DestinationConfiguration", kDestination}},
          "KinesisStreamSourceConfiguration");
  refused(
      {{"DeliveryStreamName", "k"},
       {"DeliveryStreamType", "KinesisStreamAsSource"},
       {"KinesisStreamSourceConfiguration",
        {{"KinesisStreamARN", "arn:aws:kinesis:us-east-1:000000000000:stream/absent"}, {"RoleARN", "arn:x"}}},
       {"ExtendedS3DestinationConfiguration", kDestination}},
      "no stream named \"absent\"");
  refused({{"DeliveryStreamName", "bad/name"}, {"ExtendedS3DestinationConfiguration", kDestination}},
          "DeliveryStreamName");
  EXPECT_TRUE(registry_->names().size() == 1u);  // only the declared one: nothing was made
}

TEST_F(FirehoseApiTest, AMetadataExtractionQueryNamesTheFieldsOfThePartitionKeys) {
  json destination = kDestination;
  destination["Prefix"] = "by/!{partitionKeyFromQuery:town}/";
  destination["DynamicPartitioningConfiguration"] = {{"Enabled", true}};
  destination["ProcessingConfiguration"] = {
      {"Enabled", true},
      {"Processors",
       {{{"Type", "MetadataExtraction"},
         {"Parameters",
          {{{"ParameterName", "MetadataExtractionQuery"}, {"ParameterValue", "{town: .address.city}"}}}}}}}};
  ASSERT_EQ(create_direct("towns", destination).status, 200);
  EXPECT_EQ(registry_->describe("towns").config.prefix, "by/!{partitionKeyFromQuery:address.city}/");
  // The description says what the client wrote.
  const auto described = call("DescribeDeliveryStream", json{{"DeliveryStreamName", "towns"}});
  EXPECT_EQ(described.body["DeliveryStreamDescription"]["Destinations"][0]["ExtendedS3DestinationDescription"]
                          ["Prefix"],
            "by/!{partitionKeyFromQuery:town}/");
  destination["Prefix"] = "by/!{partitionKeyFromQuery:other}/";
  const auto undefined = create_direct("others", destination);
  EXPECT_EQ(undefined.code(), "InvalidArgumentException");
  EXPECT_THAT(undefined.message(), HasSubstr("other"));
}

}  // namespace
}  // namespace sluice::aws
