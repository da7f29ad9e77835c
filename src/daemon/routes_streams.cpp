#include <algorithm>

#include "daemon/http_json.h"
#include "daemon/json_shapes.h"
#include "daemon/routes.h"
#include "ingest/ingest.h"
#include "stream/stream.h"

namespace sluice::daemon {
namespace {

// The stream a route names — declared or created at run time, kept alive while the request uses it
// even if it is deleted meanwhile; nullptr after setting `missing` to the 404.
std::shared_ptr<stream::Stream> find_stream(Runtime& runtime, const std::string& name,
                                            server::HttpResponse& missing) {
  try {
    return runtime.streams().share(name);
  } catch (const stream::StreamNotFound&) {
    missing = error_response(404, "no stream named \"" + name + "\"");
    return nullptr;
  }
}

// POST /v1/streams/{stream}/records: one JSON record, a JSON array of records, or NDJSON, with
// Kinesis's limits (src/ingest). Either the whole request is written or nothing of it is.
server::HttpResponse put_records(Runtime& runtime, const server::RouteRequest& r) {
  const std::string& name = r.param("stream");
  server::HttpResponse missing;
  auto target = find_stream(runtime, name, missing);
  if (!target) return missing;
  ingest::KeyOptions keys;
  if (auto it = r.http.headers.find("X-Partition-Key"); it != r.http.headers.end())
    keys.partition_key = it->second;
  if (auto it = r.http.query.find("partition_key"); it != r.http.query.end()) keys.partition_key = it->second;
  if (auto it = r.http.query.find("partition_key_field"); it != r.http.query.end())
    keys.partition_key_field = it->second;
  std::vector<stream::PutRecord> records;
  try {
    records = ingest::parse_records(r.http.body, keys);
  } catch (const ingest::Rejected& e) {
    return error_response(e.http_status(), e.what());
  }
  try {
    nlohmann::json out = nlohmann::json::array();
    const auto results = target->put(records);
    runtime.count_put(name, records, results);
    for (const auto& result : results)
      out.push_back({{"shard_id", result.shard_id}, {"sequence_number", result.sequence_number}});
    return json_response(200, {{"stream", name}, {"failed_record_count", 0}, {"records", out}});
  } catch (const stream::StreamNotFound& e) {
    return error_response(404, e.what());  // deleted while the request ran
  } catch (const stream::Throttled& e) {
    auto response = error_response(503, std::string(e.what()) + "; retry later");
    response.headers["Retry-After"] = "1";
    return response;
  }
}

// `from` of GET .../records: trim_horizon, latest, after:SEQ, at:SEQ, an ISO-8601 UTC time, or a
// bare sequence number (at).
std::optional<stream::StartingPosition> starting_position(const std::string& from) {
  if (from == "trim_horizon") return stream::StartingPosition::trim_horizon();
  if (from == "latest") return stream::StartingPosition::latest();
  if (from.rfind("after:", 0) == 0) return stream::StartingPosition::after_sequence_number(from.substr(6));
  if (from.rfind("at:", 0) == 0) return stream::StartingPosition::at_sequence_number(from.substr(3));
  if (auto t = parse_iso8601_utc(from)) return stream::StartingPosition::at_timestamp(*t);
  if (!from.empty() && std::all_of(from.begin(), from.end(),
                                   [](char c) { return std::isdigit(static_cast<unsigned char>(c)); }))
    return stream::StartingPosition::at_sequence_number(from);
  return std::nullopt;
}

// GET /v1/streams/{stream}/records?shard=ID&from=...&limit=N&consumer=NAME
server::HttpResponse get_records(Runtime& runtime, const server::RouteRequest& r) {
  const std::string& name = r.param("stream");
  server::HttpResponse bad;
  auto s = find_stream(runtime, name, bad);
  if (!s) return bad;
  const auto shards = s->describe().shards;
  std::string shard;
  if (auto it = r.http.query.find("shard"); it != r.http.query.end()) {
    shard = it->second;
  } else if (shards.size() == 1) {
    shard = shards[0].shard_id;
  } else {
    return error_response(
        400, "the stream has " + std::to_string(shards.size()) + " shards: give ?shard=shardId-...");
  }
  std::string from = "trim_horizon";
  if (auto it = r.http.query.find("consumer"); it != r.http.query.end()) {
    // A named consumer resumes after its checkpoint unless `from` says otherwise.
    if (auto checkpoint = runtime.checkpoints().load(name, it->second, shard)) from = "after:" + *checkpoint;
  }
  if (auto it = r.http.query.find("from"); it != r.http.query.end()) from = it->second;
  auto limit = int_param(r.http, "limit", 1000, 100000, bad);
  if (!limit) return bad;
  auto start = starting_position(from);
  if (!start) {
    return error_response(400,
                          "from must be trim_horizon, latest, a sequence number, at:SEQ, after:SEQ or an "
                          "ISO-8601 UTC time, got \"" +
                              from + "\"");
  }
  try {
    auto read = s->read(s->position(shard, *start), static_cast<size_t>(*limit));
    nlohmann::json records = nlohmann::json::array();
    for (const auto& record : read.records) {
      records.push_back({{"sequence_number", record.sequence_number},
                         {"arrival", format_iso8601_utc(record.arrival)},
                         {"partition_key", record.partition_key},
                         {"data", record.data}});
    }
    const std::string next = read.records.empty() ? from : "after:" + read.records.back().sequence_number;
    return json_response(200, {{"stream", name},
                               {"shard_id", shard},
                               {"records", records},
                               {"next", next},
                               {"behind_latest", read.behind_latest}});
  } catch (const stream::Trimmed& e) {
    return error_response(410, e.what());
  } catch (const SystemError&) {
    throw;
  } catch (const Error& e) {
    return error_response(400, e.what());
  }
}

// GET /v1/streams/{stream}/checkpoints/{consumer}: a named consumer's checkpoint per shard.
server::HttpResponse show_checkpoints(Runtime& runtime, const server::RouteRequest& r) {
  const std::string &name = r.param("stream"), &consumer = r.param("consumer");
  server::HttpResponse bad;
  auto s = find_stream(runtime, name, bad);
  if (!s) return bad;
  nlohmann::json out = nlohmann::json::object();
  for (const auto& shard : s->describe().shards) {
    auto c = runtime.checkpoints().load(name, consumer, shard.shard_id);
    out[shard.shard_id] = c ? nlohmann::json(*c) : nlohmann::json(nullptr);
  }
  return json_response(200, {{"stream", name}, {"consumer", consumer}, {"checkpoints", out}});
}

// POST /v1/streams/{stream}/checkpoints/{consumer} {"shard_id", "sequence_number"}: what a named
// consumer has processed.
server::HttpResponse save_checkpoint(Runtime& runtime, const server::RouteRequest& r) {
  const std::string &name = r.param("stream"), &consumer = r.param("consumer");
  server::HttpResponse bad;
  auto s = find_stream(runtime, name, bad);
  if (!s) return bad;
  if (consumer.size() > 128) return error_response(400, "a consumer name has 1 to 128 characters");
  const std::string expected = "{\"shard_id\": \"shardId-...\", \"sequence_number\": \"...\"}";
  auto body = json_body(r.http, expected, bad);
  if (!body) return bad;
  if (!body->is_object() || !body->contains("shard_id") || !(*body)["shard_id"].is_string() ||
      !body->contains("sequence_number") || !(*body)["sequence_number"].is_string())
    return error_response(400, "expected " + expected);
  const std::string shard = (*body)["shard_id"], sequence = (*body)["sequence_number"];
  try {
    s->position(shard, stream::StartingPosition::at_sequence_number(sequence));  // a record of that shard
  } catch (const stream::Trimmed&) {
    // Older than retention: still a valid place to have got to.
  } catch (const SystemError&) {
    throw;
  } catch (const Error& e) {
    return error_response(400, e.what());
  }
  runtime.checkpoints().save(name, consumer, shard, sequence);
  return json_response(
      200, {{"stream", name}, {"consumer", consumer}, {"shard_id", shard}, {"sequence_number", sequence}});
}

}  // namespace

void add_stream_routes(server::RouteGroup& native, Runtime& runtime) {
  native.route("GET", "/v1/streams/{stream}", [&runtime](const server::RouteRequest& r) {
    server::HttpResponse missing;
    auto s = find_stream(runtime, r.param("stream"), missing);
    return s ? json_response(200, stream_to_json(*s)) : missing;
  });
  native.route("POST", "/v1/streams/{stream}/records",
               [&runtime](const server::RouteRequest& r) { return put_records(runtime, r); });
  native.route("GET", "/v1/streams/{stream}/records",
               [&runtime](const server::RouteRequest& r) { return get_records(runtime, r); });
  native.route("GET", "/v1/streams/{stream}/checkpoints/{consumer}",
               [&runtime](const server::RouteRequest& r) { return show_checkpoints(runtime, r); });
  native.route("POST", "/v1/streams/{stream}/checkpoints/{consumer}",
               [&runtime](const server::RouteRequest& r) { return save_checkpoint(runtime, r); });
}

}  // namespace sluice::daemon
