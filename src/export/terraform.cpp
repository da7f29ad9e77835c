#include "export/terraform.h"

#include <algorithm>
#include <map>
#include <set>

#include "common/error.h"
#include "common/fs.h"
#include "export/iam.h"
#include "export/labels.h"

namespace sluice::terraform {
namespace {

using nlohmann::json;

constexpr const char* kRuntime = "provided.al2023";
constexpr const char* kHandler = "sluice";
constexpr size_t kMaxFunctionName = 64;  // Lambda, EventBridge rules, Scheduler, Firehose
constexpr size_t kMaxEventRuleTargets = 5;

std::string ref(const std::string& type, const std::string& label, const std::string& attribute) {
  return "${" + type + "." + label + "." + attribute + "}";
}

bool is_utc(const std::string& zone) { return zone == "UTC" || zone == "Etc/UTC"; }

// The part of a key template or Firehose prefix before its first expression ({date}, !{...}): what
// every key it makes starts with.
std::string static_prefix(const std::string& templ) {
  size_t cut = templ.size();
  for (const char* mark : {"{", "!{"}) cut = std::min(cut, templ.find(mark));
  return templ.substr(0, cut);
}

// An object ARN pattern for keys made from `templ`: exact when it has no expression.
std::string objects_arn(const std::string& bucket, const std::string& templ) {
  const std::string fixed = static_prefix(templ);
  return object_arn(bucket, fixed == templ ? fixed : fixed + "*");
}

class Builder {
 public:
  explicit Builder(const config::Pipeline& pipeline) : p_(pipeline) {}

  Export build() {
    header();
    buckets();
    streams();
    sources();
    processors();
    schedules();
    deliveries();
    crawlers();
    query();
    not_exported();
    return Export{std::move(doc_), std::move(warnings_)};
  }

 private:
  json& resource(const std::string& type, const std::string& label) { return doc_["resource"][type][label]; }
  void warn(const std::string& path, const std::string& why) { warnings_.push_back(path + ": " + why); }

  // An AWS name made of the entry's name; Error when AWS would refuse it or two entries share it.
  std::string aws_name(const std::string& path, const std::string& name, size_t max) {
    std::string out = name;
    for (char& c : out)
      if (c == '.') c = '-';
    if (out.size() > max)
      throw Error(path + ": the AWS name \"" + out + "\" is over " + std::to_string(max) +
                  " characters (AWS's limit); use a shorter name");
    if (auto [it, fresh] = aws_names_.emplace(out, path); !fresh)
      throw Error(path + ": the AWS name \"" + out + "\" is also that of " + it->second +
                  "; rename one of them");
    return out;
  }

  void header() {
    doc_["terraform"]["required_providers"]["aws"] = {{"source", "hashicorp/aws"}, {"version", "~> 5.0"}};
    doc_["variable"]["lambda_package"] = {
        {"type", "string"},
        {"default", kDefaultLambdaPackage},
        {"description",
         "The Lambda package: the sluice binary as bootstrap, its shared libraries and the pipeline file"}};
    doc_["variable"]["lambda_timeout"] = {
        {"type", "number"}, {"default", 300}, {"description", "Seconds each sluice function may run"}};
    doc_["variable"]["lambda_memory_size"] = {
        {"type", "number"}, {"default", 1024}, {"description", "MiB of memory of each sluice function"}};
  }

  void buckets() {
    for (const auto& bucket : p_.buckets)
      resource("aws_s3_bucket", labels_.get("bucket", bucket)) = {{"bucket", bucket}};
  }

  void streams() {
    for (const auto& s : p_.streams) {
      const std::string path = "streams." + s.name;
      json& stream = resource("aws_kinesis_stream", labels_.get("stream", s.name));
      stream["name"] = aws_name(path, s.name, 128);
      stream["shard_count"] = s.shards;  // required by the provider in provisioned mode
      if (p_.written(path + ".retention")) stream["retention_period"] = retention_hours(path, s.retention);
      for (const char* key :
           {"fsync", "fsync_interval", "segment_bytes", "max_pending_bytes", "min_free_disk"})
        if (p_.written(path + "." + key))
          warn(path + "." + key, "no Kinesis equivalent (Kinesis manages its own storage); not exported");
    }
  }

