#include "config/destination.h"
#include "daemon/http_json.h"
#include "daemon/json_shapes.h"
#include "daemon/routes.h"
#include "storage/object_store.h"

namespace sluice::daemon {
namespace {

nlohmann::json rows_json(const std::vector<std::vector<std::optional<std::string>>>& rows) {
  nlohmann::json out = nlohmann::json::array();
  for (const auto& row : rows) {
    nlohmann::json values = nlohmann::json::array();
    for (const auto& v : row) values.push_back(v ? nlohmann::json(*v) : nlohmann::json(nullptr));
    out.push_back(std::move(values));
  }
  return out;
}

// POST /v1/query {"sql", "database" (optional), "max_rows" (optional)}: runs the query, cancelled when
// the client leaves; answers the first max_rows rows (the CSV result has every row).
server::HttpResponse run_query(Runtime& runtime, const server::RouteRequest& r) {
  const std::string expected =
      "{\"sql\": \"SELECT ...\", \"database\": \"...\" (optional), \"max_rows\": N (optional)}";
  server::HttpResponse bad;
  auto body = json_body(r.http, expected, bad);
  if (!body) return bad;
  if (!body->is_object() || !body->contains("sql") || !(*body)["sql"].is_string())
    return error_response(400, "expected " + expected);
  query::RunOptions options;
  if (body->contains("database")) {
    if (!(*body)["database"].is_string())
      return error_response(400, "database must be a string; expected " + expected);
    options.database = (*body)["database"];
  }
  if (body->contains("max_rows")) {
    const auto& n = (*body)["max_rows"];
    if (!n.is_number_unsigned() || n.get<uint64_t>() > 10000)
      return error_response(400, "max_rows must be an integer from 0 to 10000");
    options.max_inline_rows = n.get<size_t>();
  }
  options.cancel = r.http.client_gone;
  options.cancelled_by = "the client (it disconnected)";
  try {
    return json_response(200,
                         query_result_to_json(runtime.query((*body)["sql"].get<std::string>(), options)));
  } catch (const query::QueryFailed& e) {
    using Cause = query::QueryFailed::Cause;
    const bool cancelled = e.cause() == Cause::kCancelled;
    auto response = json_response(
        cancelled                     ? 499
        : e.cause() == Cause::kSystem ? 503
                                      : 400,
        {{"error", e.what()}, {"query_id", e.query_id()}, {"state", cancelled ? "CANCELLED" : "FAILED"}});
    if (e.cause() == Cause::kSystem) response.headers["Retry-After"] = "1";
    return response;
  }
}

// The history record of a route's {id}; nullopt after setting `missing` to the 404.
std::optional<query::QueryRecord> find_query(Runtime& runtime, const std::string& id,
                                             server::HttpResponse& missing) {
  std::optional<query::QueryRecord> record;
  if (query::is_query_id(id)) record = runtime.query_record(id);
  if (!record) missing = error_response(404, "no query with id \"" + id.substr(0, 64) + "\"");
  return record;
}

// GET /v1/queries/{id}/results?max_rows=N&next_token=T: a page of the saved result.
server::HttpResponse result_page(Runtime& runtime, const server::RouteRequest& r) {
  const std::string& id = r.param("id");
  server::HttpResponse bad;
  if (!find_query(runtime, id, bad)) return bad;
  auto max_rows = int_param(r.http, "max_rows", 1000, 10000, bad);
  if (!max_rows) return bad;
  const auto token = r.http.query.count("next_token") ? r.http.query.at("next_token") : std::string();
  try {
    auto page = runtime.queries().read_results(id, token, static_cast<size_t>(*max_rows));
    return json_response(200, {{"query_id", id},
                               {"columns", page.columns},
                               {"rows", rows_json(page.rows)},
                               {"next_token", page.next_token.empty() ? nlohmann::json(nullptr)
                                                                      : nlohmann::json(page.next_token)}});
  } catch (const storage::NotFound& e) {
    return error_response(410, std::string("the result of query ") + id + " is gone: " + e.what());
  } catch (const SystemError&) {
    throw;
  } catch (const Error& e) {
    return error_response(400, e.what());
  }
}

// GET /v1/queries/{id}/results.csv: the whole saved result, streamed 1 MiB at a time.
server::HttpResponse result_csv(Runtime& runtime, const server::RouteRequest& r) {
  const std::string& id = r.param("id");
  server::HttpResponse bad;
  auto record = find_query(runtime, id, bad);
  if (!record) return bad;
  const auto location = record->state == "SUCCEEDED" ? config::parse_s3_object(record->output) : std::nullopt;
  if (!location)
    return error_response(400, "query " + id + " has no saved result (it is " + record->state + ")");
  auto info = runtime.objects().head(location->bucket, location->key);
  if (!info) return error_response(410, "the result of query " + id + " is gone: " + record->output);
  server::HttpResponse response;
  response.headers["Content-Type"] = "text/csv";
  response.stream = [&runtime, where = *location, size = info->size](server::BodyWriter& out) {
    for (uint64_t at = 0; at < size; at += 1 << 20)
      if (!out.write(runtime.objects().get_range(where.bucket, where.key, at, 1 << 20))) return;
  };
  return response;
}

}  // namespace

void add_query_routes(server::RouteGroup& native, Runtime& runtime) {
  native.route("POST", "/v1/query",
               [&runtime](const server::RouteRequest& r) { return run_query(runtime, r); });
  native.route("GET", "/v1/queries", [&runtime](const server::RouteRequest& r) {
    server::HttpResponse bad;
    auto limit = int_param(r.http, "limit", 20, 100000, bad);
    if (!limit) return bad;
    nlohmann::json out = nlohmann::json::array();
    for (const auto& q : runtime.query_history(*limit)) out.push_back(query_record_to_json(q));
    return json_response(200, out);
  });
  native.route("GET", "/v1/queries/{id}", [&runtime](const server::RouteRequest& r) {
    server::HttpResponse missing;
    auto record = find_query(runtime, r.param("id"), missing);
    return record ? json_response(200, query_record_to_json(*record)) : missing;
  });
  native.route("DELETE", "/v1/queries/{id}", [&runtime](const server::RouteRequest& r) {
    const std::string& id = r.param("id");
    if (query::is_query_id(id) && runtime.queries().cancel(id, "DELETE /v1/queries/" + id))
      return json_response(200, {{"query_id", id}, {"cancelled", true}});
    server::HttpResponse missing;
    auto record = find_query(runtime, id, missing);
    if (!record) return missing;
    return error_response(409, "query " + id + " is not running (it is " + record->state + ")");
  });
  native.route("GET", "/v1/queries/{id}/results",
               [&runtime](const server::RouteRequest& r) { return result_page(runtime, r); });
  native.route("GET", "/v1/queries/{id}/results.csv",
               [&runtime](const server::RouteRequest& r) { return result_csv(runtime, r); });
}

}  // namespace sluice::daemon
