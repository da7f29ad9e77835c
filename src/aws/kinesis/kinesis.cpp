// The Kinesis operations: request members checked against botocore's model, then the stream store's
// calls, with stream errors translated to Kinesis's codes (see aws/kinesis/kinesis.h).
#include "aws/kinesis/kinesis.h"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <memory>
#include <stdexcept>

#include "aws/kinesis/put_request.h"
#include "aws/kinesis/shard_iterator.h"
#include "aws/protocol/json_protocol.h"
#include "common/json_limits.h"

namespace sluice::aws {
namespace {

using nlohmann::json;
using server::HttpResponse;
using server::RouteRequest;

constexpr std::string_view kAccount = "000000000000";
constexpr MemberRules kModel{"ValidationException"};  // what AWS answers for the model's constraints
constexpr int kDefaultShards = 4;                     // an on-demand stream starts with 4 shards
constexpr size_t kMaxTagsPerStream = 50;
constexpr int64_t kMinRetentionHours = 24, kMaxRetentionHours = 8760;
constexpr int64_t kHourMs = 3600 * 1000;
constexpr std::chrono::milliseconds kNextTokenLifetime{5 * 60 * 1000};

[[noreturn]] void invalid_argument(const std::string& message) {
  fail(400, "InvalidArgumentException", message);
}

// The region of the request's SigV4 credential scope ("Credential=AKID/DATE/REGION/kinesis/..."),
// us-east-1 when there is none.
std::string region_of(const RouteRequest& request) {
  const auto it = request.http.headers.find("Authorization");
  if (it != request.http.headers.end()) {
    const std::string& auth = it->second;
    const auto credential = auth.find("Credential=");
    if (credential != std::string::npos) {
      const auto scope_end = auth.find_first_of(", ", credential);
      const std::string scope = auth.substr(credential + 11, scope_end - credential - 11);
      const auto first = scope.find('/'), second = scope.find('/', first + 1);
      const auto third = second == std::string::npos ? std::string::npos : scope.find('/', second + 1);
      if (third != std::string::npos && third > second + 1 && third - second <= 64) {
        std::string region = scope.substr(second + 1, third - second - 1);
        if (std::all_of(region.begin(), region.end(),
                        [](char c) { return std::isalnum(static_cast<unsigned char>(c)) || c == '-'; }))
          return region;
      }
    }
  }
  return "us-east-1";
}

std::string stream_arn(const RouteRequest& request, const std::string& name) {
  return "arn:aws:kinesis:" + region_of(request) + ":" + std::string(kAccount) + ":stream/" + name;
}

// The stream a request names by StreamName or StreamARN.
std::string stream_name_of(const json& body) {
  return kinesis::checked_stream_name(optional_string(body, "StreamName", 0, SIZE_MAX, kModel),
                                      optional_string(body, "StreamARN", 0, SIZE_MAX, kModel));
}

// Kinesis's StreamDescription shard entry.
json shard_json(const stream::ShardDescription& shard) {
  json range = {{"StartingSequenceNumber", shard.first_sequence_number.value_or("0")}};
  return {{"ShardId", shard.shard_id},
          {"HashKeyRange",
           {{"StartingHashKey", shard.starting_hash_key}, {"EndingHashKey", shard.ending_hash_key}}},
          {"SequenceNumberRange", std::move(range)}};
}

int64_t retention_hours(std::chrono::milliseconds retention) {
  return std::max<int64_t>(1, (retention.count() + kHourMs - 1) / kHourMs);
}

// A timestamp member: epoch seconds (a number, as botocore sends) or ISO 8601 text.
TimePoint timestamp_member(const json& body, std::string_view member) {
  const json& value = body.at(std::string(member));
  if (value.is_number()) {
    const double seconds = value.get<double>();
    if (!std::isfinite(seconds) || std::abs(seconds) > 1e13)
      fail(400, "SerializationException", std::string(member) + " is not a valid timestamp");
    return from_epoch_ms(static_cast<int64_t>(std::floor(seconds * 1000)));
  }
  if (value.is_string()) {
    if (auto t = parse_iso8601_utc(value.get_ref<const std::string&>())) return *t;
  }
  fail(400, "SerializationException", std::string(member) + " must be epoch seconds or an ISO 8601 time");
}

// Kinesis's answer to an operation a stream error stopped.
[[noreturn]] void translate_stream_error(std::string_view name) {
  try {
    throw;
  } catch (const server::HttpError&) {
    throw;
  } catch (const SystemError&) {
    throw;
  } catch (const stream::StreamNotFound&) {
    fail(400, "ResourceNotFoundException",
         "Stream " + std::string(name) + " under account " + std::string(kAccount) + " not found.");
  } catch (const stream::StreamExists&) {
    fail(400, "ResourceInUseException",
         "Stream " + std::string(name) + " under account " + std::string(kAccount) + " already exists.");
  } catch (const stream::Throttled& e) {
    fail(400, "ProvisionedThroughputExceededException",
         std::string("Rate exceeded for stream ") + std::string(name) + " under account " +
             std::string(kAccount) + ": " + e.what());
  } catch (const stream::Trimmed& e) {
    fail(400, "ExpiredIteratorException", e.what());
  } catch (const Error& e) {
    invalid_argument(e.what());
  }
}

class KinesisApi {
 public:
  explicit KinesisApi(KinesisBackend backend)
      : backend_(std::move(backend)), codec_(std::move(backend_.iterator_key)) {}

