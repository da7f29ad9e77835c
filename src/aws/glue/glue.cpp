#include "aws/glue/glue.h"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <memory>
#include <set>
#include <stdexcept>

#include "aws/protocol/json_protocol.h"
#include "catalog/name_pattern.h"
#include "common/error.h"

namespace sluice::aws {
namespace {

constexpr MemberRules kRules{"InvalidInputException"};
constexpr const char* kCatalogId = "000000000000";  // the account Glue would name; sluice has one

[[noreturn]] void not_found(const std::string& message) { fail(400, "EntityNotFoundException", message); }
[[noreturn]] void invalid_input(const std::string& message) { fail(400, "InvalidInputException", message); }

double seconds(TimePoint t) { return epoch_seconds(to_epoch_ms(t)); }

// The storage description a Glue crawler writes for each classification.
struct StorageFormat {
  const char* input;
  const char* output;
  const char* serde;
};

StorageFormat storage_format(catalog::FileFormat format) {
  switch (format) {
    case catalog::FileFormat::kParquet:
      return {"org.apache.hadoop.hive.ql.io.parquet.MapredParquetInputFormat",
              "org.apache.hadoop.hive.ql.io.parquet.MapredParquetOutputFormat",
              "org.apache.hadoop.hive.ql.io.parquet.serde.ParquetHiveSerDe"};
    case catalog::FileFormat::kCsv:
      return {"org.apache.hadoop.mapred.TextInputFormat",
              "org.apache.hadoop.hive.ql.io.HiveIgnoreKeyTextOutputFormat",
              "org.apache.hadoop.hive.serde2.lazy.LazySimpleSerDe"};
    case catalog::FileFormat::kJsonLines:
    case catalog::FileFormat::kJsonArray:
      break;
  }
  return {"org.apache.hadoop.mapred.TextInputFormat",
          "org.apache.hadoop.hive.ql.io.HiveIgnoreKeyTextOutputFormat", "org.openx.data.jsonserde.JsonSerDe"};
}

nlohmann::json serde_parameters(const catalog::TableInfo& t) {
  switch (t.format) {
    case catalog::FileFormat::kParquet:
      return {{"serialization.format", "1"}};
    case catalog::FileFormat::kCsv:
      return {{"field.delim", ","}};
    case catalog::FileFormat::kJsonLines:
    case catalog::FileFormat::kJsonArray:
      break;
  }
  // The JSON SerDe's "paths": the top-level keys, sorted, as a crawler lists them.
  std::vector<std::string> paths;
  for (const auto& c : t.columns) paths.push_back(c.name);
  std::sort(paths.begin(), paths.end());
  std::string joined;
  for (const auto& p : paths) joined += (joined.empty() ? "" : ",") + p;
  return {{"paths", joined}};
}

nlohmann::json table_parameters(const catalog::TableInfo& t) {
  nlohmann::json p = {{"classification", std::string(catalog::classification(t.format))},
                      {"CrawlerSchemaDeserializerVersion", "1.0"},
                      {"CrawlerSchemaSerializerVersion", "1.0"},
                      {"typeOfData", "file"},
                      {"compressionType", "none"}};
  if (!t.crawler.empty()) p["UPDATED_BY_CRAWLER"] = t.crawler;
  if (t.format == catalog::FileFormat::kCsv) {
    p["delimiter"] = ",";
    p["skip.header.line.count"] = "1";
    p["areColumnsQuoted"] = "false";
  }
  return p;
}

nlohmann::json storage_descriptor(const catalog::TableInfo& t, const std::string& location) {
  const auto format = storage_format(t.format);
  nlohmann::json columns = nlohmann::json::array();
  for (const auto& c : t.columns) columns.push_back({{"Name", c.name}, {"Type", catalog::glue_type(c.type)}});
  return {{"Columns", std::move(columns)},
          {"Location", location},
          {"InputFormat", format.input},
          {"OutputFormat", format.output},
          {"Compressed", false},
          {"NumberOfBuckets", -1},
          {"SerdeInfo", {{"SerializationLibrary", format.serde}, {"Parameters", serde_parameters(t)}}},
          {"BucketColumns", nlohmann::json::array()},
          {"SortColumns", nlohmann::json::array()},
          {"Parameters", table_parameters(t)},
          {"StoredAsSubDirectories", false}};
}

nlohmann::json table_json(const catalog::TableInfo& t) {
  nlohmann::json keys = nlohmann::json::array();
  for (const auto& k : t.partition_keys) keys.push_back({{"Name", k}, {"Type", "string"}});
  return {{"Name", t.name},
          {"DatabaseName", t.database},
          {"Owner", "owner"},
          {"CreateTime", seconds(t.created)},
          {"UpdateTime", seconds(t.updated)},
          {"LastAccessTime", seconds(t.updated)},
          {"Retention", 0},
          {"StorageDescriptor", storage_descriptor(t, t.location())},
          {"PartitionKeys", std::move(keys)},
          {"TableType", "EXTERNAL_TABLE"},
          {"Parameters", table_parameters(t)},
          {"CreatedBy", "sluice"},
          {"IsRegisteredWithLakeFormation", false},
          {"CatalogId", kCatalogId},
          {"VersionId", std::to_string(std::max(0, t.version - 1))}};
}

nlohmann::json database_json(const std::string& name) {
  return {{"Name", name},
          {"Parameters", nlohmann::json::object()},
          {"CreateTableDefaultPermissions",
           nlohmann::json::array({{{"Principal", {{"DataLakePrincipalIdentifier", "IAM_ALLOWED_PRINCIPALS"}}},
                                   {"Permissions", nlohmann::json::array({"ALL"})}}})},
          {"CatalogId", kCatalogId}};
}

// A page token that is an offset into a list: "" is 0.
size_t offset_token(const nlohmann::json& body) {
  const auto token = optional_string(body, "NextToken", 0, 64, kRules);
  if (!token || token->empty()) return 0;
  size_t offset = 0;
  const auto [end, error] = std::from_chars(token->data(), token->data() + token->size(), offset);
  if (error != std::errc() || end != token->data() + token->size())
    invalid_input("invalid NextToken \"" + *token + "\"");
  return offset;
}

class GlueService {
 public:
  explicit GlueService(GlueBackend backend) : backend_(std::move(backend)) {}

