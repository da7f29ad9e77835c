#include "aws/kinesis/put_request.h"

#include <simdjson.h>

#include <algorithm>
#include <array>
#include <cctype>

#include "aws/protocol/json_protocol.h"

namespace sluice::aws::kinesis {
namespace {

constexpr size_t kMaxDepth = 64;  // as common/json_limits.h

[[noreturn]] void serialization(const std::string& message) { fail(400, "SerializationException", message); }
[[noreturn]] void validation(const std::string& message) {
  fail(400, "ValidationException", "1 validation error detected: " + message);
}

constexpr std::array<int8_t, 256> decode_table() {
  constexpr std::string_view alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::array<int8_t, 256> table{};
  for (auto& v : table) v = -1;
  for (size_t i = 0; i < alphabet.size(); ++i) table[static_cast<unsigned char>(alphabet[i])] = int8_t(i);
  return table;
}
constexpr auto kDecode = decode_table();

// Strict base64 (padding required, canonical) decoded into a buffer sized once; the same rules as
// aws::base64_decode, written for the batch path's volume.
std::optional<std::string> decode_base64(std::string_view text) {
  if (text.size() % 4 != 0) return std::nullopt;
  size_t padding = 0;
  if (!text.empty() && text.back() == '=') padding = text[text.size() - 2] == '=' ? 2 : 1;
  std::string out(text.size() / 4 * 3 - padding, '\0');
  char* to = out.data();
  const size_t whole = text.empty() ? 0 : text.size() - 4;  // the last quad may hold padding
  for (size_t i = 0; i < whole; i += 4) {
    const int a = kDecode[uint8_t(text[i])], b = kDecode[uint8_t(text[i + 1])],
              c = kDecode[uint8_t(text[i + 2])], d = kDecode[uint8_t(text[i + 3])];
    if ((a | b | c | d) < 0) return std::nullopt;
    const uint32_t n = uint32_t(a) << 18 | uint32_t(b) << 12 | uint32_t(c) << 6 | uint32_t(d);
    *to++ = char(n >> 16);
    *to++ = char(n >> 8);
    *to++ = char(n);
  }
  if (text.empty()) return out;
  const std::string_view last = text.substr(whole);
  const int a = kDecode[uint8_t(last[0])], b = kDecode[uint8_t(last[1])];
  const int c = padding >= 2 ? 0 : kDecode[uint8_t(last[2])],
            d = padding >= 1 ? 0 : kDecode[uint8_t(last[3])];
  if ((a | b | c | d) < 0) return std::nullopt;
  const uint32_t n = uint32_t(a) << 18 | uint32_t(b) << 12 | uint32_t(c) << 6 | uint32_t(d);
  if ((padding == 1 && (n & 0xff) != 0) || (padding == 2 && (n & 0xffff) != 0)) return std::nullopt;
  *to++ = char(n >> 16);
  if (padding < 2) *to++ = char(n >> 8);
  if (padding < 1) *to++ = char(n);
  return out;
}

// A string member of `object`: nullopt when absent or null; SerializationException when not a string.
std::optional<std::string_view> string_member(simdjson::dom::object object, std::string_view member,
                                              const std::string& where) {
  simdjson::dom::element value;
  if (object.at_key(member).get(value) || value.is_null()) return std::nullopt;
  std::string_view text;
  if (value.get_string().get(text)) serialization(where + "." + std::string(member) + " must be a string");
  return text;
}

std::string_view required_member(simdjson::dom::object object, std::string_view member,
                                 const std::string& where, size_t min_length, size_t max_length) {
  const auto text = string_member(object, member, where);
  if (!text)
    validation("Value null at '" + where + "." + std::string(member) +
               "' failed to satisfy constraint: Member must not be null");
  if (text->size() < min_length || text->size() > max_length)
    validation("Value at '" + where + "." + std::string(member) +
               "' failed to satisfy constraint: Member must have length between " +
               std::to_string(min_length) + " and " + std::to_string(max_length));
  return *text;
}

// One record: Data, PartitionKey, ExplicitHashKey of `object`.
stream::PutRecord record_of(simdjson::dom::object object, const std::string& where) {
  stream::PutRecord record;
  const auto data = string_member(object, "Data", where);
  if (!data)
    validation("Value null at '" + where + ".data' failed to satisfy constraint: Member must not be null");
  auto bytes = decode_base64(*data);
  if (!bytes) serialization(where + ".Data is not valid base64");
  record.data = std::move(*bytes);
  if (record.data.size() > kMaxRecordBytes)
    validation("Value at '" + where +
               ".data' failed to satisfy constraint: Member must have length less than or equal to 1048576");
  record.partition_key =
      std::string(required_member(object, "PartitionKey", where, 1, stream::kMaxPartitionKeyBytes));
  if (record.partition_key.size() + record.data.size() > kMaxRecordBytes)
    fail(400, "InvalidArgumentException",
         where + ": the partition key and data together are " +
             std::to_string(record.partition_key.size() + record.data.size()) +
             " bytes, more than the 1 MiB a record may hold");
  if (const auto hash_key = string_member(object, "ExplicitHashKey", where)) {
    if (hash_key->empty() || hash_key->size() > 39 || !is_sequence_number(*hash_key))
      validation(
          "Value '" + std::string(hash_key->substr(0, 64)) + "' at '" + where +
          ".explicitHashKey' failed to satisfy constraint: Member must satisfy regular expression pattern: "
          "0|([1-9]\\d{0,38})");
    if (!stream::parse_hash_key(*hash_key))
      fail(400, "InvalidArgumentException",
           "Invalid ExplicitHashKey. ExplicitHashKey must be in the range: [0, 2^128-1]. Specified value "
           "was " +
               std::string(*hash_key));
    record.explicit_hash_key = std::string(*hash_key);
  }
  return record;
}

std::string stream_of(simdjson::dom::object object) {
  const auto owned = [](std::optional<std::string_view> v) {
    return v ? std::optional<std::string>(std::string(*v)) : std::nullopt;
  };
  return checked_stream_name(owned(string_member(object, "StreamName", "request")),
                             owned(string_member(object, "StreamARN", "request")));
}

// The Records of a PutRecords body, checked one by one and in total.
std::vector<stream::PutRecord> records_of(simdjson::dom::object object) {
  simdjson::dom::element value;
  if (object.at_key("Records").get(value) || value.is_null())
    validation("Value null at 'records' failed to satisfy constraint: Member must not be null");
  simdjson::dom::array entries;
  if (value.get_array().get(entries)) serialization("Records must be a list");
  if (entries.size() == 0 || entries.size() > kMaxBatchRecords)
    validation("Value at 'records' failed to satisfy constraint: Member must have length between 1 and 500");
  std::vector<stream::PutRecord> records;
  records.reserve(entries.size());
  size_t total = 0;
  for (simdjson::dom::element entry : entries) {
    const std::string where = "records." + std::to_string(records.size() + 1) + ".member";
    simdjson::dom::object fields;
    if (entry.get_object().get(fields)) serialization(where + " must be an object");
    records.push_back(record_of(fields, where));
    total += records.back().data.size() + records.back().partition_key.size();
  }
  if (total > kMaxBatchBytes)
    fail(400, "InvalidArgumentException",
         "Records size exceeds 5 MB limit: the request holds " + std::to_string(total) +
             " bytes of partition keys and data");
  return records;
}

}  // namespace

bool is_sequence_number(std::string_view text) {
  if (text.empty() || text.size() > 129) return false;
  if (!std::all_of(text.begin(), text.end(), [](char c) { return c >= '0' && c <= '9'; })) return false;
  return text == "0" || text.front() != '0';
}

std::string checked_stream_name(const std::optional<std::string>& name,
                                const std::optional<std::string>& arn) {
  const auto valid = [](std::string_view text) {
    return !text.empty() && text.size() <= 128 && std::all_of(text.begin(), text.end(), [](char c) {
      return std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '.' || c == '-';
    });
  };
  if (arn) {
    const auto slash = arn->find(":stream/");
    if (arn->size() > 2048 || !arn->starts_with("arn:aws") || slash == std::string::npos)
      validation(
          "Value at 'streamARN' failed to satisfy constraint: Member must satisfy regular expression "
          "pattern: arn:aws.*:kinesis:.*:\\d{12}:stream/.+");
    std::string stream = arn->substr(slash + 8);
    if (!valid(stream))
      fail(400, "InvalidArgumentException", "the StreamARN names no valid stream: " + arn->substr(0, 300));
    return stream;
  }
  if (!name) validation("Value null at 'streamName' failed to satisfy constraint: Member must not be null");
  if (!valid(*name))
    validation(
        "Value '" + name->substr(0, 128) +
        "' at 'streamName' failed to satisfy constraint: Member must satisfy regular expression pattern: "
        "[a-zA-Z0-9_.-]+ and have length between 1 and 128");
  return *name;
}

PutRequest parse_put_request(std::string_view body, bool batch) {
  const simdjson::padded_string padded(body);
  simdjson::dom::parser parser;
  if (parser.allocate(std::max<size_t>(padded.size(), 64), kMaxDepth))
    fail(500, "InternalFailure", "cannot allocate the JSON parser");
  simdjson::dom::element root;
  if (auto error = parser.parse(padded).get(root))
    serialization(std::string("the request body is not valid JSON: ") + simdjson::error_message(error));
  simdjson::dom::object object;
  if (root.get_object().get(object)) serialization("the request body must be a JSON object");
  PutRequest request{stream_of(object), {}};
  if (batch) {
    request.records = records_of(object);
  } else {
    if (const auto order = string_member(object, "SequenceNumberForOrdering", "putRecordInput");
        order && !is_sequence_number(*order))
      validation(
          "Value at 'sequenceNumberForOrdering' failed to satisfy constraint: Member must satisfy regular "
          "expression pattern: 0|([1-9]\\d{0,128})");
    request.records.push_back(record_of(object, "putRecordInput"));
  }
  return request;
}

}  // namespace sluice::aws::kinesis