  // Kinesis keeps records 24..8760 whole hours.
  int64_t retention_hours(const std::string& path, std::chrono::milliseconds retention) {
    const auto ms = retention.count();
    int64_t hours = (ms + 3'599'999) / 3'600'000;
    const int64_t kept = std::clamp<int64_t>(hours, 24, 8760);
    if (kept * 3'600'000 != ms)
      warn(path + ".retention",
           "Kinesis keeps records 24 to 8760 whole hours; exported as " + std::to_string(kept) + " hours");
    return kept;
  }

  // The function, its role and the role's policy, for the pipeline entry `entry` ("sources.users").
  void function(const std::string& label, const std::string& entry, const std::string& name,
                PolicyDocument policy) {
    const std::string function_name = aws_name(entry, name, kMaxFunctionName);
    policy.allow({"logs:CreateLogGroup", "logs:CreateLogStream", "logs:PutLogEvents"},
                 {"arn:aws:logs:*:*:log-group:/aws/lambda/" + function_name + ":*"});
    role(label, "lambda.amazonaws.com", std::move(policy));
    resource("aws_lambda_function", label) = {
        {"function_name", function_name},
        {"role", ref("aws_iam_role", label, "arn")},
        {"runtime", kRuntime},
        {"handler", kHandler},
        {"filename", "${var.lambda_package}"},
        {"timeout", "${var.lambda_timeout}"},
        {"memory_size", "${var.lambda_memory_size}"},
        {"environment", {{"variables", {{kEntryVariable, entry}}}}},
    };
  }

  void role(const std::string& label, const std::string& service, PolicyDocument policy) {
    resource("aws_iam_role", label) = {{"assume_role_policy", assume_role_policy(service)}};
    resource("aws_iam_role_policy", label) = {{"role", ref("aws_iam_role", label, "id")},
                                              {"policy", policy.render()}};
  }

  void sources() {
    for (const auto& s : p_.sources) {
      const std::string path = "sources." + s.name;
      PolicyDocument policy;
      if (s.destination) {
        if (const auto* to = config::s3_location(*s.destination))
          policy.allow({"s3:PutObject"}, {objects_arn(to->bucket, to->key)});
        else if (const auto* stream = config::stream_name(*s.destination))
          policy.allow({"kinesis:PutRecord", "kinesis:PutRecords"},
                       {ref("aws_kinesis_stream", labels_.get("stream", stream->name), "arn")});
      }
      function(labels_.get("source", s.name), path, "sluice-source-" + s.name, std::move(policy));
      if (p_.written(path + ".retry"))
        warn(path + ".retry", "no AWS equivalent for retries inside one run; not exported");
      source_secrets(path, s.auth);
    }
  }

  // Secrets come from environment variables that the exported functions do not have.
  void source_secrets(const std::string& path, const extract::AuthConfig& auth) {
    std::vector<std::string> names;
    for (const std::string* env : {&auth.token_env, &auth.value_env, &auth.username_env, &auth.password_env})
      if (!env->empty()) names.push_back(*env);
    if (auth.kind == extract::AuthConfig::Kind::kNone || names.empty()) return;
    std::string list;
    for (const auto& n : names) list += (list.empty() ? "" : ", ") + n;
    warn(path + ".auth", "the function needs the environment variable(s) " + list +
                             ", which are secrets and not exported (set them from Secrets Manager or SSM)");
  }

  void processors() {
    std::map<std::string, json> notifications;  // bucket -> its lambda_function entries, in file order
    std::map<std::string, json> waits;          // bucket -> permissions the notification depends on
    for (const auto& proc : p_.processors) {
      const std::string path = "processors." + proc.name;
      const std::string label = labels_.get("processor", proc.name);
      const std::string out_bucket = proc.output_bucket.empty() ? proc.bucket : proc.output_bucket;
      PolicyDocument policy;
      policy.allow({"s3:GetObject"}, {object_arn(proc.bucket, proc.prefix + "*" + proc.suffix)});
      policy.allow({"s3:PutObject"}, {objects_arn(out_bucket, proc.output_key),
                                      object_arn(out_bucket, proc.error_prefix + "*")});
      function(label, path, "sluice-processor-" + proc.name, std::move(policy));
      const std::string permission = labels_.get("s3_permission", proc.name, label + "_s3");
      resource("aws_lambda_permission", permission) = {
          {"statement_id", "sluice-s3-invoke"},
          {"action", "lambda:InvokeFunction"},
          {"function_name", ref("aws_lambda_function", label, "function_name")},
          {"principal", "s3.amazonaws.com"},
          {"source_arn", ref("aws_s3_bucket", labels_.get("bucket", proc.bucket), "arn")}};
      json entry = {{"lambda_function_arn", ref("aws_lambda_function", label, "arn")},
                    {"events", {"s3:ObjectCreated:*"}}};
      if (!proc.prefix.empty()) entry["filter_prefix"] = proc.prefix;
      if (!proc.suffix.empty()) entry["filter_suffix"] = proc.suffix;
      notifications[proc.bucket].push_back(std::move(entry));
      waits[proc.bucket].push_back("aws_lambda_permission." + permission);
    }
    overlapping_notifications();
    for (auto& [bucket, entries] : notifications) {
      const std::string label = labels_.get("bucket", bucket);
      resource("aws_s3_bucket_notification", label) = {{"bucket", ref("aws_s3_bucket", label, "id")},
                                                       {"lambda_function", std::move(entries)},
                                                       {"depends_on", std::move(waits[bucket])}};
    }
  }

