// The Athena wire API (JSON 1.1, X-Amz-Target "AmazonAthena.*") over the query engine: queries are
// submitted to a query::QueryQueue (the bounded pool that runs them asynchronously) and read back
// from the query history and the result CSV, the same object the native API writes.
//
// Operations: StartQueryExecution (QueryExecutionContext, ResultConfiguration.OutputLocation,
// WorkGroup "primary", ClientRequestToken idempotency), GetQueryExecution, GetQueryResults (the header
// row first, ResultSetMetadata.ColumnInfo with Athena type names, NextToken/MaxResults <= 1000),
// StopQueryExecution, ListQueryExecutions (MaxResults <= 50), BatchGetQueryExecution (<= 50 ids); and
// the catalog and work group as Athena shows them (athena_metadata.h).
// Errors as Athena answers them: InvalidRequestException (with AthenaErrorCode), TooManyRequestsException
// when the queue is full, ResourceNotFoundException for an unknown work group.
#pragma once

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "query/engine.h"
#include "query/query_log.h"
#include "query/query_queue.h"
#include "server/router.h"

namespace sluice::aws {

inline constexpr std::string_view kAthenaTargetPrefix = "AmazonAthena";

// What the Athena API works on. Every member is required.
struct AthenaBackend {
  query::QueryEngine* engine = nullptr;      // cancels queries the queue did not start; its config
  catalog::Catalog* catalog = nullptr;       // databases and tables (ListDatabases, GetTableMetadata...)
  std::shared_ptr<query::QueryQueue> queue;  // runs StartQueryExecution's queries; kept alive by the routes
  // One query of the history by id (nullopt: none).
  std::function<std::optional<query::QueryRecord>(const std::string& id)> record;
  // The newest `limit` queries of the history, newest first.
  std::function<std::vector<query::QueryRecord>(int limit)> history;
  // Whether the object store has the bucket (an OutputLocation must name one).
  std::function<bool(const std::string& bucket)> has_bucket;
};

// Registers the Athena operations on `group` (an aws_json_errors() group). Throws
// std::invalid_argument when a member of `backend` is missing.
void add_athena_routes(server::RouteGroup& group, AthenaBackend backend);

// Athena's name for the type of a result column, from DuckDB's ("BIGINT" -> "bigint", "VARCHAR" ->
// "varchar", "INTEGER" -> "integer", "STRUCT(...)" -> "row", "X[]" -> "array", "DECIMAL(p,s)" ->
// "decimal"); anything unknown is "varchar".
std::string athena_type(std::string_view duckdb_type);

}  // namespace sluice::aws