  nlohmann::json get_databases(const nlohmann::json& body) const;
  nlohmann::json get_database(const nlohmann::json& body) const {
    return {{"Database", database_json(existing_database(required_string(body, "Name", 1, 255, kRules)))}};
  }
  nlohmann::json create_database(const nlohmann::json& body) const;
  nlohmann::json get_tables(const nlohmann::json& body) const;
  nlohmann::json get_table(const nlohmann::json& body) const;
  nlohmann::json get_partitions(const nlohmann::json& body) const;
  nlohmann::json get_crawler(const nlohmann::json& body) const {
    return {{"Crawler", crawler_json(crawler(required_string(body, "Name", 1, 255, kRules)))}};
  }
  nlohmann::json get_crawlers(const nlohmann::json& body) const;
  nlohmann::json start_crawler(const nlohmann::json& body) const;
  nlohmann::json get_crawler_metrics(const nlohmann::json& body) const;

 private:
  std::string existing_database(const std::string& name) const {
    const std::string lowered = catalog::lower(name);
    const auto dbs = backend_.catalog->databases();
    if (std::find(dbs.begin(), dbs.end(), lowered) == dbs.end())
      not_found("Database " + name + " not found.");
    return lowered;
  }
  catalog::TableInfo existing_table(const nlohmann::json& body, const char* member) const {
    const std::string db = existing_database(required_string(body, "DatabaseName", 1, 255, kRules));
    const std::string name = required_string(body, member, 1, 255, kRules);
    auto t = backend_.catalog->table(db, catalog::lower(name));
    if (!t) not_found("Table " + name + " not found.");
    return *t;
  }
  const GlueCrawler& crawler(const std::string& name) const {
    for (const auto& c : backend_.crawlers)
      if (c.config.name == name) return c;
    not_found("Crawler with name " + name + " has not been found.");
  }
  nlohmann::json crawler_json(const GlueCrawler& c) const;
  std::optional<TimePoint> running_since(const std::string& name,
                                         const std::vector<CrawlRecord>& crawls) const {
    if (auto started = backend_.crawl_started(name)) return started;
    if (!crawls.empty() && crawls.front().status == "running") return crawls.front().started;
    return std::nullopt;
  }