  HttpResponse create_stream(const RouteRequest& request);
  HttpResponse delete_stream(const RouteRequest& request);
  HttpResponse describe_stream(const RouteRequest& request);
  HttpResponse describe_stream_summary(const RouteRequest& request);
  HttpResponse list_streams(const RouteRequest& request);
  HttpResponse list_shards(const RouteRequest& request);
  HttpResponse put_record(const RouteRequest& request);
  HttpResponse put_records(const RouteRequest& request);
  HttpResponse get_shard_iterator(const RouteRequest& request);
  HttpResponse get_records(const RouteRequest& request);
  HttpResponse change_retention(const RouteRequest& request, bool increase);
  HttpResponse add_tags(const RouteRequest& request);
  HttpResponse list_tags(const RouteRequest& request);
  HttpResponse remove_tags(const RouteRequest& request);

 private:
  TimePoint now() const { return backend_.clock ? backend_.clock() : now_ms(); }
  stream::StreamStore& store() const { return backend_.streams(); }
  std::shared_ptr<stream::Stream> stream_named(const std::string& name) const;
  json summary_of(const RouteRequest& request, const std::string& name) const;
  std::string issue(const std::string& name, stream::Position position) const {
    return codec_.encode({name, std::move(position), now()});
  }
  ShardIterator open_iterator(const std::string& token) const;
  std::vector<stream::ShardDescription> shards_after(const std::string& name,
                                                     const std::optional<std::string>& after) const;

