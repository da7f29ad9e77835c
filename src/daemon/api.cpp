#include "daemon/api.h"

#include <arpa/inet.h>
#include <simdjson.h>

#include <charconv>
#include <cstdlib>
#include <cstring>

#include "catalog/catalog.h"
#include "common/error.h"
#include "common/json_limits.h"
#include "common/json_path.h"
#include "metastore/run_log.h"
#include "server/http_server.h"
#include "storage/local_object_store.h"
#include "stream/stream.h"

namespace sluice::daemon {
namespace {

bool is_loopback(const std::string& host) {
  if (host == "localhost" || host == "::1") return true;
  in_addr addr{};
  if (inet_pton(AF_INET, host.c_str(), &addr) != 1) return false;
  return (ntohl(addr.s_addr) >> 24) == 127;
}

server::HttpResponse json_response(int status, const nlohmann::json& body) {
  server::HttpResponse response;
  response.status = status;
  response.headers["Content-Type"] = "application/json";
  response.body = body.dump() + "\n";
  return response;
}

server::HttpResponse error_response(int status, const std::string& message) {
  return json_response(status, {{"error", message}});
}

// ?limit=N of the listing endpoints: 1..100000; a 400 response when malformed.
std::optional<server::HttpResponse> limit_of(const server::HttpRequest& request, int& limit) {
  auto it = request.query.find("limit");
  if (it == request.query.end()) return std::nullopt;
  auto [end, ec] = std::from_chars(it->second.data(), it->second.data() + it->second.size(), limit);
  if (ec != std::errc() || end != it->second.data() + it->second.size() || limit < 1 || limit > 100000)
    return error_response(400, "limit must be an integer from 1 to 100000, got \"" + it->second + "\"");
  return std::nullopt;
}

}  // namespace

nlohmann::json run_to_json(const metastore::RunRecord& r) {
  auto time_or_null = [](const std::optional<TimePoint>& t) {
    return t ? nlohmann::json(format_iso8601_utc(*t)) : nlohmann::json(nullptr);
  };
  return {{"run_id", r.id},
          {"kind", r.kind},
          {"name", r.name},
          {"trigger", r.trigger},
          {"schedule", r.schedule},
          {"slot", time_or_null(r.slot)},
          {"started", format_iso8601_utc(r.started)},
          {"ended", time_or_null(r.ended)},
          {"status", metastore::to_string(r.status)},
          {"records", r.records},
          {"bytes", r.bytes},
          {"object", r.object},
          {"error", r.error}};
}

nlohmann::json summary_to_json(const RunSummary& r) {
  return {{"run_id", r.run_id}, {"source", r.source}, {"status", r.status}, {"records", r.records},
          {"bytes", r.bytes},   {"object", r.object}, {"error", r.error}};
}

nlohmann::json query_result_to_json(const query::QueryResult& r) {
  nlohmann::json columns = nlohmann::json::array();
  for (size_t i = 0; i < r.columns.size(); ++i)
    columns.push_back({{"name", r.columns[i]}, {"type", r.types[i]}});
  nlohmann::json rows = nlohmann::json::array();
  for (const auto& row : r.rows) {
    nlohmann::json values = nlohmann::json::array();
    for (const auto& v : row) values.push_back(v ? nlohmann::json(*v) : nlohmann::json(nullptr));
    rows.push_back(std::move(values));
  }
  return {{"query_id", r.query_id},
          {"database", r.database},
          {"columns", columns},
          {"rows", rows},
          {"row_count", r.row_count},
          {"truncated", r.truncated},
          {"bytes_scanned", r.bytes_scanned},
          {"output", r.output},
          {"planning_ms", r.planning_ms},
          {"execution_ms", r.execution_ms}};
}

nlohmann::json query_record_to_json(const query::QueryRecord& q) {
  return {{"query_id", q.id},
          {"sql", q.sql},
          {"database", q.database},
          {"state", q.state},
          {"submitted", format_iso8601_utc(q.submitted)},
          {"ended", q.ended ? nlohmann::json(format_iso8601_utc(*q.ended)) : nlohmann::json(nullptr)},
          {"planning_ms", q.planning_ms},
          {"execution_ms", q.execution_ms},
          {"rows", q.rows},
          {"bytes_scanned", q.bytes_scanned},
          {"output", q.output},
          {"error", q.error},
          {"sql_bytes", q.sql_bytes},
          {"sql_sha256", q.sql_sha256},
          {"sql_truncated", q.sql_truncated()}};
}

nlohmann::json table_to_json(catalog::Catalog& catalog, const catalog::TableInfo& t, bool full) {
  auto columns_json = [](const std::vector<catalog::Column>& columns) {
    nlohmann::json out = nlohmann::json::array();
    for (const auto& c : columns) out.push_back({{"name", c.name}, {"type", catalog::glue_type(c.type)}});
    return out;
  };
  nlohmann::json out = {{"database", t.database},
                        {"name", t.name},
                        {"location", t.location()},
                        {"classification", std::string(catalog::classification(t.format))},
                        {"format", std::string(catalog::to_string(t.format))},
                        {"columns", columns_json(t.columns)},
                        {"partition_keys", t.partition_keys},
                        {"version", t.version},
                        {"crawler", t.crawler},
                        {"created", format_iso8601_utc(t.created)},
                        {"updated", format_iso8601_utc(t.updated)}};
  if (full) {
    nlohmann::json versions = nlohmann::json::array();
    for (const auto& v : catalog.versions(t.database, t.name)) {
      versions.push_back({{"version", v.version},
                          {"time", format_iso8601_utc(v.time)},
                          {"columns", columns_json(v.columns)},
                          {"partition_keys", v.partition_keys},
                          {"changes", v.changes}});
    }
    nlohmann::json partitions = nlohmann::json::array();
    for (const auto& p : catalog.partitions(t.database, t.name))
      partitions.push_back(
          {{"values", p.values}, {"location", p.location}, {"files", p.files}, {"bytes", p.bytes}});
    out["versions"] = versions;
    out["partitions"] = partitions;
  }
  return out;
}

namespace {

constexpr size_t kMaxRecordBytes = 1 << 20;    // Kinesis: 1 MiB per record
constexpr size_t kMaxRequestBytes = 5 << 20;   // and 5 MiB per PutRecords request
constexpr size_t kMaxRecordsPerRequest = 500;  // and 500 records

// POST /v1/streams/{stream}/records: one JSON record, a JSON array of records, or NDJSON. Either the
// whole request is written or nothing of it is.
server::HttpResponse put_records(Runtime& runtime, const std::string& name,
                                 const server::HttpRequest& request) {
  if (!runtime.pipeline().find_stream(name)) return error_response(404, "no stream named \"" + name + "\"");
  if (request.body.size() > kMaxRequestBytes) {
    return error_response(413, "the request is " + std::to_string(request.body.size()) +
                                   " bytes; at most 5 MiB (5242880 bytes) per request");
  }
  std::string key_header;
  if (auto it = request.headers.find("X-Partition-Key"); it != request.headers.end()) key_header = it->second;
  if (auto it = request.query.find("partition_key"); it != request.query.end()) key_header = it->second;
  std::string key_field;
  if (auto it = request.query.find("partition_key_field"); it != request.query.end()) key_field = it->second;
  if (key_header.size() > 256) return error_response(400, "the partition key is longer than 256 bytes");

  simdjson::dom::parser parser;
  std::vector<stream::PutRecord> records;
  auto add = [&](simdjson::dom::element element, size_t index) -> std::optional<server::HttpResponse> {
    if (records.size() >= kMaxRecordsPerRequest) {
      return error_response(413,
                            "more than 500 records in one request (record " + std::to_string(index) + ")");
    }
    stream::PutRecord record;
    record.data = simdjson::minify(element);
    if (record.data.size() > kMaxRecordBytes) {
      return error_response(413, "record " + std::to_string(index) + " is " +
                                     std::to_string(record.data.size()) +
                                     " bytes; at most 1 MiB (1048576 bytes) per record");
    }
    if (!key_field.empty()) {
      simdjson::dom::element field;
      auto key = json::at_path(element, key_field, field) ? json::scalar_text(field) : std::nullopt;
      if (!key || key->empty() || key->size() > 256) {
        return error_response(400, "record " + std::to_string(index) + " has no partition key field \"" +
                                       key_field + "\" (a string or number of 1 to 256 bytes)");
      }
      record.partition_key = *key;
    } else if (!key_header.empty()) {
      record.partition_key = key_header;
    } else {
      record.partition_key = storage::md5_hex(record.data);  // spreads records over the shards
    }
    records.push_back(std::move(record));
    return std::nullopt;
  };
  const auto first = request.body.find_first_not_of(" \t\r\n");
  if (first == std::string::npos) return error_response(400, "the body is empty; expected JSON records");
  simdjson::padded_string body(request.body);
  if (request.body[first] == '[') {
    simdjson::dom::element root;
    if (auto error = parser.parse(body).get(root)) {
      return error_response(400,
                            std::string("the body is not valid JSON: ") + simdjson::error_message(error));
    }
    simdjson::dom::array array;
    if (root.get_array().get(array)) return error_response(400, "expected a JSON array of records");
    size_t index = 0;
    for (simdjson::dom::element element : array) {
      if (auto failure = add(element, index++)) return *failure;
    }
  } else {
    simdjson::dom::document_stream documents;
    if (auto error = parser.parse_many(body, std::max<size_t>(body.size(), 1 << 20)).get(documents)) {
      return error_response(400,
                            std::string("the body is not valid JSON: ") + simdjson::error_message(error));
    }
    size_t index = 0;
    for (auto it = documents.begin(); it != documents.end(); ++it) {
      simdjson::dom::element element;
      if (auto error = (*it).get(element)) {
        return error_response(400, "record " + std::to_string(index) + " (byte " +
                                       std::to_string(it.current_index()) +
                                       ") is not valid JSON: " + simdjson::error_message(error));
      }
      if (auto failure = add(element, index++)) return *failure;
    }
    if (documents.truncated_bytes() > 0) {
      return error_response(400, "record " + std::to_string(index) + " (byte " +
                                     std::to_string(request.body.size() - documents.truncated_bytes()) +
                                     ") is incomplete JSON");
    }
  }
  if (records.empty()) return error_response(400, "no records in the body");
  try {
    auto results = runtime.put_records(name, records);
    nlohmann::json out = nlohmann::json::array();
    for (const auto& r : results)
      out.push_back({{"shard_id", r.shard_id}, {"sequence_number", r.sequence_number}});
    return json_response(200, {{"stream", name}, {"failed_record_count", 0}, {"records", out}});
  } catch (const stream::Throttled& e) {
    auto response = error_response(503, std::string(e.what()) + "; retry later");
    response.headers["Retry-After"] = "1";
    return response;
  }
}

nlohmann::json describe_stream(const stream::Stream& s) {
  nlohmann::json shards = nlohmann::json::array();
  for (const auto& shard : s.describe().shards) {
    shards.push_back(
        {{"shard_id", shard.shard_id},
         {"starting_hash_key", shard.starting_hash_key},
         {"ending_hash_key", shard.ending_hash_key},
         {"first_sequence_number", shard.first_sequence_number ? nlohmann::json(*shard.first_sequence_number)
                                                               : nlohmann::json(nullptr)},
         {"last_sequence_number",
          shard.last_sequence_number ? nlohmann::json(*shard.last_sequence_number) : nlohmann::json(nullptr)},
         {"bytes", shard.bytes},
         {"segments", shard.segments}});
  }
  return {{"stream", s.name()}, {"shards", shards}};
}

// GET /v1/streams/{stream}/records?shard=ID&from=trim_horizon|latest|at:SEQ|after:SEQ|SEQ|ISO-TIME&limit=N
server::HttpResponse get_records(Runtime& runtime, const std::string& name,
                                 const server::HttpRequest& request) {
  if (!runtime.pipeline().find_stream(name)) return error_response(404, "no stream named \"" + name + "\"");
  auto& s = runtime.stream(name);
  const auto shards = s.describe().shards;
  std::string shard;
  if (auto it = request.query.find("shard"); it != request.query.end()) {
    shard = it->second;
  } else if (shards.size() == 1) {
    shard = shards[0].shard_id;
  } else {
    return error_response(
        400, "the stream has " + std::to_string(shards.size()) + " shards: give ?shard=shardId-...");
  }
  std::string from = "trim_horizon";
  std::string consumer;
  if (auto it = request.query.find("consumer"); it != request.query.end()) {
    // A named consumer resumes after its checkpoint unless `from` says otherwise.
    consumer = it->second;
    if (auto checkpoint = runtime.checkpoints().load(name, consumer, shard)) from = "after:" + *checkpoint;
  }
  if (auto it = request.query.find("from"); it != request.query.end()) from = it->second;
  int limit = 1000;
  if (auto bad = limit_of(request, limit)) return *bad;
  stream::StartingPosition start;
  if (from == "trim_horizon") {
    start = stream::StartingPosition::trim_horizon();
  } else if (from == "latest") {
    start = stream::StartingPosition::latest();
  } else if (from.rfind("after:", 0) == 0) {
    start = stream::StartingPosition::after_sequence_number(from.substr(6));
  } else if (from.rfind("at:", 0) == 0) {
    start = stream::StartingPosition::at_sequence_number(from.substr(3));
  } else if (auto t = parse_iso8601_utc(from)) {
    start = stream::StartingPosition::at_timestamp(*t);
  } else if (!from.empty() && std::all_of(from.begin(), from.end(), [](char c) {
               return std::isdigit(static_cast<unsigned char>(c));
             })) {
    start = stream::StartingPosition::at_sequence_number(from);
  } else {
    return error_response(400,
                          "from must be trim_horizon, latest, a sequence number, at:SEQ, after:SEQ or an "
                          "ISO-8601 UTC time, got \"" +
                              from + "\"");
  }
  try {
    auto read = s.read(s.position(shard, start), static_cast<size_t>(limit));
    nlohmann::json records = nlohmann::json::array();
    for (const auto& r : read.records) {
      records.push_back({{"sequence_number", r.sequence_number},
                         {"arrival", format_iso8601_utc(r.arrival)},
                         {"partition_key", r.partition_key},
                         {"data", r.data}});
    }
    const std::string next = read.records.empty() ? from : "after:" + read.records.back().sequence_number;
    return json_response(200, {{"stream", name},
                               {"shard_id", shard},
                               {"records", records},
                               {"next", next},
                               {"behind_latest", read.behind_latest}});
  } catch (const stream::Trimmed& e) {
    return error_response(410, e.what());
  } catch (const Error& e) {
    return error_response(400, e.what());
  }
}

// POST /v1/streams/{stream}/checkpoints/{consumer} {"shard_id": ..., "sequence_number": ...}: a named
// consumer records what it has processed; GET .../checkpoints/{consumer} shows them per shard.
server::HttpResponse checkpoint(Runtime& runtime, const std::string& name, const std::string& consumer,
                                const server::HttpRequest& request) {
  if (!runtime.pipeline().find_stream(name)) return error_response(404, "no stream named \"" + name + "\"");
  if (consumer.empty() || consumer.size() > 128)
    return error_response(400, "a consumer name has 1 to 128 characters");
  auto& s = runtime.stream(name);
  if (request.method == "GET") {
    nlohmann::json out = nlohmann::json::object();
    for (const auto& shard : s.describe().shards) {
      auto c = runtime.checkpoints().load(name, consumer, shard.shard_id);
      out[shard.shard_id] = c ? nlohmann::json(*c) : nlohmann::json(nullptr);
    }
    return json_response(200, {{"stream", name}, {"consumer", consumer}, {"checkpoints", out}});
  }
  if (request.method != "POST") return error_response(405, "use POST (save) or GET (show)");
  nlohmann::json body;
  try {
    body = parse_json_limited(request.body);
  } catch (const Error& e) {
    return error_response(
        400,
        std::string(e.what()) + "; expected {\"shard_id\": \"shardId-...\", \"sequence_number\": \"...\"}");
  }
  if (!body.is_object() || !body.value("shard_id", nlohmann::json()).is_string() ||
      !body.value("sequence_number", nlohmann::json()).is_string())
    return error_response(400, "expected {\"shard_id\": \"shardId-...\", \"sequence_number\": \"...\"}");
  const std::string shard = body["shard_id"], sequence = body["sequence_number"];
  try {
    s.position(shard, stream::StartingPosition::at_sequence_number(sequence));  // a record of that shard
  } catch (const stream::Trimmed&) {
    // Older than retention: still a valid place to have got to.
  } catch (const Error& e) {
    return error_response(400, e.what());
  }
  runtime.checkpoints().save(name, consumer, shard, sequence);
  return json_response(
      200, {{"stream", name}, {"consumer", consumer}, {"shard_id", shard}, {"sequence_number", sequence}});
}

// POST /v1/query {"sql", "database" (optional), "max_rows" (optional)}: runs the query, cancelled when
// the client leaves; answers the first max_rows rows (the CSV result has every row).
server::HttpResponse run_query(Runtime& runtime, const server::HttpRequest& request) {
  nlohmann::json body;
  try {
    body = parse_json_limited(request.body);
  } catch (const Error& e) {
    return error_response(400, e.what());
  }
  if (!body.is_object() || !body.contains("sql") || !body["sql"].is_string()) {
    return error_response(
        400,
        "expected {\"sql\": \"SELECT ...\", \"database\": \"...\" (optional), \"max_rows\": N (optional)}");
  }
  query::RunOptions options;
  if (body.contains("database") && body["database"].is_string()) options.database = body["database"];
  if (body.contains("max_rows")) {
    if (!body["max_rows"].is_number_unsigned() || body["max_rows"].get<uint64_t>() > 10000)
      return error_response(400, "max_rows must be an integer from 0 to 10000");
    options.max_inline_rows = body["max_rows"].get<size_t>();
  }
  options.cancel = request.client_gone;
  options.cancelled_by = "the client (it disconnected)";
  try {
    return json_response(200, query_result_to_json(runtime.query(body["sql"].get<std::string>(), options)));
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

// /v1/queries/{id}: GET the history record, DELETE to cancel it while it runs; /v1/queries/{id}/results
// pages its saved result (?next_token=&max_rows=), /v1/queries/{id}/results.csv streams the CSV.
server::HttpResponse query_endpoint(Runtime& runtime, const std::string& rest,
                                    const server::HttpRequest& request) {
  const auto slash = rest.find('/');
  const std::string id = rest.substr(0, slash);
  const std::string sub = slash == std::string::npos ? "" : rest.substr(slash + 1);
  if (!query::is_query_id(id)) return error_response(404, "no query with id \"" + id.substr(0, 64) + "\"");
  auto& engine = runtime.queries();
  if (sub.empty()) {
    if (request.method == "DELETE") {
      if (engine.cancel(id, "DELETE /v1/queries/" + id))
        return json_response(200, {{"query_id", id}, {"cancelled", true}});
      auto record = runtime.query_record(id);
      if (!record) return error_response(404, "no query with id \"" + id + "\"");
      return error_response(409, "query " + id + " is not running (it is " + record->state + ")");
    }
    if (request.method != "GET") return error_response(405, "use GET (status) or DELETE (cancel)");
    auto record = runtime.query_record(id);
    if (!record) return error_response(404, "no query with id \"" + id + "\"");
    return json_response(200, query_record_to_json(*record));
  }
  if (request.method != "GET") return error_response(405, "use GET");
  if (sub == "results") {
    int max_rows = 1000;
    if (auto it = request.query.find("max_rows"); it != request.query.end()) {
      auto [end, ec] = std::from_chars(it->second.data(), it->second.data() + it->second.size(), max_rows);
      if (ec != std::errc() || end != it->second.data() + it->second.size() || max_rows < 1 ||
          max_rows > 10000)
        return error_response(400, "max_rows must be an integer from 1 to 10000, got \"" + it->second + "\"");
    }
    const auto token = request.query.count("next_token") ? request.query.at("next_token") : std::string();
    try {
      auto page = engine.read_results(id, token, static_cast<size_t>(max_rows));
      nlohmann::json rows = nlohmann::json::array();
      for (const auto& row : page.rows) {
        nlohmann::json values = nlohmann::json::array();
        for (const auto& v : row) values.push_back(v ? nlohmann::json(*v) : nlohmann::json(nullptr));
        rows.push_back(std::move(values));
      }
      return json_response(200, {{"query_id", id},
                                 {"columns", page.columns},
                                 {"rows", rows},
                                 {"next_token", page.next_token.empty() ? nlohmann::json(nullptr)
                                                                        : nlohmann::json(page.next_token)}});
    } catch (const storage::NotFound& e) {
      return error_response(410, std::string("the result of query ") + id + " is gone: " + e.what());
    } catch (const Error& e) {
      return error_response(400, e.what());
    }
  }
  if (sub == "results.csv") {
    auto record = runtime.query_record(id);
    if (!record) return error_response(404, "no query with id \"" + id + "\"");
    if (record->state != "SUCCEEDED" || record->output.rfind("s3://", 0) != 0)
      return error_response(400, "query " + id + " has no saved result (it is " + record->state + ")");
    const std::string location = record->output.substr(5);
    const std::string bucket = location.substr(0, location.find('/'));
    const std::string key = location.substr(bucket.size() + 1);
    auto info = runtime.objects().head(bucket, key);
    if (!info) return error_response(410, "the result of query " + id + " is gone: " + record->output);
    server::HttpResponse response;
    response.headers["Content-Type"] = "text/csv";
    // Read and sent 1 MiB at a time: memory does not grow with the result.
    response.stream = [&runtime, bucket, key, size = info->size](server::BodyWriter& out) {
      for (uint64_t at = 0; at < size; at += 1 << 20)
        if (!out.write(runtime.objects().get_range(bucket, key, at, 1 << 20))) return;
    };
    return response;
  }
  return error_response(404, "no such endpoint: " + request.method + " " + request.path);
}

// GET /v1/processors/{name}/quarantine: the inputs a processor quarantined and why;
// POST /v1/processors/{name}/reprocess {"keys": [...]} (optional): process them again.
server::HttpResponse processor_endpoint(Runtime& runtime, const std::string& rest,
                                        const server::HttpRequest& request) {
  const auto slash = rest.find('/');
  const std::string name = rest.substr(0, slash);
  const std::string action = slash == std::string::npos ? "" : rest.substr(slash + 1);
  if (!runtime.pipeline().find_processor(name))
    return error_response(404, "no processor named \"" + name + "\"");
  if (action == "quarantine") {
    if (request.method != "GET") return error_response(405, "use GET");
    nlohmann::json out = nlohmann::json::array();
    for (const auto& f : runtime.quarantined(name))
      out.push_back({{"input", "s3://" + f.event.bucket + "/" + f.event.key},
                     {"reason", f.reason},
                     {"attempts", f.attempts}});
    return json_response(200, out);
  }
  if (action == "reprocess") {
    if (request.method != "POST") return error_response(405, "use POST");
    std::vector<std::string> keys;
    if (request.body.find_first_not_of(" \t\r\n") != std::string::npos) {
      nlohmann::json body;
      try {
        body = parse_json_limited(request.body);
      } catch (const Error& e) {
        return error_response(400, e.what());
      }
      const auto bad =
          error_response(400, "expected {\"keys\": [\"raw/...\", ...]} or no body (every quarantined input)");
      if (!body.is_object() || (body.contains("keys") && !body["keys"].is_array())) return bad;
      for (const auto& k : body.value("keys", nlohmann::json::array())) {
        if (!k.is_string()) return bad;
        keys.push_back(k);
      }
    }
    try {
      return json_response(200, {{"processor", name}, {"reprocessing", runtime.reprocess(name, keys)}});
    } catch (const Error& e) {
      return error_response(400, e.what());
    }
  }
  return error_response(404, "no such endpoint: " + request.method + " " + request.path);
}

}  // namespace

struct Api::Impl {
  Runtime& runtime;
  std::unique_ptr<server::HttpServer> http;
  std::string token;  // empty: no authentication (loopback only)

  server::HttpResponse handle(const server::HttpRequest& request) {
    const std::string& path = request.path;
    if (!token.empty() && !(path == "/v1/health" && request.method == "GET")) {
      auto it = request.headers.find("Authorization");
      const std::string presented = it == request.headers.end() ? "" : it->second;
      const std::string expected = "Bearer " + token;
      // Compared in constant time: the comparison must not tell how much of a guess was right.
      unsigned char diff = presented.size() == expected.size() ? 0 : 1;
      for (size_t i = 0; i < expected.size(); ++i)
        diff |= static_cast<unsigned char>(expected[i] ^ (i < presented.size() ? presented[i] : 0));
      if (diff != 0) {
        auto response = error_response(401, "missing or wrong credentials: send Authorization: Bearer TOKEN");
        response.headers["WWW-Authenticate"] = "Bearer";
        return response;
      }
    }
    if (path == "/v1/health") {
      if (request.method != "GET") return error_response(405, "use GET");
      return json_response(200, {{"status", "ok"}});
    }
    if (path == "/v1/runs") {
      if (request.method != "GET") return error_response(405, "use GET");
      int limit = 20;
      if (auto bad = limit_of(request, limit)) return *bad;
      nlohmann::json out = nlohmann::json::array();
      for (const auto& run : runtime.recent_runs(limit)) out.push_back(run_to_json(run));
      return json_response(200, out);
    }
    constexpr std::string_view kTrigger = "/v1/trigger/";
    if (path.rfind(kTrigger, 0) == 0) {
      if (request.method != "POST") return error_response(405, "use POST");
      const std::string name = path.substr(kTrigger.size());
      if (!runtime.pipeline().find_schedule(name) && !runtime.pipeline().find_source(name) &&
          !runtime.pipeline().find_crawler(name)) {
        return error_response(404, "no schedule, source or crawler named \"" + name + "\"");
      }
      auto runs = runtime.trigger(name);
      nlohmann::json out = nlohmann::json::array();
      bool ok = true;
      for (const auto& run : runs) {
        out.push_back(summary_to_json(run));
        ok = ok && run.status == "succeeded";
      }
      return json_response(ok ? 200 : 502, {{"runs", out}});
    }
    constexpr std::string_view kStreams = "/v1/streams/";
    if (path.rfind(kStreams, 0) == 0 && path.size() > kStreams.size() + 8 &&
        path.compare(path.size() - 8, 8, "/records") == 0) {
      const std::string name = path.substr(kStreams.size(), path.size() - kStreams.size() - 8);
      if (request.method == "GET") return get_records(runtime, name, request);
      if (request.method != "POST") return error_response(405, "use POST (put) or GET (read)");
      return put_records(runtime, name, request);
    }
    if (const auto at = path.find("/checkpoints/");
        path.rfind(kStreams, 0) == 0 && at != std::string::npos && path.find('/', kStreams.size()) == at) {
      return checkpoint(runtime, path.substr(kStreams.size(), at - kStreams.size()), path.substr(at + 13),
                        request);
    }
    if (path.rfind(kStreams, 0) == 0 && path.find('/', kStreams.size()) == std::string::npos) {
      if (request.method != "GET") return error_response(405, "use GET");
      const std::string name = path.substr(kStreams.size());
      if (!runtime.pipeline().find_stream(name))
        return error_response(404, "no stream named \"" + name + "\"");
      return json_response(200, describe_stream(runtime.stream(name)));
    }
    if (path == "/v1/query") {
      if (request.method != "POST") return error_response(405, "use POST");
      return run_query(runtime, request);
    }
    if (path == "/v1/queries") {
      if (request.method != "GET") return error_response(405, "use GET");
      int limit = 20;
      if (auto bad = limit_of(request, limit)) return *bad;
      nlohmann::json out = nlohmann::json::array();
      for (const auto& q : runtime.query_history(limit)) out.push_back(query_record_to_json(q));
      return json_response(200, out);
    }
    constexpr std::string_view kQueries = "/v1/queries/";
    if (path.rfind(kQueries, 0) == 0) return query_endpoint(runtime, path.substr(kQueries.size()), request);
    constexpr std::string_view kProcessors = "/v1/processors/";
    if (path.rfind(kProcessors, 0) == 0)
      return processor_endpoint(runtime, path.substr(kProcessors.size()), request);
    constexpr std::string_view kCatalog = "/v1/catalog/databases";
    if (path.rfind(kCatalog, 0) == 0) {
      if (request.method != "GET") return error_response(405, "use GET");
      auto& catalog = runtime.catalog();
      std::vector<std::string> parts;
      for (size_t at = kCatalog.size(); at < path.size();) {
        if (path[at] != '/') return error_response(404, "no such endpoint: GET " + path);
        const auto next = path.find('/', at + 1);
        parts.push_back(path.substr(at + 1, next == std::string::npos ? std::string::npos : next - at - 1));
        at = next == std::string::npos ? path.size() : next;
      }
      if (parts.empty()) return json_response(200, catalog.databases());
      const auto dbs = catalog.databases();
      if (std::find(dbs.begin(), dbs.end(), parts[0]) == dbs.end())
        return error_response(404, "no database named \"" + parts[0] + "\"");
      if (parts.size() == 2 && parts[1] == "tables") {
        nlohmann::json out = nlohmann::json::array();
        for (const auto& t : catalog.tables(parts[0])) out.push_back(table_to_json(catalog, t, false));
        return json_response(200, out);
      }
      if (parts.size() == 3 && parts[1] == "tables") {
        auto t = catalog.table(parts[0], parts[2]);
        if (!t)
          return error_response(404, "no table named \"" + parts[2] + "\" in database \"" + parts[0] + "\"");
        return json_response(200, table_to_json(catalog, *t, true));
      }
    }
    return error_response(404, "no such endpoint: " + request.method + " " + path);
  }
};

Api::Api(Runtime& runtime) : impl_(std::make_unique<Impl>(Impl{runtime, nullptr, {}})) {
  const auto& server = runtime.pipeline().server;
  if (!server.token_env.empty()) {
    const char* token = std::getenv(server.token_env.c_str());
    if (!token || std::strlen(token) < 16) {
      throw Error("server.auth.token_env names " + server.token_env +
                  ", which is not set to a token of at least 16 characters");
    }
    impl_->token = token;
  }
  if (!is_loopback(server.host) && impl_->token.empty()) {
    throw Error("server.host " + server.host +
                " is not a loopback address: sluice listens elsewhere only with credentials; set "
                "server.auth.token_env");
  }
  server::HttpServerOptions options;
  options.host = server.host;
  options.port = static_cast<uint16_t>(server.port);
  options.max_connections = static_cast<size_t>(server.max_connections);
  options.max_connections_per_client = static_cast<size_t>(server.max_connections_per_client);
  options.handler_threads = static_cast<size_t>(server.handler_threads);
  options.header_timeout = server.header_timeout;
  options.body_timeout = server.body_timeout;
  options.idle_timeout = server.idle_timeout;
  options.write_timeout = server.write_timeout;
  impl_->http =
      std::make_unique<server::HttpServer>(options, [impl = impl_.get()](const server::HttpRequest& request) {
        try {
          return impl->handle(request);
        } catch (const SystemError& e) {
          // The system's own failure (disk full, I/O error): nothing of the request was done; retry.
          auto response = error_response(503, std::string(e.what()) + "; retry later");
          response.headers["Retry-After"] = "1";
          return response;
        }
      });
  impl_->http->start();
}

Api::~Api() { stop(); }

int Api::port() const { return impl_->http->port(); }

void Api::stop() {
  if (impl_ && impl_->http) impl_->http->stop();
}

}  // namespace sluice::daemon
