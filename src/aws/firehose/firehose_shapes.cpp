#include "aws/firehose/firehose_shapes.h"

#include <algorithm>
#include <array>
#include <map>
#include <optional>

#include "aws/protocol/json_protocol.h"

namespace sluice::aws::firehose {
namespace {

using nlohmann::json;

constexpr std::string_view kInvalid = "InvalidArgumentException";
constexpr std::string_view kNameCharacters =
    "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.-";
constexpr std::string_view kDefaultRole = "arn:aws:iam::000000000000:role/sluice";
constexpr uint64_t kMiB = uint64_t{1} << 20;

[[noreturn]] void invalid(const std::string& message) { fail(400, std::string(kInvalid), message); }

[[noreturn]] void constraint(const std::string& label, const std::string& expected) {
  invalid("1 validation error detected: Value at '" + label + "' failed to satisfy constraint: " + expected);
}

// The member `key` of `object`, nullptr when absent or null.
const json* child(const json& object, std::string_view key) {
  const auto it = object.find(std::string(key));
  return it == object.end() || it->is_null() ? nullptr : &*it;
}

std::string label_of(std::string_view parent, std::string_view key) {
  return parent.empty() ? std::string(key) : std::string(parent) + "." + std::string(key);
}

std::optional<std::string> string_at(const json& object, std::string_view key, std::string_view parent,
                                     size_t min, size_t max) {
  const json* value = child(object, key);
  if (!value) return std::nullopt;
  if (!value->is_string()) constraint(label_of(parent, key), "Member must be a string");
  const auto& text = value->get_ref<const std::string&>();
  if (text.size() < min || text.size() > max)
    constraint(label_of(parent, key),
               "Member must have length between " + std::to_string(min) + " and " + std::to_string(max));
  return text;
}

std::string required_string_at(const json& object, std::string_view key, std::string_view parent, size_t min,
                               size_t max) {
  auto value = string_at(object, key, parent, min, max);
  if (!value) constraint(label_of(parent, key), "Member must not be null");
  return *value;
}

std::optional<int64_t> integer_at(const json& object, std::string_view key, std::string_view parent,
                                  int64_t min, int64_t max) {
  const json* value = child(object, key);
  if (!value) return std::nullopt;
  if (!value->is_number_integer()) constraint(label_of(parent, key), "Member must be an integer");
  const int64_t number = value->is_number_unsigned() && value->get<uint64_t>() > uint64_t(INT64_MAX)
                             ? INT64_MAX
                             : value->get<int64_t>();
  if (number < min || number > max)
    constraint(label_of(parent, key),
               "Member must have value between " + std::to_string(min) + " and " + std::to_string(max));
  return number;
}

std::optional<bool> bool_at(const json& object, std::string_view key, std::string_view parent) {
  const json* value = child(object, key);
  if (!value) return std::nullopt;
  if (!value->is_boolean()) constraint(label_of(parent, key), "Member must be a boolean");
  return value->get<bool>();
}

const json* object_at(const json& object, std::string_view key, std::string_view parent) {
  const json* value = child(object, key);
  if (value && !value->is_object()) constraint(label_of(parent, key), "Member must be a structure");
  return value;
}

const json* array_at(const json& object, std::string_view key, std::string_view parent) {
  const json* value = child(object, key);
  if (value && !value->is_array()) constraint(label_of(parent, key), "Member must be a list");
  return value;
}

// The name after "stream/" of arn:aws:kinesis:REGION:ACCOUNT:stream/NAME.
std::string stream_of_arn(const std::string& arn) {
  const auto slash = arn.find(":stream/");
  const std::string name = slash == std::string::npos ? "" : arn.substr(slash + 8);
  if (!arn.starts_with("arn:") || arn.find(":kinesis:") == std::string::npos || name.empty() ||
      name.find_first_not_of(kNameCharacters) != std::string::npos)
    invalid("KinesisStreamARN " + arn +
            " is not a Kinesis stream ARN (arn:aws:kinesis:REGION:ACCOUNT:stream/NAME)");
  return name;
}

// The bucket of arn:aws:s3:::BUCKET.
std::string bucket_of_arn(const std::string& arn, const std::string& label) {
  const auto marker = arn.find(":s3:::");
  const std::string bucket = marker == std::string::npos ? "" : arn.substr(marker + 6);
  if (!arn.starts_with("arn:") || bucket.empty() || bucket.find('/') != std::string::npos)
    invalid(label + " " + arn + " is not an S3 bucket ARN (arn:aws:s3:::BUCKET)");
  return bucket;
}

// MetadataExtractionQuery as JQ writes the simple case: {key: .field, key2: .a.b} -> key -> "a.b".
std::map<std::string, std::string> parse_extraction_query(const std::string& query) {
  std::string text = query;
  std::erase_if(text, [](char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; });
  if (text.size() < 2 || text.front() != '{' || text.back() != '}')
    invalid("MetadataExtractionQuery " + query + " is not supported: sluice reads {key: .field, ...}");
  std::map<std::string, std::string> keys;
  std::string_view rest = std::string_view(text).substr(1, text.size() - 2);
  while (!rest.empty()) {
    const auto comma = rest.find(',');
    const std::string_view item = rest.substr(0, comma);
    rest = comma == std::string_view::npos ? std::string_view() : rest.substr(comma + 1);
    const auto colon = item.find(':');
    const std::string key(item.substr(0, colon));
    const std::string path(colon == std::string_view::npos ? "" : item.substr(colon + 1));
    if (key.empty() || path.size() < 2 || path.front() != '.' ||
        path.find_first_of("[]|()\"") != std::string::npos)
      invalid("MetadataExtractionQuery " + query + " is not supported: sluice reads {key: .field, ...}");
    keys[key] = path.substr(1);
  }
  return keys;
}

// What ProcessingConfiguration asks of the delivery: partition keys and a delimiter.
struct Processing {
  std::optional<std::map<std::string, std::string>> partition_keys;
  std::string delimiter;  // Firehose concatenates records unless AppendDelimiterToRecord
};

std::string unescape(const std::string& text) {
  std::string out;
  for (size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '\\' && i + 1 < text.size()) {
      const char c = text[++i];
      out += c == 'n' ? '\n' : c == 't' ? '\t' : c == 'r' ? '\r' : c;
    } else {
      out += text[i];
    }
  }
  return out;
}

Processing parse_processing(const json* config, const std::string& parent) {
  Processing out;
  if (!config) return out;
  const std::string label = parent + ".ProcessingConfiguration";
  const json* processors = array_at(*config, "Processors", label);
  if (!bool_at(*config, "Enabled", label).value_or(processors != nullptr) || !processors) return out;
  for (const auto& processor : *processors) {
    if (!processor.is_object()) constraint(label + ".Processors", "Member must be a list of structures");
    const std::string type = required_string_at(processor, "Type", label + ".Processors", 1, 64);
    std::map<std::string, std::string> parameters;
    if (const json* list = array_at(processor, "Parameters", label + ".Processors")) {
      for (const auto& p : *list) {
        if (!p.is_object())
          constraint(label + ".Processors.Parameters", "Member must be a list of structures");
        parameters[required_string_at(p, "ParameterName", "Parameters", 1, 64)] =
            required_string_at(p, "ParameterValue", "Parameters", 1, 5120);
      }
    }
    if (type == "MetadataExtraction") {
      if (!parameters.count("MetadataExtractionQuery"))
        invalid("the MetadataExtraction processor needs the parameter MetadataExtractionQuery");
      out.partition_keys = parse_extraction_query(parameters["MetadataExtractionQuery"]);
    } else if (type == "AppendDelimiterToRecord") {
      out.delimiter = parameters.count("Delimiter") ? unescape(parameters["Delimiter"]) : "\n";
    } else {
      invalid("processor type " + type +
              " is not supported by sluice (MetadataExtraction and AppendDelimiterToRecord are)");
    }
  }
  return out;
}

// Rewrites !{partitionKeyFromQuery:KEY} to the field the extraction query gives KEY.
std::string resolve_partition_keys(const std::string& prefix, const Processing& processing, bool dynamic) {
  if (prefix.find("!{partitionKeyFromLambda:") != std::string::npos)
    invalid("Prefix " + prefix +
            ": partitionKeyFromLambda is not supported by sluice (no Lambda processors)");
  constexpr std::string_view kOpen = "!{partitionKeyFromQuery:";
  std::string out;
  size_t at = 0;
  bool any = false;
  for (auto open = prefix.find(kOpen); open != std::string::npos; open = prefix.find(kOpen, at)) {
    const auto close = prefix.find('}', open);
    if (close == std::string::npos) break;  // validate_prefix says what is wrong
    const std::string key = prefix.substr(open + kOpen.size(), close - open - kOpen.size());
    std::string field = key;
    if (processing.partition_keys) {
      const auto it = processing.partition_keys->find(key);
      if (it == processing.partition_keys->end())
        invalid("Prefix uses partitionKeyFromQuery:" + key +
                ", which the MetadataExtractionQuery does not define");
      field = it->second;
    }
    out += prefix.substr(at, open - at) + std::string(kOpen) + field + "}";
    at = close + 1;
    any = true;
  }
  out += prefix.substr(std::min(at, prefix.size()));
  if (any && !dynamic)
    invalid("Prefix " + prefix +
            " uses partitionKeyFromQuery, which needs DynamicPartitioningConfiguration.Enabled true");
  if (dynamic && !any)
    invalid("dynamic partitioning is enabled, but Prefix has no !{partitionKeyFromQuery:...} expression");
  return out;
}

delivery::Compression parse_compression(const std::string& format) {
  if (format == "UNCOMPRESSED") return delivery::Compression::kNone;
  if (format == "GZIP") return delivery::Compression::kGzip;
  if (format == "ZSTD") return delivery::Compression::kZstd;
  invalid("CompressionFormat " + format + " is not supported by sluice (UNCOMPRESSED, GZIP or ZSTD)");
}

void refuse_enabled(const json& destination, std::string_view key, const std::string& parent) {
  const json* value = object_at(destination, key, parent);
  if (value && bool_at(*value, "Enabled", label_of(parent, key)).value_or(true))
    invalid(label_of(parent, key) + " is not supported by sluice");
}

void parse_destination(const json& d, const std::string& label, bool extended, CreateRequest& out) {
  delivery::DeliveryConfig& config = out.config;
  json& m = out.metadata;
  m["RoleARN"] = required_string_at(d, "RoleARN", label, 1, 512);
  m["BucketARN"] = required_string_at(d, "BucketARN", label, 1, 2048);
  config.bucket = bucket_of_arn(m["BucketARN"], label + ".BucketARN");
  const std::string prefix = string_at(d, "Prefix", label, 0, 1024).value_or("");
  m["Prefix"] = prefix;
  if (auto error_prefix = string_at(d, "ErrorOutputPrefix", label, 0, 1024)) {
    m["ErrorOutputPrefix"] = *error_prefix;
    std::string rendered = *error_prefix;
    constexpr std::string_view kOutputType = "!{firehose:error-output-type}";
    // The one kind of failed record sluice writes there.
    for (auto at = rendered.find(kOutputType); at != std::string::npos; at = rendered.find(kOutputType))
      rendered.replace(at, kOutputType.size(), "partitioning-failed");
    if (!rendered.empty()) config.error_prefix = rendered;
  }
  int64_t size_mb = 5, interval_s = 300;
  if (const json* hints = object_at(d, "BufferingHints", label)) {
    size_mb = integer_at(*hints, "SizeInMBs", label + ".BufferingHints", 1, 128).value_or(size_mb);
    interval_s =
        integer_at(*hints, "IntervalInSeconds", label + ".BufferingHints", 0, 900).value_or(interval_s);
  }
  config.buffer_bytes = uint64_t(size_mb) * kMiB;
  config.buffer_interval = std::chrono::seconds(interval_s);
  m["CompressionFormat"] = string_at(d, "CompressionFormat", label, 1, 32).value_or("UNCOMPRESSED");
  config.compression = parse_compression(m["CompressionFormat"]);
  bool dynamic = false;
  Processing processing;
  if (extended) {
    refuse_enabled(d, "DataFormatConversionConfiguration", label);
    if (string_at(d, "S3BackupMode", label, 1, 32).value_or("Disabled") != "Disabled")
      invalid(label + ".S3BackupMode Enabled is not supported by sluice");
    if (const json* partitioning = object_at(d, "DynamicPartitioningConfiguration", label)) {
      dynamic =
          bool_at(*partitioning, "Enabled", label + ".DynamicPartitioningConfiguration").value_or(false);
      m["DynamicPartitioningConfiguration"] = *partitioning;
    }
    const json* processing_config = object_at(d, "ProcessingConfiguration", label);
    processing = parse_processing(processing_config, label);
    if (processing_config) m["ProcessingConfiguration"] = *processing_config;
  }
  config.delimiter = processing.delimiter;
  config.prefix = resolve_partition_keys(prefix, processing, dynamic);
  if (auto why = delivery::validate_prefix(config.prefix); !why.empty()) invalid(label + ".Prefix: " + why);
  if (auto why = delivery::validate_prefix(config.error_prefix); !why.empty())
    invalid(label + ".ErrorOutputPrefix: " + why);
}

void parse_source(const json& body, const std::string& type, CreateRequest& out) {
  const json* source = object_at(body, "KinesisStreamSourceConfiguration", "");
  if (type == "DirectPut") {
    if (source)
      invalid("KinesisStreamSourceConfiguration is only for DeliveryStreamType KinesisStreamAsSource");
    out.config.direct_put = true;
    return;
  }
  if (!source)
    invalid(
        "DeliveryStreamType KinesisStreamAsSource needs KinesisStreamSourceConfiguration.KinesisStreamARN");
  const std::string arn =
      required_string_at(*source, "KinesisStreamARN", "KinesisStreamSourceConfiguration", 1, 512);
  out.config.stream = stream_of_arn(arn);
  out.metadata["KinesisStreamARN"] = arn;
  out.metadata["SourceRoleARN"] =
      required_string_at(*source, "RoleARN", "KinesisStreamSourceConfiguration", 1, 512);
}

std::string compression_label(delivery::Compression c) {
  switch (c) {
    case delivery::Compression::kGzip:
      return "GZIP";
    case delivery::Compression::kZstd:
      return "ZSTD";
    case delivery::Compression::kNone:
      break;
  }
  return "UNCOMPRESSED";
}

}  // namespace

