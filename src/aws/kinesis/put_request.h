// The bodies of PutRecord and PutRecords, parsed with simdjson (the hot path of the Kinesis API: it
// runs at the rate records arrive, so it avoids building a DOM of nlohmann::json values and decodes
// base64 straight into each record) and checked as botocore's model and Kinesis's limits say.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "stream/stream.h"

namespace sluice::aws::kinesis {

// Kinesis's limits of PutRecords: records per request, bytes (keys + data) per request and per record.
inline constexpr size_t kMaxBatchRecords = 500;
inline constexpr size_t kMaxBatchBytes = 5u << 20;
inline constexpr size_t kMaxRecordBytes = 1u << 20;

struct PutRequest {
  std::string stream;  // from StreamName or StreamARN
  std::vector<stream::PutRecord> records;
};

// Parses a PutRecords body (`batch`: {"StreamName", "Records": [...]}) or a PutRecord body (the
// record's members beside StreamName). Throws server::HttpError 400: SerializationException when the
// body is not a JSON object (nesting deeper than 64 included) or a member has the wrong JSON type or a
// blob is not base64; ValidationException when a member breaks the model (missing, length, pattern,
// 1..500 records); InvalidArgumentException when a record's key and data pass 1 MiB, the request's 5
// MiB, or an ExplicitHashKey is 2^128 or more.
PutRequest parse_put_request(std::string_view body, bool batch);

// The stream a request names: StreamARN ("arn:aws...:kinesis:REGION:ACCOUNT:stream/NAME") when given,
// else StreamName, checked against the model's pattern [a-zA-Z0-9_.-]{1,128}. Throws
// server::HttpError 400 ValidationException (or InvalidArgumentException for an ARN naming no valid
// stream) when neither is valid.
std::string checked_stream_name(const std::optional<std::string>& name,
                                const std::optional<std::string>& arn);

// True when `text` matches Kinesis's sequence-number pattern 0|([1-9]\d{0,128}). Never throws.
bool is_sequence_number(std::string_view text);

}  // namespace sluice::aws::kinesis