  // S3 refuses a bucket's notification configuration where two filters for the same event overlap
  // (one prefix starts the other and one suffix ends the other): say so before terraform apply does.
  void overlapping_notifications() {
    const auto& procs = p_.processors;
    for (size_t i = 0; i < procs.size(); ++i)
      for (size_t j = i + 1; j < procs.size(); ++j) {
        const auto& a = procs[i];
        const auto& b = procs[j];
        const bool prefixes = a.prefix.starts_with(b.prefix) || b.prefix.starts_with(a.prefix);
        const bool suffixes = a.suffix.ends_with(b.suffix) || b.suffix.ends_with(a.suffix);
        if (a.bucket == b.bucket && prefixes && suffixes)
          warn("processors." + b.name,
               "its S3 notification filter overlaps that of processors." + a.name + " on bucket " + a.bucket +
                   ", which S3 refuses; terraform apply will fail until one is narrowed");
      }
  }

  void schedules() {
    for (const auto& sched : p_.schedules) {
      const std::string path = "schedules." + sched.name;
      std::vector<std::string> sources;
      for (const auto& target : sched.targets) {
        if (p_.find_source(target))
          sources.push_back(target);
        else if (p_.find_crawler(target))
          crawler_schedule(path, sched, target);
      }
      if (p_.written(path + ".timezone") && !is_utc(sched.timezone))
        scheduler(path, sched, sources);
      else
        event_rules(path, sched, sources);
      if (p_.written(path + ".catch_up"))
        warn(path + ".catch_up", "EventBridge does not replay missed runs; not exported");
    }
  }

  // EventBridge rules in UTC, at most five targets each (a schedule with more gets more rules).
  void event_rules(const std::string& path, const config::ScheduleConfig& sched,
                   const std::vector<std::string>& sources) {
    for (size_t first = 0, part = 0; first < sources.size(); first += kMaxEventRuleTargets, ++part) {
      const std::string suffix = part == 0 ? "" : "-" + std::to_string(part + 1);
      const std::string label = labels_.get("rule", sched.name + suffix);
      resource("aws_cloudwatch_event_rule", label) = {
          {"name", aws_name(path, "sluice-" + sched.name + suffix, kMaxFunctionName)},
          {"schedule_expression", sched.expression}};
      const size_t end = std::min(sources.size(), first + kMaxEventRuleTargets);
      for (size_t i = first; i < end; ++i) {
        const std::string fn = labels_.get("source", sources[i]);
        const std::string target = labels_.get("rule_target", label + "/" + sources[i], label + "_" + fn);
        resource("aws_cloudwatch_event_target", target) = {
            {"rule", ref("aws_cloudwatch_event_rule", label, "name")},
            {"target_id", "sluice-source-" + sources[i]},
            {"arn", ref("aws_lambda_function", fn, "arn")}};
        resource("aws_lambda_permission", target) = {
            {"statement_id", "sluice-schedule-" + sched.name + suffix},
            {"action", "lambda:InvokeFunction"},
            {"function_name", ref("aws_lambda_function", fn, "function_name")},
            {"principal", "events.amazonaws.com"},
            {"source_arn", ref("aws_cloudwatch_event_rule", label, "arn")}};
      }
    }
  }