std::string region_of(const server::HttpRequest& request) {
  const auto it = request.headers.find("Authorization");
  if (it == request.headers.end()) return std::string(kDefaultRegion);
  const std::string& header = it->second;
  const auto credential = header.find("Credential=");
  if (credential == std::string::npos) return std::string(kDefaultRegion);
  // Credential=AKID/DATE/REGION/SERVICE/aws4_request
  size_t at = credential + 11;
  for (int slash = 0; slash < 2 && at != std::string::npos; ++slash) {
    at = header.find('/', at);
    if (at != std::string::npos) ++at;
  }
  if (at == std::string::npos) return std::string(kDefaultRegion);
  const std::string region = header.substr(at, header.find('/', at) - at);
  if (region.empty() || region.size() > 32 ||
      region.find_first_not_of("abcdefghijklmnopqrstuvwxyz0123456789-") != std::string::npos)
    return std::string(kDefaultRegion);
  return region;
}

std::string delivery_stream_arn(std::string_view region, std::string_view name) {
  return "arn:aws:firehose:" + std::string(region) + ":" + std::string(kAccount) + ":deliverystream/" +
         std::string(name);
}

std::string_view stream_type(const delivery::DeliveryConfig& config) {
  return config.direct_put ? "DirectPut" : "KinesisStreamAsSource";
}