  KinesisBackend backend_;
  ShardIteratorCodec codec_;
};

std::shared_ptr<stream::Stream> KinesisApi::stream_named(const std::string& name) const {
  try {
    return store().share(name);
  } catch (...) {
    translate_stream_error(name);
  }
}

HttpResponse KinesisApi::create_stream(const RouteRequest& request) {
  const json body = parse_body(request);
  stream::StreamConfig config;
  config.name = stream_name_of(body);
  config.shards =
      static_cast<int>(optional_integer(body, "ShardCount", 1, INT32_MAX, kModel).value_or(kDefaultShards));
  if (config.shards > stream::kMaxShards)
    fail(400, "LimitExceededException",
         "This request would exceed the shard limit for the account " + std::string(kAccount) + " in " +
             region_of(request) +
             ". Current shard count for the account: 0. Limit: " + std::to_string(stream::kMaxShards) +
             ". Number of additional shards that would have resulted from "
             "this request: " +
             std::to_string(config.shards) + ".");
  try {
    store().create(config);
  } catch (...) {
    translate_stream_error(config.name);
  }
  return json_reply(json::object());
}

HttpResponse KinesisApi::delete_stream(const RouteRequest& request) {
  const json body = parse_body(request);
  const std::string name = stream_name_of(body);
  (void)optional_boolean(body, "EnforceConsumerDeletion", kModel);
  stream_named(name);  // ResourceNotFoundException first
  if (store().declared(name))
    fail(400, "ResourceInUseException",
         "Stream " + name + " under account " + std::string(kAccount) +
             " is declared in the pipeline file and cannot be deleted through the API; remove it from the "
             "file "
             "instead.");
  try {
    store().remove(name);
  } catch (...) {
    translate_stream_error(name);
  }
  return json_reply(json::object());
}

// Shards of `name` after the shard id `after` (all when nullopt), in order.
std::vector<stream::ShardDescription> KinesisApi::shards_after(
    const std::string& name, const std::optional<std::string>& after) const {
  const auto stream = stream_named(name);
  std::vector<stream::ShardDescription> shards;
  try {
    shards = stream->describe().shards;
  } catch (...) {
    translate_stream_error(name);
  }
  if (after) {
    // Shard ids order as their indexes; an id that names no shard still orders as text, as AWS.
    std::erase_if(shards, [&](const stream::ShardDescription& s) { return s.shard_id <= *after; });
  }
  return shards;
}

HttpResponse KinesisApi::describe_stream(const RouteRequest& request) {
  const json body = parse_body(request);
  const std::string name = stream_name_of(body);
  const auto limit = optional_integer(body, "Limit", 1, 10000, kModel).value_or(100);
  const auto after = optional_string(body, "ExclusiveStartShardId", 1, 128, kModel);
  json description = summary_of(request, name);
  const auto shards = shards_after(name, after);
  json list = json::array();
  for (size_t i = 0; i < shards.size() && i < static_cast<size_t>(limit); ++i)
    list.push_back(shard_json(shards[i]));
  description.erase("OpenShardCount");
  description.erase("ConsumerCount");
  description["Shards"] = std::move(list);
  description["HasMoreShards"] = shards.size() > static_cast<size_t>(limit);
  return json_reply({{"StreamDescription", std::move(description)}});
}

// DescribeStreamSummary's StreamDescriptionSummary (DescribeStream shares its members).
json KinesisApi::summary_of(const RouteRequest& request, const std::string& name) const {
  const auto stream = stream_named(name);
  stream::StreamAttributes attributes;
  try {
    attributes = store().attributes(name);
  } catch (...) {
    translate_stream_error(name);
  }
  return {{"StreamName", name},
          {"StreamARN", stream_arn(request, name)},
          {"StreamStatus", "ACTIVE"},
          {"StreamModeDetails", {{"StreamMode", "PROVISIONED"}}},
          {"RetentionPeriodHours", retention_hours(attributes.retention)},
          {"StreamCreationTimestamp", epoch_seconds(to_epoch_ms(attributes.created))},
          {"EnhancedMonitoring", json::array({{{"ShardLevelMetrics", json::array()}}})},
          {"EncryptionType", "NONE"},
          {"OpenShardCount", stream->config().shards},
          {"ConsumerCount", 0}};
}

HttpResponse KinesisApi::describe_stream_summary(const RouteRequest& request) {
  const json body = parse_body(request);
  return json_reply({{"StreamDescriptionSummary", summary_of(request, stream_name_of(body))}});
}

HttpResponse KinesisApi::list_streams(const RouteRequest& request) {
  const json body = parse_body(request);
  const auto limit = static_cast<size_t>(optional_integer(body, "Limit", 1, 10000, kModel).value_or(100));
  auto after = optional_string(body, "ExclusiveStartStreamName", 1, 128, kModel);
  if (auto token = optional_string(body, "NextToken", 1, 1048576, kModel)) {
    auto decoded = base64_decode(*token);
    if (!decoded || decoded->empty() || decoded->size() > 128) invalid_argument("the NextToken is not valid");
    after = std::move(decoded);
  }
  json names = json::array(), summaries = json::array();
  bool more = false;
  for (const std::string& name : store().names()) {
    if (after && name <= *after) continue;
    if (names.size() == limit) {
      more = true;
      break;
    }
    names.push_back(name);
    stream::StreamAttributes attributes;
    try {
      attributes = store().attributes(name);
    } catch (const stream::StreamNotFound&) {
      continue;  // deleted meanwhile
    }
    summaries.push_back({{"StreamName", name},
                         {"StreamARN", stream_arn(request, name)},
                         {"StreamStatus", "ACTIVE"},
                         {"StreamModeDetails", {{"StreamMode", "PROVISIONED"}}},
                         {"StreamCreationTimestamp", epoch_seconds(to_epoch_ms(attributes.created))}});
  }
  json reply = {{"StreamNames", names}, {"HasMoreStreams", more}, {"StreamSummaries", std::move(summaries)}};
  if (more) reply["NextToken"] = base64_encode(names.back().get<std::string>());
  return json_reply(reply);
}

HttpResponse KinesisApi::list_shards(const RouteRequest& request) {
  const json body = parse_body(request);
  const auto max_results =
      static_cast<size_t>(optional_integer(body, "MaxResults", 1, 10000, kModel).value_or(1000));
  std::optional<std::string> after = optional_string(body, "ExclusiveStartShardId", 1, 128, kModel);
  std::string name;
  if (auto token = optional_string(body, "NextToken", 1, 1048576, kModel)) {
    if (body.contains("StreamName") || body.contains("StreamARN"))
      invalid_argument("NextToken and StreamName cannot be provided together.");
    json state;
    try {
      const auto text = base64_decode(*token);
      state = parse_json_limited(text.value_or(""));
      name = state.at("stream").get<std::string>();
      after = state.at("after").get<std::string>();
      if (now() - from_epoch_ms(state.at("issued").get<int64_t>()) > kNextTokenLifetime)
        fail(400, "ExpiredNextTokenException",
             "The NextToken has expired; call ListShards again without it.");
    } catch (const server::HttpError&) {
      throw;
    } catch (const std::exception&) {
      invalid_argument("the NextToken is not one ListShards returned");
    }
  } else {
    name = stream_name_of(body);
  }
  const auto shards = shards_after(name, after);
  json list = json::array();
  for (size_t i = 0; i < shards.size() && i < max_results; ++i) list.push_back(shard_json(shards[i]));
  json reply = {{"Shards", list}};
  if (shards.size() > max_results) {
    const json state = {
        {"stream", name}, {"after", shards[max_results - 1].shard_id}, {"issued", to_epoch_ms(now())}};
    reply["NextToken"] = base64_encode(state.dump());
  }
  return json_reply(reply);
}

HttpResponse KinesisApi::put_record(const RouteRequest& request) {
  const kinesis::PutRequest put = kinesis::parse_put_request(request.http.body, false);
  const auto stream = stream_named(put.stream);
  try {
    const auto results = stream->put(put.records);
    if (backend_.on_put) backend_.on_put(put.stream, put.records, results);
    return json_reply({{"ShardId", results.at(0).shard_id},
                       {"SequenceNumber", results.at(0).sequence_number},
                       {"EncryptionType", "NONE"}});
  } catch (...) {
    translate_stream_error(put.stream);
  }
}

// PutRecords' answer, written directly: its strings (shard ids, sequence numbers, fixed messages)
// need no escaping, and it is built at the rate records arrive.
std::string put_records_answer(const std::vector<stream::PutResult>& results, size_t failed,
                               std::string_view code, std::string_view message) {
  std::string out = "{\"FailedRecordCount\":" + std::to_string(failed) + ",\"Records\":[";
  out.reserve(out.size() + (results.empty() ? failed : results.size()) * 80 + 32);
  for (size_t i = 0; i < results.size(); ++i) {
    if (i > 0) out += ',';
    out += "{\"SequenceNumber\":\"";
    out += results[i].sequence_number;
    out += "\",\"ShardId\":\"";
    out += results[i].shard_id;
    out += "\"}";
  }
  const std::string failure = json{{"ErrorCode", code}, {"ErrorMessage", message}}.dump();
  for (size_t i = 0; i < failed; ++i) {
    if (i > 0) out += ',';
    out += failure;
  }
  out += "],\"EncryptionType\":\"NONE\"}";
  return out;
}

HttpResponse KinesisApi::put_records(const RouteRequest& request) {
  const kinesis::PutRequest put = kinesis::parse_put_request(request.http.body, true);
  const auto stream = stream_named(put.stream);
  std::string answer;
  try {
    const auto results = stream->put(put.records);
    if (backend_.on_put) backend_.on_put(put.stream, put.records, results);
    answer = put_records_answer(results, 0, "", "");
  } catch (const stream::Throttled&) {
    answer = put_records_answer(
        {}, put.records.size(), "ProvisionedThroughputExceededException",
        "Rate exceeded for stream " + put.stream + " under account " + std::string(kAccount) + ".");
  } catch (const SystemError&) {
    answer = put_records_answer({}, put.records.size(), "InternalFailure", "Internal Service Failure");
  } catch (...) {
    translate_stream_error(put.stream);
  }
  server::HttpResponse response;
  response.status = 200;
  response.headers["Content-Type"] = std::string(kJson11ContentType);
  response.body = std::move(answer);
  return response;
}

stream::StartingPosition starting_position(const json& body) {
  const std::string type = required_string(body, "ShardIteratorType", 1, 64, kModel);
  const auto sequence = optional_string(body, "StartingSequenceNumber", 1, 129, kModel);
  if (sequence && !kinesis::is_sequence_number(*sequence))
    fail(400, "ValidationException",
         "1 validation error detected: Value '" + *sequence +
             "' at 'startingSequenceNumber' failed to satisfy "
             "constraint: Member must satisfy regular expression pattern: 0|([1-9]\\d{0,128})");
  const bool has_timestamp = body.contains("Timestamp") && !body.at("Timestamp").is_null();
  if (type == "TRIM_HORIZON") return stream::StartingPosition::trim_horizon();
  if (type == "LATEST") return stream::StartingPosition::latest();
  if (type == "AT_SEQUENCE_NUMBER" || type == "AFTER_SEQUENCE_NUMBER") {
    if (!sequence)
      invalid_argument("You must specify a starting sequence number if you set ShardIteratorType to " + type +
                       ".");
    // "0" is the StartingSequenceNumber an empty shard reports: its start.
    if (*sequence == "0") return stream::StartingPosition::trim_horizon();
    return type == "AT_SEQUENCE_NUMBER" ? stream::StartingPosition::at_sequence_number(*sequence)
                                        : stream::StartingPosition::after_sequence_number(*sequence);
  }
  if (type == "AT_TIMESTAMP") {
    if (!has_timestamp)
      invalid_argument("You must specify a timestamp if you set ShardIteratorType to AT_TIMESTAMP.");
    return stream::StartingPosition::at_timestamp(timestamp_member(body, "Timestamp"));
  }
  fail(400, "ValidationException",
       "1 validation error detected: Value '" + type.substr(0, 64) +
           "' at 'shardIteratorType' failed to satisfy constraint: Member must satisfy enum value set: "
           "[AT_SEQUENCE_NUMBER, AFTER_SEQUENCE_NUMBER, TRIM_HORIZON, LATEST, AT_TIMESTAMP]");
}

HttpResponse KinesisApi::get_shard_iterator(const RouteRequest& request) {
  const json body = parse_body(request);
  const std::string name = stream_name_of(body);
  const std::string shard = required_string(body, "ShardId", 1, 128, kModel);
  const stream::StartingPosition start = starting_position(body);
  const auto stream = stream_named(name);
  const auto index = stream::shard_index_of(shard);
  if (!index || *index < 0 || *index >= stream->config().shards)
    fail(400, "ResourceNotFoundException",
         "Shard " + shard + " in stream " + name + " under account " + std::string(kAccount) +
             " does not exist");
  try {
    return json_reply({{"ShardIterator", issue(name, stream->position(stream::shard_id(*index), start))}});
  } catch (const stream::Trimmed& e) {
    invalid_argument(e.what());
  } catch (...) {
    translate_stream_error(name);
  }
}

ShardIterator KinesisApi::open_iterator(const std::string& token) const {
  ShardIterator iterator;
  try {
    iterator = codec_.decode(token);
  } catch (const BadIterator& e) {
    invalid_argument(std::string("Invalid ShardIterator: ") + e.what());
  }
  const TimePoint at = now();
  if (at - iterator.issued > ShardIteratorCodec::kLifetime)
    fail(400, "ExpiredIteratorException",
         "Iterator expired. The iterator was created at time " + format_iso8601_utc(iterator.issued) +
             " while right now it is " + format_iso8601_utc(at) +
             " which is further in the future than the tolerated delay of 300000 milliseconds.");
  return iterator;
}

HttpResponse KinesisApi::get_records(const RouteRequest& request) {
  const json body = parse_body(request);
  const std::string token = required_string(body, "ShardIterator", 1, 512, kModel);
  const auto limit = static_cast<size_t>(optional_integer(body, "Limit", 1, 10000, kModel).value_or(10000));
  const ShardIterator iterator = open_iterator(token);
  const auto stream = stream_named(iterator.stream);
  stream::ReadResult read;
  try {
    read = stream->read(iterator.position, limit, stream::Stream::kDefaultReadBytes);
  } catch (...) {
    translate_stream_error(iterator.stream);
  }
  json records = json::array();
  for (const auto& record : read.records) {
    records.push_back({{"SequenceNumber", record.sequence_number},
                       {"ApproximateArrivalTimestamp", epoch_seconds(to_epoch_ms(record.arrival))},
                       {"Data", base64_encode(record.data)},
                       {"PartitionKey", record.partition_key}});
  }
  int64_t behind_ms = 0;
  if (read.behind_latest > 0 && !read.records.empty())
    behind_ms = std::max<int64_t>(0, (now() - read.records.back().arrival).count());
  return json_reply({{"Records", std::move(records)},
                     {"NextShardIterator", issue(iterator.stream, std::move(read.next))},
                     {"MillisBehindLatest", behind_ms}});
}

HttpResponse KinesisApi::change_retention(const RouteRequest& request, bool increase) {
  const json body = parse_body(request);
  const std::string name = stream_name_of(body);
  const int64_t hours = required_integer(body, "RetentionPeriodHours", INT32_MIN, INT32_MAX, kModel);
  stream_named(name);
  if (hours < kMinRetentionHours || hours > kMaxRetentionHours)
    invalid_argument("Minimum allowed retention period is " + std::to_string(kMinRetentionHours) +
                     " hours and maximum is " + std::to_string(kMaxRetentionHours) + " hours. Requested " +
                     std::to_string(hours) + " hours for stream " + name + ".");
  try {
    const int64_t current = retention_hours(store().attributes(name).retention);
    if (increase && hours < current)
      invalid_argument("Requested retention period (" + std::to_string(hours) + " hours) for stream " + name +
                       " can not be shorter than existing retention period (" + std::to_string(current) +
                       " hours). Use DecreaseRetentionPeriod API.");
    if (!increase && hours > current)
      invalid_argument("Requested retention period (" + std::to_string(hours) + " hours) for stream " + name +
                       " can not be longer than existing retention period (" + std::to_string(current) +
                       " hours). Use IncreaseRetentionPeriod API.");
    store().set_retention(name, std::chrono::hours(hours));
  } catch (...) {
    translate_stream_error(name);
  }
  return json_reply(json::object());
}

HttpResponse KinesisApi::add_tags(const RouteRequest& request) {
  const json body = parse_body(request);
  const std::string name = stream_name_of(body);
  const auto tags = body.find("Tags");
  if (tags == body.end() || !tags->is_object() || tags->empty() || tags->size() > 200)
    fail(400, "ValidationException",
         "1 validation error detected: Value at 'tags' failed to satisfy constraint: Member must be a map of "
         "between 1 and 200 entries");
  std::vector<std::pair<std::string, std::string>> change;
  for (const auto& [key, value] : tags->items()) {
    if (key.empty() || key.size() > 128 || !value.is_string() ||
        value.get_ref<const std::string&>().size() > 256)
      fail(400, "ValidationException",
           "1 validation error detected: tag keys must have 1..128 characters and values 0..256 (key '" +
               key.substr(0, 128) + "')");
    change.emplace_back(key, value.get<std::string>());
  }
  stream_named(name);
  try {
    store().update_tags(name, [&](stream::StreamTags& current) {
      for (const auto& [key, value] : change) current[key] = value;
      if (current.size() > kMaxTagsPerStream)
        invalid_argument("Failed to add tags to stream " + name + " under account " + std::string(kAccount) +
                         " because a given stream cannot have more than " +
                         std::to_string(kMaxTagsPerStream) + " tags associated with it.");
    });
  } catch (...) {
    translate_stream_error(name);
  }
  return json_reply(json::object());
}

HttpResponse KinesisApi::list_tags(const RouteRequest& request) {
  const json body = parse_body(request);
  const std::string name = stream_name_of(body);
  const auto after = optional_string(body, "ExclusiveStartTagKey", 1, 128, kModel);
  const auto limit = static_cast<size_t>(optional_integer(body, "Limit", 1, 50, kModel).value_or(50));
  stream_named(name);
  stream::StreamTags tags;
  try {
    tags = store().attributes(name).tags;
  } catch (...) {
    translate_stream_error(name);
  }
  json list = json::array();
  bool more = false;
  for (auto it = after ? tags.upper_bound(*after) : tags.begin(); it != tags.end(); ++it) {
    if (list.size() == limit) {
      more = true;
      break;
    }
    list.push_back({{"Key", it->first}, {"Value", it->second}});
  }
  return json_reply({{"Tags", std::move(list)}, {"HasMoreTags", more}});
}

HttpResponse KinesisApi::remove_tags(const RouteRequest& request) {
  const json body = parse_body(request);
  const std::string name = stream_name_of(body);
  const auto keys = body.find("TagKeys");
  if (keys == body.end() || !keys->is_array() || keys->empty() || keys->size() > 50)
    fail(400, "ValidationException",
         "1 validation error detected: Value at 'tagKeys' failed to satisfy constraint: Member must have "
         "length "
         "between 1 and 50");
  std::vector<std::string> removed;
  for (const auto& key : *keys) {
    if (!key.is_string() || key.get_ref<const std::string&>().empty() ||
        key.get_ref<const std::string&>().size() > 128)
      fail(400, "ValidationException",
           "1 validation error detected: tag keys must be strings of 1..128 characters");
    removed.push_back(key.get<std::string>());
  }
  stream_named(name);
  try {
    store().update_tags(name, [&](stream::StreamTags& current) {
      for (const auto& key : removed) current.erase(key);
    });
  } catch (...) {
    translate_stream_error(name);
  }
  return json_reply(json::object());
}

// Refuses CBOR (see the header) before anything reads the body as JSON.
void require_json(const RouteRequest& request) {
  const auto it = request.http.headers.find("Content-Type");
  if (it != request.http.headers.end() && it->second.find("cbor") != std::string::npos)
    fail(400, "SerializationException",
         "sluice speaks the JSON 1.1 protocol only; make the SDK send JSON (Java SDK: AWS_CBOR_DISABLE=true "
         "or "
         "-Dcom.amazonaws.sdk.disableCbor=true)");
}

}  // namespace

void add_kinesis_routes(server::RouteGroup& group, KinesisBackend backend) {
  if (!backend.streams) throw std::invalid_argument("add_kinesis_routes: the backend has no streams");
  const auto api = std::make_shared<KinesisApi>(std::move(backend));
  using Method = HttpResponse (KinesisApi::*)(const RouteRequest&);
  const auto add = [&](std::string_view operation, Method method, server::RouteOptions options = {}) {
    group.operation(
        kKinesisTargetPrefix, operation,
        [api, method](const RouteRequest& request) {
          require_json(request);
          return ((*api).*method)(request);
        },
        options);
  };
  add("CreateStream", &KinesisApi::create_stream);
  add("DeleteStream", &KinesisApi::delete_stream);
  add("DescribeStream", &KinesisApi::describe_stream);
  add("DescribeStreamSummary", &KinesisApi::describe_stream_summary);
  add("ListStreams", &KinesisApi::list_streams);
  add("ListShards", &KinesisApi::list_shards);
  // Base64 makes 5 MiB of records about 6.7 MiB of JSON, before keys, hash keys and escapes.
  add("PutRecord", &KinesisApi::put_record, {.max_body_bytes = 4u << 20});
  add("PutRecords", &KinesisApi::put_records, {.max_body_bytes = 16u << 20});
  add("GetShardIterator", &KinesisApi::get_shard_iterator);
  add("GetRecords", &KinesisApi::get_records);
  add("AddTagsToStream", &KinesisApi::add_tags);
  add("ListTagsForStream", &KinesisApi::list_tags);
  add("RemoveTagsFromStream", &KinesisApi::remove_tags);
  group.operation(kKinesisTargetPrefix, "IncreaseStreamRetentionPeriod", [api](const RouteRequest& request) {
    require_json(request);
    return api->change_retention(request, true);
  });
  group.operation(kKinesisTargetPrefix, "DecreaseStreamRetentionPeriod", [api](const RouteRequest& request) {
    require_json(request);
    return api->change_retention(request, false);
  });
}

}  // namespace sluice::aws