  // EventBridge Scheduler, which evaluates the expression in a time zone: one schedule per target
  // function, and a role that may invoke only those functions.
  void scheduler(const std::string& path, const config::ScheduleConfig& sched,
                 const std::vector<std::string>& sources) {
    const std::string role_label = labels_.get("schedule_role", sched.name);
    std::vector<std::string> arns;
    for (const auto& source : sources) {
      const std::string fn = labels_.get("source", source);
      arns.push_back(ref("aws_lambda_function", fn, "arn"));
      const std::string label = labels_.get("scheduler", sched.name + "/" + source, sched.name + "_" + fn);
      resource("aws_scheduler_schedule", label) = {
          {"name", aws_name(path, "sluice-" + sched.name + "-" + source, kMaxFunctionName)},
          {"schedule_expression", sched.expression},
          {"schedule_expression_timezone", sched.timezone},
          {"flexible_time_window", {{"mode", "OFF"}}},
          {"target", {{"arn", arns.back()}, {"role_arn", ref("aws_iam_role", role_label, "arn")}}}};
    }
    if (arns.empty()) return;
    PolicyDocument policy;
    policy.allow({"lambda:InvokeFunction"}, arns);
    role(role_label, "scheduler.amazonaws.com", std::move(policy));
  }

  // Glue runs a crawler on its own schedule: a cron expression, in UTC, one per crawler.
  void crawler_schedule(const std::string& path, const config::ScheduleConfig& sched,
                        const std::string& crawler) {
    const std::string where = path + ".targets (" + crawler + ")";
    if (sched.expression.rfind("cron(", 0) != 0)
      return warn(where,
                  "a Glue crawler's schedule is a cron expression; " + sched.expression + " is not exported");
    if (!is_utc(sched.timezone))
      return warn(where,
                  "a Glue crawler's schedule is in UTC; the " + sched.timezone + " schedule is not exported");
    if (!crawler_schedules_.emplace(crawler, sched.expression).second)
      warn(where, "a Glue crawler has one schedule; this second one is not exported");
  }

  void deliveries();
  void crawlers();
  void query();
  void not_exported();