CreateRequest parse_create_request(const json& body) {
  CreateRequest out;
  out.metadata = json::object();
  out.config.name = required_string_at(body, "DeliveryStreamName", "", 1, 64);
  if (out.config.name.find_first_not_of(kNameCharacters) != std::string::npos)
    constraint("DeliveryStreamName", "Member must satisfy regular expression pattern: [a-zA-Z0-9_.-]+");
  const std::string type = string_at(body, "DeliveryStreamType", "", 1, 64).value_or("DirectPut");
  if (type != "DirectPut" && type != "KinesisStreamAsSource")
    invalid("DeliveryStreamType " + type +
            " is not supported by sluice (DirectPut or KinesisStreamAsSource)");
  static constexpr std::array kOtherDestinations = {"RedshiftDestinationConfiguration",
                                                    "ElasticsearchDestinationConfiguration",
                                                    "AmazonopensearchserviceDestinationConfiguration",
                                                    "SplunkDestinationConfiguration",
                                                    "HttpEndpointDestinationConfiguration",
                                                    "AmazonOpenSearchServerlessDestinationConfiguration",
                                                    "SnowflakeDestinationConfiguration",
                                                    "IcebergDestinationConfiguration",
                                                    "MSKSourceConfiguration"};
  for (const char* other : kOtherDestinations) {
    if (child(body, other))
      invalid(std::string(other) + " is not supported by sluice: it delivers to S3 only");
  }
  const json* extended = object_at(body, "ExtendedS3DestinationConfiguration", "");
  const json* plain = object_at(body, "S3DestinationConfiguration", "");
  if (extended && plain)
    invalid("give one destination: ExtendedS3DestinationConfiguration or S3DestinationConfiguration");
  if (!extended && !plain)
    invalid("a destination is required: ExtendedS3DestinationConfiguration or S3DestinationConfiguration");
  out.metadata["Destination"] = extended ? "ExtendedS3" : "S3";
  parse_destination(extended ? *extended : *plain,
                    extended ? "ExtendedS3DestinationConfiguration" : "S3DestinationConfiguration",
                    extended != nullptr, out);
  parse_source(body, type, out);
  return out;
}

