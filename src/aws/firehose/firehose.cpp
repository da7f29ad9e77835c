#include "aws/firehose/firehose.h"

#include <algorithm>
#include <nlohmann/json.hpp>

#include "aws/firehose/firehose_shapes.h"
#include "aws/protocol/json_protocol.h"
#include "delivery/delivery_streams.h"
#include "stream/stream.h"

namespace sluice::aws {
namespace {

using nlohmann::json;

// Firehose's limits of PutRecord and PutRecordBatch.
constexpr size_t kMaxRecordBytes = 1024000;  // 1,000 KiB per record, before base64
constexpr size_t kMaxBatchRecords = 500;
constexpr size_t kMaxBatchBytes = size_t{4} << 20;  // 4 MiB per PutRecordBatch
// Bodies as base64 and JSON carry them (4/3, and the members around each record).
constexpr uint64_t kMaxPutRecordBody = 2ull << 20;
constexpr uint64_t kMaxPutRecordBatchBody = 8ull << 20;

constexpr std::string_view kInvalid = "InvalidArgumentException";
constexpr std::string_view kUnavailable = "ServiceUnavailableException";

// Answers what the delivery streams threw in the service's terms; rethrows anything else.
[[noreturn]] void fail_from(std::exception_ptr error) {
  try {
    std::rethrow_exception(error);
  } catch (const server::HttpError&) {
    throw;
  } catch (const delivery::DeliveryStreamNotFound& e) {
    fail(400, "ResourceNotFoundException", e.what());
  } catch (const delivery::DeliveryStreamInUse& e) {
    fail(400, "ResourceInUseException", e.what());
  } catch (const delivery::DeliveryStreamLimit& e) {
    fail(400, "LimitExceededException", e.what());
  } catch (const stream::Throttled& e) {
    fail(503, std::string(kUnavailable), std::string("Slow down: ") + e.what());
  } catch (const SystemError& e) {
    fail(503, std::string(kUnavailable), e.what());
  } catch (const Error& e) {
    fail(400, std::string(kInvalid), e.what());
  }
}

std::string name_of(const json& body) {
  std::string name = required_string(body, "DeliveryStreamName", 1, 64);
  if (name.find_first_not_of("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.-") !=
      std::string::npos)
    fail(400, std::string(kInvalid),
         "1 validation error detected: Value at 'DeliveryStreamName' failed to satisfy constraint: Member "
         "must "
         "satisfy regular expression pattern: [a-zA-Z0-9_.-]+");
  return name;
}

// The decoded Data of one Record structure; `label` names it in messages.
std::string record_data(const json& record, const std::string& label) {
  if (!record.is_object()) fail(400, std::string(kInvalid), label + " must be a structure with Data");
  const auto it = record.find("Data");
  if (it == record.end() || !it->is_string())
    fail(400, std::string(kInvalid), label + ".Data must be a base64 string");
  auto data = base64_decode(it->get_ref<const std::string&>());
  if (!data) fail(400, std::string(kInvalid), label + ".Data is not valid base64");
  if (data->size() > kMaxRecordBytes)
    fail(400, std::string(kInvalid),
         "1 validation error detected: Value at '" + label +
             ".Data' failed to satisfy constraint: Member must have "
             "length less than or equal to " +
             std::to_string(kMaxRecordBytes));
  return std::move(*data);
}

class Firehose {
 public:
  explicit Firehose(FirehoseBackend backend) : backend_(std::move(backend)) {}

  // Each operation below answers one request as botocore's model says, or throws HttpError in the
  // service's terms (see firehose.h); none keeps state between requests.

  // CreateDeliveryStream: {"DeliveryStreamARN"}.
  server::HttpResponse create(const server::RouteRequest& request) const {
    const json body = parse_body(request);
    auto asked = firehose::parse_create_request(body);
    try {
      backend_.deliveries().create(std::move(asked.config), asked.metadata.dump());
    } catch (...) {
      fail_from(std::current_exception());
    }
    return json_reply({{"DeliveryStreamARN",
                        firehose::delivery_stream_arn(firehose::region_of(request.http), name_of(body))}});
  }

  // DeleteDeliveryStream: {} once the delivery stream, its buffer and its progress are gone.
  server::HttpResponse remove(const server::RouteRequest& request) const {
    const json body = parse_body(request);
    const std::string name = name_of(body);
    optional_boolean(body, "AllowForceDelete");
    try {
      backend_.deliveries().remove(name);
    } catch (...) {
      fail_from(std::current_exception());
    }
    return json_reply(json::object());
  }

  // DescribeDeliveryStream: {"DeliveryStreamDescription"}.
  server::HttpResponse describe(const server::RouteRequest& request) const {
    const json body = parse_body(request);
    const std::string name = name_of(body);
    optional_integer(body, "Limit", 1, 10000);
    optional_string(body, "ExclusiveStartDestinationId", 1, 100);
    delivery::DeliveryStreamInfo info;
    try {
      info = backend_.deliveries().describe(name);
    } catch (...) {
      fail_from(std::current_exception());
    }
    return json_reply(
        {{"DeliveryStreamDescription", firehose::describe(info, firehose::region_of(request.http))}});
  }