  const config::Pipeline& p_;
  json doc_ = json::object();
  std::vector<std::string> warnings_;
  Labels labels_;
  std::map<std::string, std::string> aws_names_;          // AWS name -> the entry that took it
  std::map<std::string, std::string> crawler_schedules_;  // crawler -> its cron expression
};

// ---- Firehose ---------------------------------------------------------------------------------

// Dynamic partitioning: each !{partitionKeyFromQuery:a.b} becomes a key named a_b, extracted with jq.
struct Partitioning {
  std::string prefix;  // with the keys renamed
  std::string query;   // "{a_b: .a.b}"; empty without dynamic partitioning
};

Partitioning partitioning(const std::string& prefix) {
  static const std::string kMark = "!{partitionKeyFromQuery:";
  Partitioning out;
  std::string fields;
  size_t at = 0;
  for (size_t found; (found = prefix.find(kMark, at)) != std::string::npos;) {
    const size_t close = prefix.find('}', found);
    if (close == std::string::npos) break;  // validate_prefix refused it at load time
    const std::string field = prefix.substr(found + kMark.size(), close - found - kMark.size());
    std::string key = field;
    std::replace(key.begin(), key.end(), '.', '_');
    out.prefix += prefix.substr(at, found - at) + kMark + key + "}";
    fields += (fields.empty() ? "" : ", ") + key + ": ." + field;
    at = close + 1;
  }
  out.prefix += prefix.substr(at);
  if (!fields.empty()) out.query = "{" + fields + "}";
  return out;
}

json firehose_processor(const std::string& type, const std::string& name, const std::string& value) {
  return {{"type", type}, {"parameters", {{{"parameter_name", name}, {"parameter_value", value}}}}};
}

// The delimiter as Firehose's AppendDelimiterToRecord takes it (escapes as written in JSON).
std::string escaped_delimiter(const std::string& delimiter) {
  std::string out;
  for (char c : delimiter) {
    if (c == '\n')
      out += "\\n";
    else if (c == '\t')
      out += "\\t";
    else if (c == '\r')
      out += "\\r";
    else
      out += c;
  }
  return out;
}

// Firehose's role: write under the delivery's prefix and error prefix, and its own log group (reading
// the stream is added by the caller, which holds its reference).
PolicyDocument delivery_policy(const delivery::DeliveryConfig& d, const std::string& name,
                               const std::string& error_prefix) {
  PolicyDocument policy;
  policy.allow(
      {"s3:AbortMultipartUpload", "s3:PutObject"},
      {object_arn(d.bucket, static_prefix(d.prefix) + "*"), object_arn(d.bucket, error_prefix + "*")});
  policy.allow({"s3:GetBucketLocation", "s3:ListBucket", "s3:ListBucketMultipartUploads"},
               {bucket_arn(d.bucket)});
  policy.allow({"logs:PutLogEvents"}, {"arn:aws:logs:*:*:log-group:/aws/kinesisfirehose/" + name + ":*"});
  return policy;
}

void Builder::deliveries() {
  for (const auto& d : p_.deliveries) {
    const std::string path = "deliveries." + d.name;
    const std::string label = labels_.get("delivery", d.name);
    const std::string role_label = labels_.get("delivery_role", d.name);
    const std::string name = aws_name(path, d.name, kMaxFunctionName);
    const std::string bucket = labels_.get("bucket", d.bucket);
    const Partitioning parts = partitioning(d.prefix);
    json s3 = {{"role_arn", ref("aws_iam_role", role_label, "arn")},
               {"bucket_arn", ref("aws_s3_bucket", bucket, "arn")}};
    if (!d.prefix.empty()) s3["prefix"] = parts.prefix;
    const bool expressions = d.prefix.find("!{") != std::string::npos;
    const std::string error_prefix = d.error_prefix + d.name + "/";
    // Firehose requires an error prefix with a prefix that has expressions.
    if (p_.written(path + ".error_prefix") || expressions)
      s3["error_output_prefix"] = error_prefix + "!{firehose:error-output-type}/!{timestamp:yyyy/MM/dd/HH}/";
    if (p_.written(path + ".buffer.size")) {
      const uint64_t mib = std::max<uint64_t>(1, (d.buffer_bytes + (1 << 20) - 1) >> 20);
      if (mib << 20 != d.buffer_bytes)
        warn(path + ".buffer.size",
             "Firehose buffers whole MiB; exported as " + std::to_string(mib) + " MiB");
      s3["buffering_size"] = mib;
    }
    if (p_.written(path + ".buffer.interval"))
      s3["buffering_interval"] = std::chrono::duration_cast<std::chrono::seconds>(d.buffer_interval).count();
    if (p_.written(path + ".compression")) {
      if (d.compression == delivery::Compression::kZstd)
        warn(path + ".compression",
             "Firehose has no zstd for S3 objects; not exported (objects stay uncompressed)");
      else
        s3["compression_format"] = d.compression == delivery::Compression::kGzip ? "GZIP" : "UNCOMPRESSED";
    }
    json processors = json::array();
    if (!parts.query.empty()) {
      s3["dynamic_partitioning_configuration"] = {{"enabled", true}};
      processors.push_back(firehose_processor("MetadataExtraction", "MetadataExtractionQuery", parts.query));
      processors.back()["parameters"].push_back(
          {{"parameter_name", "JsonParsingEngine"}, {"parameter_value", "JQ-1.6"}});
      if (d.buffer_bytes < (uint64_t{64} << 20))
        warn(path + ".buffer.size",
             "Firehose needs at least 64 MiB of buffer with dynamic partitioning; "
             "terraform apply will refuse less");
    }
    // sluice separates records with the delimiter ("\n" by default); Firehose concatenates them
    // unless told to append one.
    if (!d.delimiter.empty())
      processors.push_back(
          firehose_processor("AppendDelimiterToRecord", "Delimiter", escaped_delimiter(d.delimiter)));
    if (!processors.empty()) s3["processing_configuration"] = {{"enabled", true}, {"processors", processors}};

    PolicyDocument policy = delivery_policy(d, name, error_prefix);
    json firehose = {{"name", name}, {"destination", "extended_s3"}, {"extended_s3_configuration", s3}};
    if (!d.stream.empty()) {
      const std::string stream_arn = ref("aws_kinesis_stream", labels_.get("stream", d.stream), "arn");
      policy.allow(
          {"kinesis:DescribeStream", "kinesis:GetShardIterator", "kinesis:GetRecords", "kinesis:ListShards"},
          {stream_arn});
      firehose["kinesis_source_configuration"] = {{"kinesis_stream_arn", stream_arn},
                                                  {"role_arn", ref("aws_iam_role", role_label, "arn")}};
    }
    role(role_label, "firehose.amazonaws.com", std::move(policy));
    resource("aws_kinesis_firehose_delivery_stream", label) = std::move(firehose);
  }
}

// ---- Glue and Athena --------------------------------------------------------------------------

void Builder::crawlers() {
  for (const auto& c : p_.crawlers) {
    const std::string path = "crawlers." + c.name;
    const std::string label = labels_.get("crawler", c.name);
    const std::string database = labels_.get("database", c.database);
    const std::string role_label = labels_.get("crawler_role", c.name);
    resource("aws_glue_catalog_database", database) = {{"name", c.database}};
    PolicyDocument policy;
    json targets = json::array();
    for (const auto& t : c.targets) {
      targets.push_back({{"path", "s3://" + t.bucket + "/" + t.prefix}});
      policy.allow({"s3:GetObject"}, {object_arn(t.bucket, t.prefix + "*")});
      policy.allow({"s3:ListBucket"}, {bucket_arn(t.bucket)},
                   {{"StringLike", {{"s3:prefix", {t.prefix + "*"}}}}});
    }
    const std::string glue =
        "arn:aws:glue:${data.aws_region.current.name}:${data.aws_caller_identity.current.account_id}:";
    policy.allow({"glue:GetDatabase", "glue:GetTable", "glue:GetTables", "glue:CreateTable",
                  "glue:UpdateTable", "glue:GetPartition", "glue:GetPartitions", "glue:BatchGetPartition",
                  "glue:CreatePartition", "glue:BatchCreatePartition", "glue:UpdatePartition"},
                 {glue + "catalog", glue + "database/" + c.database, glue + "table/" + c.database + "/*"});
    policy.allow({"logs:CreateLogGroup", "logs:CreateLogStream", "logs:PutLogEvents"},
                 {"arn:aws:logs:*:*:log-group:/aws-glue/crawlers:*"});
    role(role_label, "glue.amazonaws.com", std::move(policy));
    json crawler = {{"name", c.name},
                    {"database_name", ref("aws_glue_catalog_database", database, "name")},
                    {"role", ref("aws_iam_role", role_label, "arn")},
                    {"s3_target", targets}};
    if (p_.written(path + ".table_prefix")) crawler["table_prefix"] = c.table_prefix;
    if (auto it = crawler_schedules_.find(c.name); it != crawler_schedules_.end())
      crawler["schedule"] = it->second;
    resource("aws_glue_crawler", label) = std::move(crawler);
    if (c.on_change)
      warn(path + ".on_change",
           "a Glue crawler does not run per object without an S3 event queue; "
           "not exported (run it on a schedule, or start it after processing)");
  }
  if (p_.crawlers.empty()) return;
  doc_["data"]["aws_region"]["current"] = json::object();
  doc_["data"]["aws_caller_identity"]["current"] = json::object();
}

void Builder::query() {
  if (!p_.written("query")) return;
  if (p_.written("query.database")) {
    resource("aws_glue_catalog_database",
             labels_.get("database", p_.query.database)) = {{"name", p_.query.database}};
    warn("query.database",
         "an Athena workgroup has no default database; not exported (name it in "
         "the query or the client's QueryExecutionContext)");
  }
  if (p_.written("query.output_location"))
    resource("aws_athena_workgroup", "sluice") = {
        {"name", "sluice"},
        {"configuration",
         {{"result_configuration",
           {{"output_location", "s3://" + p_.query.output_bucket + "/" + p_.query.output_prefix}}}}}};
  for (const char* key : {"threads", "memory_limit", "timeout", "max_inline_rows", "max_sql_bytes"})
    if (p_.written(std::string("query.") + key))
      warn(std::string("query.") + key,
           "a setting of sluice's own query engine; no Athena equivalent, not exported");
}

void Builder::not_exported() {
  if (p_.written("server"))
    warn("server",
         "sluice's HTTP API has no counterpart in the exported resources (producers use Kinesis "
         "and S3 directly); not exported");
  if (p_.written("storage"))
    warn("storage", "the exported functions use AWS S3 in the provider's region; not exported");
  for (const auto& d : p_.dashboards)
    warn("dashboards." + d.name, "dashboards and their alerts are not exported (no QuickSight resources)");
}

}  // namespace

Export export_pipeline(const config::Pipeline& pipeline) { return Builder(pipeline).build(); }

std::string render(const nlohmann::json& document) { return document.dump(2) + "\n"; }

std::vector<std::string> write_terraform(const config::Pipeline& pipeline, const std::filesystem::path& dir) {
  Export out = export_pipeline(pipeline);
  fs::write_file_atomic(dir / "main.tf.json", render(out.document));
  return std::move(out.warnings);
}

}  // namespace sluice::terraform