json describe(const delivery::DeliveryStreamInfo& info, std::string_view region) {
  const delivery::DeliveryConfig& c = info.config;
  json m = json::parse(info.metadata, nullptr, false);
  if (!m.is_object()) m = json::object();
  const double created = epoch_seconds(info.created.time_since_epoch().count());
  const uint64_t size_mb = std::max<uint64_t>(1, (c.buffer_bytes + kMiB - 1) / kMiB);
  json s3 = {
      {"RoleARN", m.value("RoleARN", std::string(kDefaultRole))},
      {"BucketARN", m.value("BucketARN", "arn:aws:s3:::" + c.bucket)},
      {"Prefix", m.value("Prefix", c.prefix)},
      {"ErrorOutputPrefix", m.value("ErrorOutputPrefix", c.error_prefix)},
      {"BufferingHints",
       {{"SizeInMBs", size_mb},
        {"IntervalInSeconds", std::chrono::duration_cast<std::chrono::seconds>(c.buffer_interval).count()}}},
      {"CompressionFormat", m.value("CompressionFormat", compression_label(c.compression))},
      {"EncryptionConfiguration", {{"NoEncryptionConfig", "NoEncryption"}}},
      {"CloudWatchLoggingOptions", {{"Enabled", false}}},
  };
  json extended = s3;
  extended["S3BackupMode"] = "Disabled";
  const bool dynamic = c.prefix.find("!{partitionKeyFromQuery:") != std::string::npos;
  extended["DynamicPartitioningConfiguration"] =
      m.value("DynamicPartitioningConfiguration", json{{"Enabled", dynamic}});
  extended["ProcessingConfiguration"] =
      m.value("ProcessingConfiguration", json{{"Enabled", false}, {"Processors", json::array()}});
  json description = {
      {"DeliveryStreamName", c.name},
      {"DeliveryStreamARN", delivery_stream_arn(region, c.name)},
      {"DeliveryStreamStatus", "ACTIVE"},
      {"DeliveryStreamType", stream_type(c)},
      {"DeliveryStreamEncryptionConfiguration", {{"Status", "DISABLED"}}},
      {"VersionId", "1"},
      {"CreateTimestamp", created},
      {"LastUpdateTimestamp", created},
      {"Destinations", json::array({{{"DestinationId", "destinationId-000000000001"},
                                     {"S3DestinationDescription", s3},
                                     {"ExtendedS3DestinationDescription", extended}}})},
      {"HasMoreDestinations", false},
  };
  if (!c.direct_put) {
    description["Source"] = {
        {"KinesisStreamSourceDescription",
         {{"KinesisStreamARN",
           m.value("KinesisStreamARN", "arn:aws:kinesis:" + std::string(region) + ":" +
                                           std::string(kAccount) + ":stream/" + c.stream)},
          {"RoleARN", m.value("SourceRoleARN", std::string(kDefaultRole))},
          {"DeliveryStartTimestamp", created}}}};
  }
  if (!info.problem.empty())
    description["FailureDescription"] = {{"Type", "UNKNOWN_ERROR"}, {"Details", info.problem}};
  return description;
}

}  // namespace sluice::aws::firehose