  // ListDeliveryStreams: names after ExclusiveStartDeliveryStreamName, sorted, Limit (10) at most.
  server::HttpResponse list(const server::RouteRequest& request) const {
    const json body = parse_body(request);
    const auto limit = static_cast<size_t>(optional_integer(body, "Limit", 1, 10000).value_or(10));
    const auto type = optional_string(body, "DeliveryStreamType", 1, 64);
    if (type && *type != "DirectPut" && *type != "KinesisStreamAsSource")
      fail(400, std::string(kInvalid),
           "DeliveryStreamType " + *type + " is not DirectPut or KinesisStreamAsSource");
    const auto start = optional_string(body, "ExclusiveStartDeliveryStreamName", 1, 64);
    auto& deliveries = backend_.deliveries();
    json names = json::array();
    bool more = false;
    for (const auto& name : deliveries.names()) {
      if (start && name <= *start) continue;
      if (type) {
        try {
          if (firehose::stream_type(deliveries.describe(name).config) != *type) continue;
        } catch (const delivery::DeliveryStreamNotFound&) {
          continue;  // deleted meanwhile
        }
      }
      if (names.size() == limit) {
        more = true;
        break;
      }
      names.push_back(name);
    }
    return json_reply({{"DeliveryStreamNames", names}, {"HasMoreDeliveryStreams", more}});
  }

  // PutRecord: {"RecordId", "Encrypted"} once the record is durable in the buffer.
  server::HttpResponse put_record(const server::RouteRequest& request) const {
    const json body = parse_body(request);
    const std::string name = name_of(body);
    const auto record = body.find("Record");
    if (record == body.end() || record->is_null())
      fail(400, std::string(kInvalid),
           "1 validation error detected: Value at 'Record' failed to satisfy constraint: Member must not be "
           "null");
    std::vector<std::string> records{record_data(*record, "Record")};
    std::vector<std::string> ids;
    try {
      ids = backend_.deliveries().put(name, std::move(records));
    } catch (...) {
      fail_from(std::current_exception());
    }
    return json_reply({{"RecordId", ids.at(0)}, {"Encrypted", false}});
  }

  // PutRecordBatch: each record's RecordId, or, under back-pressure or a full disk, each record's
  // ErrorCode ServiceUnavailableException (a put is all or nothing) with FailedPutCount.
  server::HttpResponse put_record_batch(const server::RouteRequest& request) const {
    const json body = parse_body(request);
    const std::string name = name_of(body);
    std::vector<std::string> records = batch_records(body);
    std::vector<std::string> ids;
    std::string failure;
    const size_t count = records.size();
    try {
      ids = backend_.deliveries().put(name, std::move(records));
    } catch (const stream::Throttled& e) {
      failure = std::string("Slow down: ") + e.what();
    } catch (const SystemError& e) {
      failure = e.what();
    } catch (...) {
      fail_from(std::current_exception());
    }
    // A put is all or nothing: every record succeeded, or every one is to be sent again.
    json responses = json::array();
    for (size_t i = 0; i < count; ++i) {
      responses.push_back(failure.empty() ? json{{"RecordId", ids.at(i)}}
                                          : json{{"ErrorCode", kUnavailable}, {"ErrorMessage", failure}});
    }
    return json_reply({{"FailedPutCount", failure.empty() ? 0 : count},
                       {"Encrypted", false},
                       {"RequestResponses", responses}});
  }

 private:
  // The decoded records of a PutRecordBatch body, within the model's and the service's limits.
  static std::vector<std::string> batch_records(const json& body) {
    const auto list = body.find("Records");
    if (list == body.end() || list->is_null())
      fail(400, std::string(kInvalid),
           "1 validation error detected: Value at 'Records' failed to satisfy constraint: Member must not be "
           "null");
    if (!list->is_array() || list->empty() || list->size() > kMaxBatchRecords)
      fail(400, std::string(kInvalid),
           "1 validation error detected: Value at 'Records' failed to satisfy constraint: Member must be a "
           "list "
           "of 1 to " +
               std::to_string(kMaxBatchRecords) + " records");
    std::vector<std::string> records;
    records.reserve(list->size());
    size_t total = 0;
    for (size_t i = 0; i < list->size(); ++i) {
      records.push_back(record_data((*list)[i], "Records." + std::to_string(i + 1)));
      total += records.back().size();
      if (total > kMaxBatchBytes)
        fail(
            400, std::string(kInvalid),
            "the records of a PutRecordBatch request must total at most 4 MiB (4194304 bytes); these pass it "
            "at record " +
                std::to_string(i + 1));
    }
    return records;
  }

  FirehoseBackend backend_;
};

}  // namespace

void add_firehose_routes(server::RouteGroup& group, FirehoseBackend backend) {
  const auto firehose = std::make_shared<const Firehose>(std::move(backend));
  auto bind = [firehose](server::HttpResponse (Firehose::*method)(const server::RouteRequest&) const) {
    return [firehose, method](const server::RouteRequest& request) { return ((*firehose).*method)(request); };
  };
  group.operation(kFirehoseTargetPrefix, "CreateDeliveryStream", bind(&Firehose::create))
      .operation(kFirehoseTargetPrefix, "DeleteDeliveryStream", bind(&Firehose::remove))
      .operation(kFirehoseTargetPrefix, "DescribeDeliveryStream", bind(&Firehose::describe))
      .operation(kFirehoseTargetPrefix, "ListDeliveryStreams", bind(&Firehose::list))
      .operation(kFirehoseTargetPrefix, "PutRecord", bind(&Firehose::put_record),
                 {.max_body_bytes = kMaxPutRecordBody})
      .operation(kFirehoseTargetPrefix, "PutRecordBatch", bind(&Firehose::put_record_batch),
                 {.max_body_bytes = kMaxPutRecordBatchBody});
}

}  // namespace sluice::aws
