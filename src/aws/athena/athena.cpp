#include "aws/athena/athena.h"

#include <algorithm>
#include <cstdio>
#include <deque>
#include <map>
#include <mutex>
#include <stdexcept>

#include "aws/athena/athena_metadata.h"
#include "aws/protocol/json_protocol.h"

namespace sluice::aws {
namespace {

constexpr MemberRules kRules{"InvalidRequestException"};
constexpr size_t kMaxIdempotencyTokens = 10000;  // remembered, newest kept
constexpr int64_t kMaxResultRows = 1000;         // GetQueryResults' MaxResults
constexpr int64_t kMaxListed = 50;               // ListQueryExecutions' MaxResults
constexpr size_t kMaxBatch = 50;                 // BatchGetQueryExecution's ids

[[noreturn]] void invalid_request(const std::string& message,
                                  const std::string& athena_code = "INVALID_INPUT") {
  server::HttpError error(400, "InvalidRequestException", message);
  error.details.emplace_back("AthenaErrorCode", athena_code);
  throw error;
}

std::string not_found_message(const std::string& id) { return "QueryExecution " + id + " was not found"; }

// A query as the API shows it, from the queue (not yet in the history) or the history.
struct Execution {
  std::string id, sql, database, state, reason, output;
  TimePoint submitted{};
  std::optional<TimePoint> ended;
  int64_t planning_ms = 0, execution_ms = 0;
  uint64_t bytes_scanned = 0;
};

Execution from_pending(const query::PendingQuery& p) {
  Execution e;
  e.id = p.id;
  e.sql = p.sql;
  e.database = p.database;
  e.state = p.state;
  e.output = p.output;
  e.submitted = p.submitted;
  return e;
}

Execution from_record(const query::QueryRecord& r) {
  Execution e;
  e.id = r.id;
  e.sql = r.sql;
  e.database = r.database;
  e.state = r.state;
  e.reason = r.error;
  e.output = r.output;
  e.submitted = r.submitted;
  e.ended = r.ended;
  e.planning_ms = r.planning_ms;
  e.execution_ms = r.execution_ms;
  e.bytes_scanned = r.bytes_scanned;
  return e;
}

nlohmann::json execution_json(const Execution& e) {
  nlohmann::json status = {{"State", e.state},
                           {"SubmissionDateTime", epoch_seconds(to_epoch_ms(e.submitted))}};
  if (!e.reason.empty()) status["StateChangeReason"] = e.reason;
  if (e.ended) status["CompletionDateTime"] = epoch_seconds(to_epoch_ms(*e.ended));
  if (e.state == "FAILED")
    status["AthenaError"] = {{"ErrorCategory", 2}, {"Retryable", false}, {"ErrorMessage", e.reason}};
  const int64_t total = e.ended ? std::max<int64_t>(0, to_epoch_ms(*e.ended) - to_epoch_ms(e.submitted)) : 0;
  nlohmann::json statistics = {{"EngineExecutionTimeInMillis", e.planning_ms + e.execution_ms},
                               {"DataScannedInBytes", e.bytes_scanned},
                               {"TotalExecutionTimeInMillis", total},
                               {"QueryQueueTimeInMillis", 0},
                               {"QueryPlanningTimeInMillis", e.planning_ms},
                               {"ServiceProcessingTimeInMillis", 0}};
  nlohmann::json out = {
      {"QueryExecutionId", e.id},
      {"Query", e.sql},
      {"StatementType", "DML"},
      {"QueryExecutionContext", {{"Database", e.database}, {"Catalog", "awsdatacatalog"}}},
      {"Status", status},
      {"Statistics", statistics},
      {"WorkGroup", "primary"},
      {"EngineVersion",
       {{"SelectedEngineVersion", "AUTO"}, {"EffectiveEngineVersion", "Athena engine version 3"}}}};
  out["ResultConfiguration"] = nlohmann::json::object();
  if (!e.output.empty()) out["ResultConfiguration"]["OutputLocation"] = e.output;
  return out;
}

// The ClientRequestTokens seen lately: the same token with the same parameters names the same query.
class IdempotencyTokens {
 public:
  // The query of `token` when it was seen with `parameters`; nullopt when it was not seen. Throws
  // InvalidRequestException when it was seen with other parameters.
  std::optional<std::string> find(const std::string& token, const std::string& parameters) const {
    const auto it = seen_.find(token);
    if (it == seen_.end()) return std::nullopt;
    if (it->second.first != parameters)
      invalid_request("ClientRequestToken " + token +
                      " was used by another StartQueryExecution request "
                      "with different parameters (idempotent parameters do not match)");
    return it->second.second;
  }
  void add(const std::string& token, const std::string& parameters, const std::string& id) {
    seen_.emplace(token, std::make_pair(parameters, id));
    order_.push_back(token);
    while (order_.size() > kMaxIdempotencyTokens) {
      seen_.erase(order_.front());
      order_.pop_front();
    }
  }
  std::mutex& mutex() { return mutex_; }

