// QueryEngine: the Athena of sluice. Read-only SQL (DuckDB) over the tables of the Catalog:
//   - every catalog table a query names appears as db.table (and as a bare name for the default
//     database), a view over exactly the table's catalogued files: JSON read with the catalogued
//     column types (keys matched as they appear in the data, shown lower-cased), Parquet and CSV by
//     name; partition keys are string columns;
//   - conditions on partition keys prune files before DuckDB sees them (planner.h), and the bytes of
//     the files left are the query's "bytes scanned";
//   - each query gets an id (a UUID); its result is saved as Athena does, <output>/<id>.csv with a
//     header row and every field in double quotes (NULL as an empty, unquoted field), and the query is
//     recorded in the history (QueryLog), failed ones with the error.
// Confinement: one SELECT per query (anything else is refused before it runs); the DuckDB instance
// may read only the object store's directory, cannot load extensions, and its configuration is
// locked, so `read_csv('/etc/passwd')`, COPY, ATTACH, INSTALL/LOAD, PRAGMA and SET all fail.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "catalog/catalog.h"
#include "common/error.h"
#include "query/query_log.h"

namespace sluice::storage {
class ObjectStore;
}

namespace sluice::query {

struct QueryConfig {
  std::string database = "default";  // for unqualified table names
  std::string output_bucket;         // empty: results are not saved
  std::string output_prefix;         // "athena/results/"
  int threads = 0;                   // DuckDB threads; 0: one per core
  std::string memory_limit;          // e.g. "2GB"; empty: DuckDB's default
};

struct QueryResult {
  std::string query_id;
  std::string database;
  std::vector<std::string> columns;
  std::vector<std::string> types;  // DuckDB type names
  std::vector<std::vector<std::optional<std::string>>> rows;
  uint64_t bytes_scanned = 0;
  std::string output;  // s3://bucket/prefix/<id>.csv, when saved
  int64_t planning_ms = 0;
  int64_t execution_ms = 0;
};

// A query that failed: refused, invalid, or failed in DuckDB. what() is the reason (DuckDB's message
// where it has one); the query is in the history as FAILED under query_id().
class QueryFailed : public Error {
 public:
  QueryFailed(std::string query_id, const std::string& message)
      : Error(message), query_id_(std::move(query_id)) {}
  const std::string& query_id() const { return query_id_; }

 private:
  std::string query_id_;
};

class QueryEngine {
 public:
  QueryEngine(QueryConfig config, catalog::Catalog& catalog, storage::ObjectStore& objects, QueryLog& log);

  // Runs one query. `database` overrides the default database for unqualified names.
  QueryResult run(std::string_view sql, const std::string& database = {});

 private:
  QueryConfig config_;
  catalog::Catalog& catalog_;
  storage::ObjectStore& objects_;
  QueryLog& log_;
};

// Athena's CSV: a header row, then every value in double quotes (quotes doubled), NULL as nothing.
std::string athena_csv(const std::vector<std::string>& columns,
                       const std::vector<std::vector<std::optional<std::string>>>& rows);

// The SQL that scans a table's files (exposed for tests and EXPLAIN-like tooling).
std::string table_scan_sql(const catalog::TableInfo& table, const std::vector<catalog::FileEntry>& files,
                           const storage::ObjectStore& objects);

// A random (version 4) UUID, the form of Athena's query ids.
std::string new_query_id();

}  // namespace sluice::query
