#include "aws/athena/athena_metadata.h"

#include <algorithm>

#include "aws/athena/athena.h"
#include "aws/protocol/json_protocol.h"
#include "catalog/name_pattern.h"

namespace sluice::aws {
namespace {

constexpr MemberRules kRules{"InvalidRequestException"};
constexpr const char* kCatalogName = "AwsDataCatalog";
constexpr int64_t kCreated = 0;  // the work group and catalog exist since the epoch, as far as clients know

[[noreturn]] void invalid_request(const std::string& message) {
  server::HttpError error(400, "InvalidRequestException", message);
  error.details.emplace_back("AthenaErrorCode", "INVALID_INPUT");
  throw error;
}

void check_catalog(const nlohmann::json& body, const char* member) {
  const auto name = optional_string(body, member, 1, 256, kRules);
  if (name && catalog::lower(*name) != "awsdatacatalog")
    invalid_request("Catalog " + *name + " was not found: sluice has one catalog, " + kCatalogName);
}

std::string existing_database(catalog::Catalog& data_catalog, const nlohmann::json& body) {
  const std::string name = required_string(body, "DatabaseName", 1, 128, kRules);
  const std::string lowered = catalog::lower(name);
  const auto dbs = data_catalog.databases();
  if (std::find(dbs.begin(), dbs.end(), lowered) == dbs.end())
    fail(400, "MetadataException", "Database " + name + " was not found in catalog " + kCatalogName);
  return lowered;
}

// An offset page token: "" or absent is 0.
size_t offset_of(const nlohmann::json& body) {
  const auto token = optional_string(body, "NextToken", 1, 1024, kRules);
  if (!token) return 0;
  if (token->size() > 9 || token->find_first_not_of("0123456789") != std::string::npos)
    invalid_request("invalid NextToken \"" + token->substr(0, 64) + "\"");
  return std::stoul(*token);
}

// Items [offset, offset + max) of `all` under `member`, with NextToken when more follow.
nlohmann::json page(const nlohmann::json& all, const char* member, size_t offset, size_t max) {
  nlohmann::json out = {{member, nlohmann::json::array()}};
  for (size_t i = offset; i < all.size() && i < offset + max; ++i) out[member].push_back(all[i]);
  if (all.size() > offset + max) out["NextToken"] = std::to_string(offset + max);
  return out;
}

nlohmann::json table_metadata(const catalog::TableInfo& t) {
  nlohmann::json columns = nlohmann::json::array(), keys = nlohmann::json::array();
  for (const auto& c : t.columns) columns.push_back({{"Name", c.name}, {"Type", catalog::glue_type(c.type)}});
  for (const auto& k : t.partition_keys) keys.push_back({{"Name", k}, {"Type", "string"}});
  return {{"Name", t.name},
          {"CreateTime", epoch_seconds(to_epoch_ms(t.created))},
          {"LastAccessTime", epoch_seconds(to_epoch_ms(t.updated))},
          {"TableType", "EXTERNAL_TABLE"},
          {"Columns", std::move(columns)},
          {"PartitionKeys", std::move(keys)},
          {"Parameters",
           {{"classification", std::string(catalog::classification(t.format))},
            {"location", t.location()},
            {"EXTERNAL", "TRUE"}}}};
}

nlohmann::json work_group(const std::string& default_output, bool summary) {
  const nlohmann::json engine = {{"SelectedEngineVersion", "AUTO"},
                                 {"EffectiveEngineVersion", "Athena engine version 3"}};
  nlohmann::json out = {{"Name", "primary"},
                        {"State", "ENABLED"},
                        {"Description", "sluice's only work group"},
                        {"CreationTime", epoch_seconds(kCreated)}};
  if (summary) {
    out["EngineVersion"] = engine;
    return out;
  }
  nlohmann::json result = nlohmann::json::object();
  if (!default_output.empty()) result["OutputLocation"] = default_output;
  out["Configuration"] = {{"ResultConfiguration", result},
                          {"EnforceWorkGroupConfiguration", false},
                          {"PublishCloudWatchMetricsEnabled", false},
                          {"RequesterPaysEnabled", false},
                          {"EngineVersion", engine}};
  return out;
}

}  // namespace

void add_athena_metadata_routes(server::RouteGroup& group, catalog::Catalog& data_catalog,
                                std::string default_output) {
  const auto on = [&](std::string_view operation, std::function<nlohmann::json(const nlohmann::json&)> call) {
    group.operation(kAthenaTargetPrefix, operation, [call = std::move(call)](const server::RouteRequest& r) {
      return json_reply(call(parse_body(r)));
    });
  };
  on("ListDataCatalogs", [](const nlohmann::json&) {
    return nlohmann::json{
        {"DataCatalogsSummary", nlohmann::json::array({{{"CatalogName", kCatalogName}, {"Type", "GLUE"}}})}};
  });
  on("GetDataCatalog", [](const nlohmann::json& body) {
    check_catalog(body, "Name");
    if (!body.contains("Name")) invalid_request("Name is required");
    return nlohmann::json{
        {"DataCatalog",
         {{"Name", kCatalogName}, {"Type", "GLUE"}, {"Parameters", {{"catalog-id", "000000000000"}}}}}};
  });
  on("ListDatabases", [&data_catalog](const nlohmann::json& body) {
    check_catalog(body, "CatalogName");
    const auto max = optional_integer(body, "MaxResults", 1, 50, kRules).value_or(50);
    auto names = data_catalog.databases();
    std::sort(names.begin(), names.end());
    nlohmann::json all = nlohmann::json::array();
    for (const auto& name : names) all.push_back({{"Name", name}, {"Parameters", nlohmann::json::object()}});
    return page(all, "DatabaseList", offset_of(body), static_cast<size_t>(max));
  });
  on("GetDatabase", [&data_catalog](const nlohmann::json& body) {
    check_catalog(body, "CatalogName");
    return nlohmann::json{
        {"Database",
         {{"Name", existing_database(data_catalog, body)}, {"Parameters", nlohmann::json::object()}}}};
  });
  on("ListTableMetadata", [&data_catalog](const nlohmann::json& body) {
    check_catalog(body, "CatalogName");
    const std::string db = existing_database(data_catalog, body);
    const auto expression = optional_string(body, "Expression", 0, 256, kRules);
    const auto max = optional_integer(body, "MaxResults", 1, 50, kRules).value_or(50);
    auto tables = data_catalog.tables(db);
    std::sort(tables.begin(), tables.end(), [](const auto& a, const auto& b) { return a.name < b.name; });
    nlohmann::json all = nlohmann::json::array();
    for (const auto& t : tables)
      if (!expression || expression->empty() || catalog::name_matches(*expression, t.name))
        all.push_back(table_metadata(t));
    return page(all, "TableMetadataList", offset_of(body), static_cast<size_t>(max));
  });
  on("GetTableMetadata", [&data_catalog](const nlohmann::json& body) {
    check_catalog(body, "CatalogName");
    const std::string db = existing_database(data_catalog, body);
    const std::string name = required_string(body, "TableName", 1, 128, kRules);
    const auto table = data_catalog.table(db, catalog::lower(name));
    if (!table) fail(400, "MetadataException", "Table " + name + " was not found in database " + db);
    return nlohmann::json{{"TableMetadata", table_metadata(*table)}};
  });
  on("ListWorkGroups", [default_output](const nlohmann::json&) {
    return nlohmann::json{{"WorkGroups", nlohmann::json::array({work_group(default_output, true)})}};
  });
  on("GetWorkGroup", [default_output](const nlohmann::json& body) {
    const std::string name = required_string(body, "WorkGroup", 1, 128, kRules);
    if (name != "primary") invalid_request("WorkGroup " + name + " is not found.");
    return nlohmann::json{{"WorkGroup", work_group(default_output, false)}};
  });
}

}  // namespace sluice::aws