 private:
  std::mutex mutex_;
  std::map<std::string, std::pair<std::string, std::string>> seen_;  // token -> (parameters, query id)
  std::deque<std::string> order_;
};

// A nested structure member: absent is an empty object, anything but an object is refused.
const nlohmann::json& structure(const nlohmann::json& body, const char* member) {
  static const nlohmann::json kEmpty = nlohmann::json::object();
  const auto it = body.find(member);
  if (it == body.end() || it->is_null()) return kEmpty;
  if (!it->is_object()) invalid_request(std::string(member) + " must be a structure (a JSON object)");
  return *it;
}

void check_work_group(const nlohmann::json& body) {
  const auto group = optional_string(body, "WorkGroup", 1, 128, kRules);
  if (group && *group != "primary") invalid_request("WorkGroup " + *group + " is not found.");
}

class AthenaService {
 public:
  explicit AthenaService(AthenaBackend backend) : backend_(std::move(backend)) {}

  nlohmann::json start(const nlohmann::json& body);
  nlohmann::json get(const nlohmann::json& body) const {
    return {
        {"QueryExecution", execution_json(find(required_string(body, "QueryExecutionId", 1, 128, kRules)))}};
  }
  nlohmann::json results(const nlohmann::json& body) const;
  nlohmann::json stop(const nlohmann::json& body) const;
  nlohmann::json list(const nlohmann::json& body) const;
  nlohmann::json batch_get(const nlohmann::json& body) const;

 private:
  std::optional<Execution> lookup(const std::string& id) const {
    if (auto pending = backend_.queue->pending(id)) return from_pending(*pending);
    if (!query::is_query_id(id)) return std::nullopt;
    if (auto record = backend_.record(id)) return from_record(*record);
    return std::nullopt;
  }
  Execution find(const std::string& id) const {
    auto e = lookup(id);
    if (!e) invalid_request(not_found_message(id));
    return *e;
  }
  query::Submission submission(const nlohmann::json& body) const;
  nlohmann::json column_info(const std::string& id, const std::vector<std::string>& columns) const;

