// Request bodies into records, and records into PutRecords-sized batches (ingest/ingest.h).
#include "ingest/ingest.h"

#include <simdjson.h>

#include <algorithm>
#include <optional>

#include "common/json_path.h"
#include "storage/md5.h"

namespace sluice::ingest {
namespace {

std::string mib_text(size_t bytes) {
  return std::to_string(bytes >> 20) + " MiB (" + std::to_string(bytes) + " bytes)";
}

[[noreturn]] void too_large(const std::string& message) {
  throw Rejected(Rejected::Kind::kTooLarge, message);
}

[[noreturn]] void bad_request(const std::string& message) {
  throw Rejected(Rejected::Kind::kBadRequest, message);
}

// A document's partition key as `options` says; throws Rejected when the key field is missing.
std::string key_for(simdjson::dom::element document, const std::string& data, const KeyOptions& options,
                    size_t index) {
  if (!options.partition_key_field.empty()) {
    simdjson::dom::element field;
    auto key =
        json::at_path(document, options.partition_key_field, field) ? json::scalar_text(field) : std::nullopt;
    if (!key || key->empty() || key->size() > kMaxPartitionKeyBytes) {
      bad_request("record " + std::to_string(index) + " has no partition key field \"" +
                  options.partition_key_field + "\" (a string or number of 1 to " +
                  std::to_string(kMaxPartitionKeyBytes) + " bytes)");
    }
    return *key;
  }
  if (!options.partition_key.empty()) return options.partition_key;
  return storage::md5_hex(data);  // spreads records over the shards
}

// Turns the documents of one request into records, refusing what is over a limit.
class RequestRecords {
 public:
  explicit RequestRecords(const KeyOptions& options) : options_(options) {}

  void add(simdjson::dom::element document, size_t index) {
    if (records_.size() >= kMaxRecordsPerRequest) {
      too_large("more than " + std::to_string(kMaxRecordsPerRequest) + " records in one request (record " +
                std::to_string(index) + ")");
    }
    stream::PutRecord record;
    record.data = simdjson::minify(document);
    if (record.data.size() > kMaxRecordBytes) {
      too_large("record " + std::to_string(index) + " is " + std::to_string(record.data.size()) +
                " bytes; at most " + mib_text(kMaxRecordBytes) + " per record");
    }
    record.partition_key = key_for(document, record.data, options_, index);
    records_.push_back(std::move(record));
  }

  std::vector<stream::PutRecord> take() { return std::move(records_); }

 private:
  const KeyOptions& options_;
  std::vector<stream::PutRecord> records_;
};

void parse_array(const simdjson::padded_string& body, RequestRecords& records) {
  simdjson::dom::parser parser;
  simdjson::dom::element root;
  if (auto error = parser.parse(body).get(root))
    bad_request(std::string("the body is not valid JSON: ") + simdjson::error_message(error));
  simdjson::dom::array array;
  if (root.get_array().get(array)) bad_request("expected a JSON array of records");
  size_t index = 0;
  for (simdjson::dom::element element : array) records.add(element, index++);
}

void parse_ndjson(const simdjson::padded_string& body, RequestRecords& records) {
  simdjson::dom::parser parser;
  simdjson::dom::document_stream documents;
  // One batch for the whole body, so that a document as large as the body is read whole.
  if (auto error = parser.parse_many(body, std::max<size_t>(body.size(), 1 << 20)).get(documents))
    bad_request(std::string("the body is not valid JSON: ") + simdjson::error_message(error));
  size_t index = 0;
  for (auto it = documents.begin(); it != documents.end(); ++it) {
    simdjson::dom::element element;
    if (auto error = (*it).get(element)) {
      bad_request("record " + std::to_string(index) + " (byte " + std::to_string(it.current_index()) +
                  ") is not valid JSON: " + simdjson::error_message(error));
    }
    records.add(element, index++);
  }
  if (documents.truncated_bytes() > 0) {
    bad_request("record " + std::to_string(index) + " (byte " +
                std::to_string(body.size() - documents.truncated_bytes()) + ") is incomplete JSON");
  }
}

}  // namespace

std::vector<stream::PutRecord> parse_records(std::string_view body, const KeyOptions& options) {
  if (body.size() > kMaxRequestBytes) {
    too_large("the request is " + std::to_string(body.size()) + " bytes; at most " +
              mib_text(kMaxRequestBytes) + " per request");
  }
  if (options.partition_key.size() > kMaxPartitionKeyBytes)
    bad_request("the partition key is longer than " + std::to_string(kMaxPartitionKeyBytes) + " bytes");
  const auto first = body.find_first_not_of(" \t\r\n");
  if (first == std::string_view::npos) bad_request("the body is empty; expected JSON records");
  const simdjson::padded_string padded(body.data(), body.size());
  RequestRecords records(options);
  if (body[first] == '[') {
    parse_array(padded, records);
  } else {
    parse_ndjson(padded, records);
  }
  auto out = records.take();
  if (out.empty()) bad_request("no records in the body");
  return out;
}

// ---- Batching --------------------------------------------------------------------------------

size_t request_bytes(const stream::PutRecord& record) {
  return record.data.size() + record.partition_key.size();
}

std::vector<std::span<const stream::PutRecord>> split_batches(std::span<const stream::PutRecord> records,
                                                              BatchLimits limits) {
  std::vector<std::span<const stream::PutRecord>> batches;
  BatchPlanner planner(limits);
  size_t begin = 0;
  for (size_t i = 0; i < records.size(); ++i) {
    const size_t bytes = request_bytes(records[i]);
    if (planner.full_before(bytes)) {
      batches.push_back(records.subspan(begin, i - begin));
      begin = i;
      planner.clear();
    }
    planner.add(bytes);
  }
  if (begin < records.size()) batches.push_back(records.subspan(begin));
  return batches;
}

void RecordBatcher::add(stream::PutRecord record) {
  const size_t bytes = request_bytes(record);
  if (planner_.full_before(bytes)) send();
  planner_.add(bytes);
  batch_.push_back(std::move(record));
}

void RecordBatcher::finish() {
  if (!batch_.empty()) send();
}

void RecordBatcher::send() {
  std::vector<stream::PutRecord> batch = std::move(batch_);
  batch_.clear();
  planner_.clear();
  sink_(batch);
  sent_ += batch.size();
}

size_t put_json_values(std::string_view body, const KeyOptions& options, const RecordBatcher::Sink& sink) {
  simdjson::dom::parser parser;
  const simdjson::padded_string padded(body.data(), body.size());
  simdjson::dom::element root;
  if (auto error = parser.parse(padded).get(root))
    throw Error(std::string("not JSON: ") + simdjson::error_message(error));
  RecordBatcher batcher(sink);
  size_t index = 0;
  auto add = [&](simdjson::dom::element document) {
    stream::PutRecord record;
    record.data = simdjson::minify(document);
    record.partition_key = key_for(document, record.data, options, index++);
    batcher.add(std::move(record));
  };
  simdjson::dom::array array;
  if (!root.get_array().get(array)) {
    for (simdjson::dom::element element : array) add(element);
  } else {
    add(root);
  }
  batcher.finish();
  return batcher.records_sent();
}

}  // namespace sluice::ingest