  GlueBackend backend_;
};

nlohmann::json GlueService::get_databases(const nlohmann::json& body) const {
  const int64_t max = optional_integer(body, "MaxResults", 1, 100, kRules).value_or(100);
  const auto after = optional_string(body, "NextToken", 0, 255, kRules).value_or("");
  auto dbs = backend_.catalog->databases();
  std::sort(dbs.begin(), dbs.end());
  nlohmann::json out = {{"DatabaseList", nlohmann::json::array()}};
  for (const auto& db : dbs) {
    if (!after.empty() && db <= after) continue;
    if (static_cast<int64_t>(out["DatabaseList"].size()) == max) {
      out["NextToken"] = out["DatabaseList"].back()["Name"];
      break;
    }
    out["DatabaseList"].push_back(database_json(db));
  }
  return out;
}

nlohmann::json GlueService::create_database(const nlohmann::json& body) const {
  const auto it = body.find("DatabaseInput");
  if (it == body.end() || !it->is_object()) invalid_input("DatabaseInput is required: {\"Name\": \"...\"}");
  const std::string name = required_string(*it, "Name", 1, 255, kRules);
  const std::string lowered = catalog::lower(name);
  if (lowered.find_first_not_of("abcdefghijklmnopqrstuvwxyz0123456789_") != std::string::npos)
    invalid_input("Database name " + name + " is not valid: use letters, digits and underscores");
  const auto dbs = backend_.catalog->databases();
  if (std::find(dbs.begin(), dbs.end(), lowered) != dbs.end())
    fail(400, "AlreadyExistsException", "Database already exists.");
  backend_.catalog->create_database(lowered);
  return nlohmann::json::object();
}

nlohmann::json GlueService::get_tables(const nlohmann::json& body) const {
  const std::string db = existing_database(required_string(body, "DatabaseName", 1, 255, kRules));
  const int64_t max = optional_integer(body, "MaxResults", 1, 100, kRules).value_or(100);
  const auto after = optional_string(body, "NextToken", 0, 255, kRules).value_or("");
  const auto expression = optional_string(body, "Expression", 0, 2048, kRules);
  auto tables = backend_.catalog->tables(db);
  std::sort(tables.begin(), tables.end(), [](const auto& a, const auto& b) { return a.name < b.name; });
  nlohmann::json out = {{"TableList", nlohmann::json::array()}};
  for (const auto& t : tables) {
    if ((!after.empty() && t.name <= after) ||
        (expression && !expression->empty() && !catalog::name_matches(*expression, t.name)))
      continue;
    if (static_cast<int64_t>(out["TableList"].size()) == max) {
      out["NextToken"] = out["TableList"].back()["Name"];
      break;
    }
    out["TableList"].push_back(table_json(t));
  }
  return out;
}

nlohmann::json GlueService::get_table(const nlohmann::json& body) const {
  return {{"Table", table_json(existing_table(body, "Name"))}};
}

nlohmann::json GlueService::get_partitions(const nlohmann::json& body) const {
  const auto table = existing_table(body, "TableName");
  const int64_t max = optional_integer(body, "MaxResults", 1, 1000, kRules).value_or(1000);
  const size_t offset = offset_token(body);
  const std::string expression = optional_string(body, "Expression", 0, 2048, kRules).value_or("");
  const bool without_columns = optional_boolean(body, "ExcludeColumnSchema", kRules).value_or(false);
  std::vector<catalog::PartitionInfo> matching;
  for (auto& p : backend_.catalog->partitions(table.database, table.name)) {
    try {
      if (partition_matches(expression, table.partition_keys, p.values)) matching.push_back(std::move(p));
    } catch (const Error& e) {
      invalid_input(e.what());
    }
  }
  std::sort(matching.begin(), matching.end(),
            [](const auto& a, const auto& b) { return a.values < b.values; });
  nlohmann::json out = {{"Partitions", nlohmann::json::array()}};
  for (size_t i = offset; i < matching.size(); ++i) {
    if (static_cast<int64_t>(out["Partitions"].size()) == max) {
      out["NextToken"] = std::to_string(i);
      break;
    }
    auto descriptor = storage_descriptor(table, matching[i].location);
    if (without_columns) descriptor.erase("Columns");
    out["Partitions"].push_back({{"Values", matching[i].values},
                                 {"DatabaseName", table.database},
                                 {"TableName", table.name},
                                 {"CreationTime", seconds(table.updated)},
                                 {"LastAccessTime", seconds(table.updated)},
                                 {"StorageDescriptor", std::move(descriptor)},
                                 {"Parameters", nlohmann::json::object()},
                                 {"CatalogId", kCatalogId}});
  }
  return out;
}

std::string last_crawl_status(const std::string& status) {
  if (status == "succeeded") return "SUCCEEDED";
  if (status == "failed") return "FAILED";
  return "CANCELLED";  // interrupted: stopped by a shutdown, or a system failure retried later
}

nlohmann::json GlueService::crawler_json(const GlueCrawler& c) const {
  const auto crawls = backend_.crawls(c.config.name, 20);
  const auto since = running_since(c.config.name, crawls);
  nlohmann::json targets = nlohmann::json::array();
  for (const auto& t : c.config.targets)
    targets.push_back(
        {{"Path", "s3://" + t.bucket + "/" + t.prefix}, {"Exclusions", nlohmann::json::array()}});
  nlohmann::json out = {
      {"Name", c.config.name},
      {"Role", "sluice"},
      {"Targets",
       {{"S3Targets", std::move(targets)},
        {"JdbcTargets", nlohmann::json::array()},
        {"MongoDBTargets", nlohmann::json::array()},
        {"DynamoDBTargets", nlohmann::json::array()},
        {"CatalogTargets", nlohmann::json::array()},
        {"DeltaTargets", nlohmann::json::array()}}},
      {"DatabaseName", c.config.database},
      {"Classifiers", nlohmann::json::array()},
      {"RecrawlPolicy", {{"RecrawlBehavior", "CRAWL_EVERYTHING"}}},
      {"SchemaChangePolicy",
       {{"UpdateBehavior", "UPDATE_IN_DATABASE"}, {"DeleteBehavior", "DEPRECATE_IN_DATABASE"}}},
      {"LineageConfiguration", {{"CrawlerLineageSettings", "DISABLE"}}},
      {"State", since ? "RUNNING" : "READY"},
      {"Version", 1}};
  if (!c.config.table_prefix.empty()) out["TablePrefix"] = c.config.table_prefix;
  if (!c.schedule_expression.empty())
    out["Schedule"] = {{"ScheduleExpression", c.schedule_expression}, {"State", "SCHEDULED"}};
  if (since) out["CrawlElapsedTime"] = std::max<int64_t>(0, to_epoch_ms(now_ms()) - to_epoch_ms(*since));
  for (const auto& crawl : crawls) {
    if (crawl.status == "running") continue;
    nlohmann::json last = {{"Status", last_crawl_status(crawl.status)},
                           {"LogGroup", "/aws-glue/crawlers"},
                           {"LogStream", c.config.name},
                           {"StartTime", seconds(crawl.started)}};
    if (crawl.status != "succeeded" && !crawl.error.empty()) last["ErrorMessage"] = crawl.error;
    out["LastCrawl"] = std::move(last);
    break;
  }
  return out;
}

nlohmann::json GlueService::get_crawlers(const nlohmann::json& body) const {
  const int64_t max = optional_integer(body, "MaxResults", 1, 1000, kRules).value_or(1000);
  const size_t offset = offset_token(body);
  nlohmann::json out = {{"Crawlers", nlohmann::json::array()}};
  for (size_t i = offset; i < backend_.crawlers.size(); ++i) {
    if (static_cast<int64_t>(out["Crawlers"].size()) == max) {
      out["NextToken"] = std::to_string(i);
      break;
    }
    out["Crawlers"].push_back(crawler_json(backend_.crawlers[i]));
  }
  return out;
}

nlohmann::json GlueService::start_crawler(const nlohmann::json& body) const {
  const auto& c = crawler(required_string(body, "Name", 1, 255, kRules));
  const auto crawls = backend_.crawls(c.config.name, 1);
  if (running_since(c.config.name, crawls) || !backend_.start_crawl(c.config.name))
    fail(400, "CrawlerRunningException", "Crawler with name " + c.config.name + " has already started");
  return nlohmann::json::object();
}

nlohmann::json GlueService::get_crawler_metrics(const nlohmann::json& body) const {
  std::optional<std::set<std::string>> names;
  if (const auto it = body.find("CrawlerNameList"); it != body.end() && !it->is_null()) {
    if (!it->is_array() || it->size() > 100)
      invalid_input("CrawlerNameList must be a list of at most 100 names");
    names.emplace();
    for (const auto& n : *it) {
      if (!n.is_string()) invalid_input("CrawlerNameList must hold crawler names (strings)");
      names->insert(n.get<std::string>());
    }
  }
  const int64_t max = optional_integer(body, "MaxResults", 1, 1000, kRules).value_or(1000);
  const size_t offset = offset_token(body);
  nlohmann::json out = {{"CrawlerMetricsList", nlohmann::json::array()}};
  size_t index = 0;
  for (const auto& c : backend_.crawlers) {
    if (names && !names->count(c.config.name)) continue;
    if (index++ < offset) continue;
    if (static_cast<int64_t>(out["CrawlerMetricsList"].size()) == max) {
      out["NextToken"] = std::to_string(index - 1);
      break;
    }
    const auto crawls = backend_.crawls(c.config.name, 50);
    std::vector<double> runtimes;
    for (const auto& crawl : crawls)
      if (crawl.ended)
        runtimes.push_back(static_cast<double>(to_epoch_ms(*crawl.ended) - to_epoch_ms(crawl.started)) /
                           1000.0);
    double median = 0;
    if (!runtimes.empty()) {
      std::vector<double> sorted = runtimes;
      std::sort(sorted.begin(), sorted.end());
      median = sorted[sorted.size() / 2];
    }
    int64_t created = 0, updated = 0;
    for (const auto& t : backend_.catalog->tables(c.config.database)) {
      if (t.crawler != c.config.name) continue;
      ++created;
      if (t.version > 1) ++updated;
    }
    out["CrawlerMetricsList"].push_back(
        {{"CrawlerName", c.config.name},
         {"TimeLeftSeconds", 0.0},
         {"StillEstimating", running_since(c.config.name, crawls).has_value()},
         {"LastRuntimeSeconds", runtimes.empty() ? 0.0 : runtimes.front()},
         {"MedianRuntimeSeconds", median},
         {"TablesCreated", created},
         {"TablesUpdated", updated},
         {"TablesDeleted", 0}});
  }
  return out;
}

}  // namespace

void add_glue_routes(server::RouteGroup& group, GlueBackend backend) {
  if (!backend.catalog || !backend.start_crawl || !backend.crawl_started || !backend.crawls)
    throw std::invalid_argument("add_glue_routes: every member of GlueBackend is required");
  auto service = std::make_shared<GlueService>(std::move(backend));
  using Call = nlohmann::json (GlueService::*)(const nlohmann::json&) const;
  const auto on = [&](std::string_view operation, Call call) {
    group.operation(kGlueTargetPrefix, operation, [service, call](const server::RouteRequest& r) {
      return json_reply(((*service).*call)(parse_body(r, "InvalidInputException")));
    });
  };
  on("GetDatabases", &GlueService::get_databases);
  on("GetDatabase", &GlueService::get_database);
  on("CreateDatabase", &GlueService::create_database);
  on("GetTables", &GlueService::get_tables);
  on("GetTable", &GlueService::get_table);
  on("GetPartitions", &GlueService::get_partitions);
  on("GetCrawler", &GlueService::get_crawler);
  on("GetCrawlers", &GlueService::get_crawlers);
  on("StartCrawler", &GlueService::start_crawler);
  on("GetCrawlerMetrics", &GlueService::get_crawler_metrics);
}

}  // namespace sluice::aws
