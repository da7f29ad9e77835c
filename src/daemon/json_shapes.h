// The JSON shapes of what the native API answers and the CLI prints (`--format json`): one place, so
// that `sluice runs --format json` and GET /v1/runs cannot differ.
#pragma once

#include <nlohmann/json.hpp>

#include "daemon/runtime.h"
#include "query/engine.h"
#include "query/query_log.h"

namespace sluice::metastore {
struct RunRecord;
}
namespace sluice::catalog {
class Catalog;
struct TableInfo;
}  // namespace sluice::catalog
namespace sluice::stream {
class Stream;
}

namespace sluice::daemon {

// A time as the API writes it (ISO-8601 UTC with milliseconds), or null.
nlohmann::json time_or_null(const std::optional<TimePoint>& t);

nlohmann::json run_to_json(const metastore::RunRecord& run);
nlohmann::json summary_to_json(const RunSummary& run);
nlohmann::json query_result_to_json(const query::QueryResult& result);
nlohmann::json query_record_to_json(const query::QueryRecord& record);
// A table as `sluice catalog describe` and the API show it; with versions and partitions when `full`.
nlohmann::json table_to_json(catalog::Catalog& catalog, const catalog::TableInfo& table, bool full);
// A stream's shards: id, hash-key range, first and last sequence numbers, bytes, segments.
nlohmann::json stream_to_json(const stream::Stream& stream);

}  // namespace sluice::daemon
