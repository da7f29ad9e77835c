#include "daemon/json_shapes.h"

#include "catalog/catalog.h"
#include "metastore/run_log.h"
#include "stream/stream.h"

namespace sluice::daemon {

nlohmann::json time_or_null(const std::optional<TimePoint>& t) {
  return t ? nlohmann::json(format_iso8601_utc(*t)) : nlohmann::json(nullptr);
}

nlohmann::json run_to_json(const metastore::RunRecord& r) {
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
  return {{"run_id", r.run_id},   {"source", r.name}, {"status", std::string(metastore::to_string(r.status))},
          {"records", r.records}, {"bytes", r.bytes}, {"object", r.object},
          {"error", r.error}};
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
          {"ended", time_or_null(q.ended)},
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

nlohmann::json stream_to_json(const stream::Stream& s) {
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

}  // namespace sluice::daemon