  AthenaBackend backend_;
  IdempotencyTokens tokens_;
};

query::Submission AthenaService::submission(const nlohmann::json& body) const {
  query::Submission s;
  s.sql = required_string(body, "QueryString", 1, 262144, kRules);
  const auto& context = structure(body, "QueryExecutionContext");
  s.database = catalog::lower(optional_string(context, "Database", 1, 255, kRules).value_or(""));
  const auto catalog = optional_string(context, "Catalog", 1, 256, kRules);
  if (catalog && catalog::lower(*catalog) != "awsdatacatalog")
    invalid_request("Catalog " + *catalog + " is not found: sluice has one catalog, AwsDataCatalog");
  check_work_group(body);
  const auto& result = structure(body, "ResultConfiguration");
  if (auto location = optional_string(result, "OutputLocation", 1, 1024, kRules)) {
    if (location->rfind("s3://", 0) != 0 || location->size() == 5)
      invalid_request("OutputLocation " + *location + " is not an s3://bucket/prefix/ location");
    const std::string rest = location->substr(5);
    const size_t slash = rest.find('/');
    s.output_bucket = rest.substr(0, slash);
    s.output_prefix = slash == std::string::npos ? "" : rest.substr(slash + 1);
    if (!s.output_prefix.empty() && s.output_prefix.back() != '/') s.output_prefix += '/';
    if (s.output_bucket->empty() || !backend_.has_bucket(*s.output_bucket))
      invalid_request("Unable to verify/create output bucket " + *s.output_bucket);
  } else if (backend_.engine->config().output_bucket.empty()) {
    invalid_request(
        "No output location provided. An output location is required either through the Workgroup result "
        "configuration setting or as an API input.");
  }
  return s;
}

nlohmann::json AthenaService::start(const nlohmann::json& body) {
  auto s = submission(body);
  const auto token = optional_string(body, "ClientRequestToken", 32, 128, kRules);
  const std::string parameters =
      s.sql + '\0' + s.database + '\0' + s.output_bucket.value_or("") + '\0' + s.output_prefix;
  std::unique_lock<std::mutex> lock;
  if (token) {
    lock = std::unique_lock(tokens_.mutex());
    if (auto id = tokens_.find(*token, parameters)) return {{"QueryExecutionId", *id}};
  }
  std::string id;
  try {
    id = backend_.queue->submit(std::move(s));
  } catch (const query::QueueFull& e) {
    server::HttpError error(400, "TooManyRequestsException", e.what());
    error.details.emplace_back("Reason", "CONCURRENT_QUERY_LIMIT_EXCEEDED");
    throw error;
  } catch (const server::HttpError&) {
    throw;
  } catch (const Error& e) {
    server::HttpError error(503, "InternalServerException", e.what());
    error.headers["Retry-After"] = "1";
    throw error;
  }
  if (token) tokens_.add(*token, parameters, id);
  return {{"QueryExecutionId", id}};
}

// Athena's precision of a column type, as its JDBC-like metadata reports it.
int type_precision(const std::string& type) {
  static const std::map<std::string, int> kPrecision = {
      {"varchar", 2147483647}, {"bigint", 19}, {"integer", 10}, {"smallint", 5}, {"tinyint", 3},
      {"double", 17},          {"real", 7},    {"boolean", 0},  {"date", 0},     {"timestamp", 3}};
  const auto it = kPrecision.find(type);
  return it == kPrecision.end() ? 0 : it->second;
}

nlohmann::json AthenaService::column_info(const std::string& id,
                                          const std::vector<std::string>& columns) const {
  auto types = backend_.queue->column_types(id);
  if (types && types->size() != columns.size()) types.reset();
  nlohmann::json out = nlohmann::json::array();
  for (size_t i = 0; i < columns.size(); ++i) {
    const std::string duck = types ? (*types)[i] : std::string("VARCHAR");
    const std::string type = athena_type(duck);
    int precision = type_precision(type), scale = 0;
    if (type == "decimal") {
      if (std::sscanf(duck.c_str(), "DECIMAL(%d,%d)", &precision, &scale) != 2) precision = 38, scale = 0;
    }
    out.push_back({{"CatalogName", "hive"},
                   {"SchemaName", ""},
                   {"TableName", ""},
                   {"Name", columns[i]},
                   {"Label", columns[i]},
                   {"Type", type},
                   {"Precision", precision},
                   {"Scale", scale},
                   {"Nullable", "UNKNOWN"},
                   {"CaseSensitive", type == "varchar"}});
  }
  return out;
}

nlohmann::json row_json(const std::vector<std::optional<std::string>>& values) {
  nlohmann::json data = nlohmann::json::array();
  for (const auto& v : values)
    data.push_back(v ? nlohmann::json{{"VarCharValue", *v}} : nlohmann::json::object());
  return {{"Data", std::move(data)}};
}

nlohmann::json AthenaService::results(const nlohmann::json& body) const {
  const std::string id = required_string(body, "QueryExecutionId", 1, 128, kRules);
  const auto token = optional_string(body, "NextToken", 1, 1024, kRules);
  const int64_t max =
      optional_integer(body, "MaxResults", 1, kMaxResultRows, kRules).value_or(kMaxResultRows);
  const Execution e = find(id);
  if (e.state == "QUEUED" || e.state == "RUNNING")
    invalid_request("Query has not yet finished. Current state: " + e.state);
  if (e.state != "SUCCEEDED")
    invalid_request("Query did not finish successfully. Final query state: " + e.state +
                    (e.reason.empty() ? "" : " (" + e.reason + ")"));
  // Our token is "r" and the engine's (a row's offset; empty: the first row). The first page begins
  // with the header row, which counts against MaxResults as in Athena.
  if (token && (*token)[0] != 'r') invalid_request("invalid NextToken \"" + token->substr(0, 64) + "\"");
  const bool first = !token;
  const size_t data_rows = static_cast<size_t>(first ? max - 1 : max);
  query::QueryPage page;
  try {
    page = backend_.engine->read_results(id, first ? "" : token->substr(1), std::max<size_t>(data_rows, 1));
  } catch (const Error& e) {
    invalid_request(e.what());
  }
  std::string next = page.next_token.empty() ? "" : "r" + page.next_token;
  if (data_rows == 0) {
    next = page.rows.empty() ? "" : "r";
    page.rows.clear();
  }
  nlohmann::json rows = nlohmann::json::array();
  if (first) {
    std::vector<std::optional<std::string>> header(page.columns.begin(), page.columns.end());
    rows.push_back(row_json(header));
  }
  for (const auto& row : page.rows) rows.push_back(row_json(row));
  nlohmann::json out = {
      {"UpdateCount", 0},
      {"ResultSet",
       {{"Rows", std::move(rows)}, {"ResultSetMetadata", {{"ColumnInfo", column_info(id, page.columns)}}}}}};
  if (!next.empty()) out["NextToken"] = next;
  return out;
}

nlohmann::json AthenaService::stop(const nlohmann::json& body) const {
  const std::string id = required_string(body, "QueryExecutionId", 1, 128, kRules);
  if (backend_.queue->stop(id, "StopQueryExecution")) return nlohmann::json::object();
  if (query::is_query_id(id) && backend_.engine->cancel(id, "StopQueryExecution"))
    return nlohmann::json::object();
  find(id);  // a finished query: stopping it changes nothing, as in Athena
  return nlohmann::json::object();
}

nlohmann::json AthenaService::list(const nlohmann::json& body) const {
  check_work_group(body);
  int64_t max = optional_integer(body, "MaxResults", 0, kMaxListed, kRules).value_or(kMaxListed);
  if (max == 0) max = kMaxListed;
  const auto token = optional_string(body, "NextToken", 1, 1024, kRules);
  int64_t offset = 0;
  if (token) {
    // "o<offset>" into the newest-first list.
    if (token->size() < 2 || token->size() > 10 || (*token)[0] != 'o' ||
        !std::all_of(token->begin() + 1, token->end(), [](char c) { return c >= '0' && c <= '9'; }))
      invalid_request("invalid NextToken \"" + token->substr(0, 64) + "\"");
    offset = std::stoll(token->substr(1));
  }
  std::vector<std::string> ids;
  for (const auto& p : backend_.queue->held())
    if (p.state == "QUEUED") ids.push_back(p.id);
  for (const auto& r : backend_.history(static_cast<int>(offset + max + 1)))
    if (std::find(ids.begin(), ids.end(), r.id) == ids.end()) ids.push_back(r.id);
  nlohmann::json out = {{"QueryExecutionIds", nlohmann::json::array()}};
  for (int64_t i = offset; i < static_cast<int64_t>(ids.size()) && i < offset + max; ++i)
    out["QueryExecutionIds"].push_back(ids[static_cast<size_t>(i)]);
  if (static_cast<int64_t>(ids.size()) > offset + max) out["NextToken"] = "o" + std::to_string(offset + max);
  return out;
}

nlohmann::json AthenaService::batch_get(const nlohmann::json& body) const {
  const auto it = body.find("QueryExecutionIds");
  if (it == body.end() || !it->is_array() || it->empty() || it->size() > kMaxBatch)
    invalid_request("QueryExecutionIds must be a list of 1 to 50 query execution ids");
  nlohmann::json out = {{"QueryExecutions", nlohmann::json::array()},
                        {"UnprocessedQueryExecutionIds", nlohmann::json::array()}};
  for (const auto& value : *it) {
    if (!value.is_string() || value.get_ref<const std::string&>().empty() ||
        value.get_ref<const std::string&>().size() > 128)
      invalid_request("QueryExecutionIds must hold strings of 1 to 128 characters");
    const std::string& id = value.get_ref<const std::string&>();
    if (auto e = lookup(id))
      out["QueryExecutions"].push_back(execution_json(*e));
    else
      out["UnprocessedQueryExecutionIds"].push_back({{"QueryExecutionId", id},
                                                     {"ErrorCode", "INVALID_INPUT"},
                                                     {"ErrorMessage", not_found_message(id)}});
  }
  return out;
}

}  // namespace

std::string athena_type(std::string_view duckdb_type) {
  const std::string type(duckdb_type);
  if (type.ends_with("[]") || type.rfind("LIST", 0) == 0) return "array";
  if (type.rfind("STRUCT", 0) == 0) return "row";
  if (type.rfind("MAP", 0) == 0) return "map";
  if (type.rfind("DECIMAL", 0) == 0 || type == "HUGEINT") return "decimal";
  if (type.rfind("TIMESTAMP", 0) == 0) return "timestamp";
  static const std::map<std::string, std::string> kNames = {
      {"VARCHAR", "varchar"}, {"BIGINT", "bigint"},     {"INTEGER", "integer"},   {"SMALLINT", "smallint"},
      {"TINYINT", "tinyint"}, {"DOUBLE", "double"},     {"FLOAT", "real"},        {"BOOLEAN", "boolean"},
      {"DATE", "date"},       {"BLOB", "varbinary"},    {"JSON", "json"},         {"UBIGINT", "bigint"},
      {"UINTEGER", "bigint"}, {"USMALLINT", "integer"}, {"UTINYINT", "smallint"}, {"TIME", "time"},
      {"UUID", "varchar"}};
  const auto it = kNames.find(type);
  return it == kNames.end() ? "varchar" : it->second;
}

void add_athena_routes(server::RouteGroup& group, AthenaBackend backend) {
  if (!backend.engine || !backend.catalog || !backend.queue || !backend.record || !backend.history ||
      !backend.has_bucket)
    throw std::invalid_argument("add_athena_routes: every member of AthenaBackend is required");
  const auto& config = backend.engine->config();
  add_athena_metadata_routes(
      group, *backend.catalog,
      config.output_bucket.empty() ? "" : "s3://" + config.output_bucket + "/" + config.output_prefix);
  auto service = std::make_shared<AthenaService>(std::move(backend));
  const auto on = [&](std::string_view operation,
                      nlohmann::json (*call)(AthenaService&, const nlohmann::json&)) {
    group.operation(kAthenaTargetPrefix, operation, [service, call](const server::RouteRequest& r) {
      return json_reply(call(*service, parse_body(r)));
    });
  };
  on("StartQueryExecution", [](AthenaService& s, const nlohmann::json& b) { return s.start(b); });
  on("GetQueryExecution", [](AthenaService& s, const nlohmann::json& b) { return s.get(b); });
  on("GetQueryResults", [](AthenaService& s, const nlohmann::json& b) { return s.results(b); });
  on("StopQueryExecution", [](AthenaService& s, const nlohmann::json& b) { return s.stop(b); });
  on("ListQueryExecutions", [](AthenaService& s, const nlohmann::json& b) { return s.list(b); });
  on("BatchGetQueryExecution", [](AthenaService& s, const nlohmann::json& b) { return s.batch_get(b); });
}

}  // namespace sluice::aws
