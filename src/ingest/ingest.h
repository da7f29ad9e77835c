// sluice::ingest — request bodies into stream records, with Kinesis's limits, in one place for every
// front-end that writes to a stream: the native API (POST /v1/streams/NAME/records), `sluice put`,
// sources whose destination is stream://, and later Kinesis PutRecords and Firehose PutRecordBatch.
//
// A body is one JSON document, a JSON array of documents, or newline-delimited JSON (any whitespace
// between documents). Each document becomes one record: its minified JSON is the data, and its
// partition key is, in this order of preference, a dotted field of the document, a fixed key, or
// the MD5 of the data (which spreads records evenly over the shards).
//
// The limits are Kinesis's, named once here and used both to refuse a request and to split a larger
// input into requests that fit: at most 500 records and 5 MiB per request, 1 MiB of data per record,
// 256 bytes per partition key.
#pragma once

#include <cstddef>
#include <functional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "common/error.h"
#include "stream/stream.h"

namespace sluice::ingest {

inline constexpr size_t kMaxRecordBytes = stream::kMaxRecordDataBytes;  // 1 MiB of data per record
inline constexpr size_t kMaxRequestBytes = 5u << 20;                    // 5 MiB per request
inline constexpr size_t kMaxRecordsPerRequest = 500;
inline constexpr size_t kMaxPartitionKeyBytes = stream::kMaxPartitionKeyBytes;

// How each record gets its partition key.
struct KeyOptions {
  std::string partition_key;        // one key for every record (X-Partition-Key, ?partition_key=)
  std::string partition_key_field;  // a dotted field of each record (?partition_key_field=); wins
};

// A request refused for what the client sent; nothing of it was written. The message is one line
// naming the record (by index, and by byte offset for NDJSON) and the limit.
class Rejected : public Error {
 public:
  enum class Kind {
    kTooLarge,    // over a size or count limit (HTTP 413)
    kBadRequest,  // not JSON, no records, a missing key field (HTTP 400)
  };
  Rejected(Kind kind, const std::string& message) : Error(message), kind_(kind) {}
  Kind kind() const { return kind_; }
  // 413 for kTooLarge, 400 for kBadRequest.
  int http_status() const { return kind_ == Kind::kTooLarge ? 413 : 400; }

 private:
  Kind kind_;
};

// PutRecords from a request body (see the header): every record, in order, with its partition key.
// Throws Rejected when the body is over kMaxRequestBytes, the fixed key over 256 bytes, the body
// empty, not JSON or incomplete, a record over kMaxRecordBytes, more than kMaxRecordsPerRequest
// records, or a record without the key field (a string or number of 1..256 bytes).
std::vector<stream::PutRecord> parse_records(std::string_view body, const KeyOptions& options = {});

// ---- Batching --------------------------------------------------------------------------------

// The size of one PutRecords request.
struct BatchLimits {
  size_t max_records = kMaxRecordsPerRequest;
  size_t max_bytes = kMaxRequestBytes;
};

// The bytes a record counts for in a PutRecords request: its data and its partition key.
size_t request_bytes(const stream::PutRecord& record);

// Keeps count of the batch being built out of items of known size (records, NDJSON lines) and says
// when the next item must start a new one. A batch is never empty: an item larger than max_bytes
// makes a batch of its own.
class BatchPlanner {
 public:
  explicit BatchPlanner(BatchLimits limits = {}) : limits_(limits) {}
  // True when the batch is not empty and an item of `item_bytes` would take it past a limit: send
  // the batch (and clear()) before adding the item. Never throws.
  bool full_before(size_t item_bytes) const {
    return records_ > 0 && (records_ >= limits_.max_records || bytes_ + item_bytes > limits_.max_bytes);
  }
  // Counts an item into the batch. Never throws.
  void add(size_t item_bytes) {
    ++records_;
    bytes_ += item_bytes;
  }
  // Starts a new batch. Never throws.
  void clear() { records_ = bytes_ = 0; }
  size_t records() const { return records_; }
  size_t bytes() const { return bytes_; }

 private:
  BatchLimits limits_;
  size_t records_ = 0;
  size_t bytes_ = 0;
};

// Splits records, in order, into consecutive PutRecords-sized batches (views into `records`).
// Never throws.
std::vector<std::span<const stream::PutRecord>> split_batches(std::span<const stream::PutRecord> records,
                                                              BatchLimits limits = {});

// Collects records one by one and hands each full batch to a sink (a stream's put, an HTTP request).
class RecordBatcher {
 public:
  using Sink = std::function<void(std::span<const stream::PutRecord>)>;
  explicit RecordBatcher(Sink sink, BatchLimits limits = {}) : sink_(std::move(sink)), planner_(limits) {}
  // Adds a record, first handing the batch to the sink when the record does not fit in it. Throws
  // what the sink throws (the batch is then dropped: what the sink already took stays taken).
  void add(stream::PutRecord record);
  // Hands what is left to the sink (nothing when empty). Throws what the sink throws.
  void finish();
  // Records handed to the sink so far. Never throws.
  size_t records_sent() const { return sent_; }

 private:
  void send();
  Sink sink_;
  BatchPlanner planner_;
  std::vector<stream::PutRecord> batch_;
  size_t sent_ = 0;
};

// A source's result into a stream: the document, or each element when it is an array, becomes a
// record keyed as `options` says, handed to `sink` in PutRecords-sized batches. Returns the number
// of records. Throws Error ("not JSON: ...") when the body is not one JSON document, Rejected for a
// record without the key field, and what the sink throws. The per-record data limit is left to the
// stream, which refuses the batch that holds an oversized record.
size_t put_json_values(std::string_view body, const KeyOptions& options, const RecordBatcher::Sink& sink);

}  // namespace sluice::ingest
