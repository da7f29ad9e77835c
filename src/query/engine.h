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
// Bounds: every query has a timeout and can be cancelled (a flag the caller sets, cancel(id),
// cancel_all()); DuckDB is interrupted and the query ends FAILED ("timed out") or CANCELLED. Rows are
// streamed chunk by chunk to the result CSV (through ObjectWriter, never whole in memory) and to an
// optional RowSink; only the first max_inline_rows are kept in QueryResult. The history keeps a
// bounded prefix of the SQL with its length and SHA-256; SQL over max_sql_bytes is refused unparsed.
// Confinement: one SELECT per query (anything else is refused before it runs); the DuckDB instance
// may read only the directories the object store hands files from (ObjectStore::readable_directories:
// the local store's root, or a remote store's cache), cannot load extensions, and its configuration
// is locked, so `read_csv('/etc/passwd')`, COPY, ATTACH, INSTALL/LOAD, PRAGMA and SET all fail.
// Objects reach DuckDB only through ObjectStore::open_readable, held for the query's duration.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "catalog/catalog.h"
#include "common/error.h"
#include "query/query_log.h"
#include "sql/duckdb.h"

namespace sluice::storage {
class ObjectStore;
class ReadableObject;
}  // namespace sluice::storage

namespace sluice::query {

namespace detail {
struct RunState;  // one running query, as cancel() and its watchdog see it (engine.cpp)
}

struct QueryConfig {
  std::string database = "default";  // for unqualified table names
  std::string output_bucket;         // empty: results are not saved
  std::string output_prefix;         // "athena/results/"
  int threads = 0;                   // DuckDB threads; 0: one per core
  std::string memory_limit;          // e.g. "2GB"; empty: DuckDB's default
  // Where DuckDB spills a sort or join larger than memory_limit: each query spills into its own
  // subdirectory <temp_directory>/<query id>, removed when the query ends. Empty: no spilling (such a
  // query fails with DuckDB's out-of-memory error).
  std::string temp_directory;
  std::chrono::milliseconds timeout = std::chrono::minutes(5);  // per query, from its start
  size_t max_inline_rows = 1000;                                // rows kept in QueryResult::rows
  size_t max_sql_bytes = 1 << 20;                               // longer SQL is refused unparsed
  size_t max_history_sql_bytes = 16 << 10;                      // prefix of the SQL kept in the history
};

struct QueryResult {
  std::string query_id;
  std::string database;
  std::vector<std::string> columns;
  std::vector<std::string> types;  // DuckDB type names
  // The first rows (at most the run's max_inline_rows); the saved CSV has every row.
  std::vector<std::vector<std::optional<std::string>>> rows;
  uint64_t row_count = 0;  // every row of the result
  bool truncated = false;  // row_count > rows.size()
  uint64_t bytes_scanned = 0;
  std::string output;  // s3://bucket/prefix/<id>.csv, when saved
  int64_t planning_ms = 0;
  int64_t execution_ms = 0;
};

// One block of result rows, values as DuckDB's text (nullopt for NULL); valid only during the call
// that receives it.
using RowChunk = sql::Chunk;

// Receives a query's result as it is produced (the HTTP layer pages it, the CLI prints it).
class RowSink {
 public:
  virtual ~RowSink() = default;
  // Called once, before any rows, when the result's shape is known.
  virtual void begin(const std::string& query_id, const std::vector<std::string>& columns,
                     const std::vector<std::string>& types) = 0;
  // Called for each block of rows, in order. Throwing stops the query: it ends FAILED with the
  // exception's message (CANCELLED when the run's cancel flag is set by then).
  virtual void rows(const RowChunk& chunk) = 0;
};

// How one run goes; every field has a default that gives run(sql)'s behaviour.
struct RunOptions {
  std::string database;  // for unqualified table names; empty: QueryConfig::database
  std::string query_id;  // empty: a new UUID; a caller that must know the id first makes one
  std::optional<std::chrono::milliseconds> timeout;  // nullopt: QueryConfig::timeout
  // Polled every 50 ms while the query runs; when it becomes true the query is interrupted and ends
  // CANCELLED "query cancelled by <cancelled_by>". Must outlive run().
  const std::atomic<bool>* cancel = nullptr;
  std::string cancelled_by = "the client";
  RowSink* sink = nullptr;                // optional; receives every row
  std::optional<size_t> max_inline_rows;  // nullopt: QueryConfig::max_inline_rows
  // Where this run saves its result CSV instead of QueryConfig::output_bucket/output_prefix (Athena's
  // ResultConfiguration.OutputLocation): <output_bucket>/<output_prefix><id>.csv. nullopt: the config's.
  std::optional<std::string> output_bucket;
  std::string output_prefix;  // with output_bucket: "" or ending with '/'
};

// A query that failed: refused, invalid, timed out, failed in DuckDB or stopped by the system. what()
// is the reason on one line (DuckDB's message where it has one); the query is in the history under
// query_id() (FAILED, or CANCELLED for QueryCancelled).
class QueryFailed : public Error {
 public:
  enum class Cause {
    kQuery,     // the query itself: refused, invalid, a DuckDB error (HTTP 400)
    kTimedOut,  // it ran longer than its timeout (HTTP 408 or 400)
    kSystem,    // the system failed (disk full writing the result...): retryable (HTTP 503)
    kCancelled  // see QueryCancelled (HTTP 499)
  };
  QueryFailed(std::string query_id, const std::string& message, Cause cause = Cause::kQuery)
      : Error(message), query_id_(std::move(query_id)), cause_(cause) {}
  const std::string& query_id() const { return query_id_; }
  Cause cause() const { return cause_; }

 private:
  std::string query_id_;
  Cause cause_;
};

// A query stopped by its cancel flag, cancel() or cancel_all(); CANCELLED in the history.
class QueryCancelled : public QueryFailed {
 public:
  QueryCancelled(std::string query_id, const std::string& message)
      : QueryFailed(std::move(query_id), message, Cause::kCancelled) {}
};

// A page of a finished query's saved result (Athena's GetQueryResults).
struct QueryPage {
  std::string query_id;
  std::vector<std::string> columns;  // from the CSV's header row
  std::vector<std::vector<std::optional<std::string>>> rows;
  std::string next_token;  // empty: this page ends the result
};

class QueryEngine {
 public:
  QueryEngine(QueryConfig config, catalog::Catalog& catalog, storage::ObjectStore& objects, QueryLog& log);
  ~QueryEngine();
  QueryEngine(const QueryEngine&) = delete;
  QueryEngine& operator=(const QueryEngine&) = delete;

  // Runs one query (see RunOptions) and returns its result once every row has been saved and handed
  // to the sink. Throws QueryFailed (QueryCancelled when cancelled); the history has the outcome
  // either way. Throws sluice::Error, with nothing recorded, only when options.query_id is not a
  // UUID or is already running, or when the history itself cannot be written at the start.
  QueryResult run(std::string_view sql, const RunOptions& options);
  // run() with the default options and `database` (empty: the default database).
  QueryResult run(std::string_view sql, const std::string& database = {});

  // Cancels the running query `query_id` (DELETE /v1/queries/ID): it is interrupted and its run()
  // throws QueryCancelled "query cancelled by <by>" shortly after. Returns false when no query with
  // that id is running. Thread-safe; does not wait.
  bool cancel(const std::string& query_id, const std::string& by = "a cancel request");
  // Cancels every query running now (daemon shutdown); each run() returns within about a second.
  // Queries started afterwards are not affected. Thread-safe; does not wait. Returns how many.
  size_t cancel_all(const std::string& by = "the daemon shutting down");
  // The ids of the queries running now.
  std::vector<std::string> running() const;

  // Records in the history a query that never ran (Athena's queue: stopped while QUEUED, or refused
  // by a daemon shutting down), as `state` ("CANCELLED" or "FAILED") with `why`. Throws sluice::Error
  // when the history cannot be written (a duplicate id included).
  void record_unrun(const std::string& query_id, std::string_view sql, const std::string& database,
                    const std::string& state, const std::string& why);

  // Up to `max_rows` rows of a finished query's saved result, from `next_token` (empty: the first
  // row; otherwise a token from a previous page of the same query). Reads only the part of the CSV
  // object it needs. Throws Error for an unknown query, one without a saved result (not SUCCEEDED, or
  // no output location), an invalid token or max_rows of 0, and a result object that is not Athena
  // CSV; storage::NotFound when the object is gone.
  QueryPage read_results(const std::string& query_id, const std::string& next_token, size_t max_rows) const;

  const QueryConfig& config() const { return config_; }

 private:
  class Execution;
  std::shared_ptr<detail::RunState> register_run(const std::string& query_id);
  void unregister_run(const std::string& query_id);
  [[noreturn]] void refuse(const std::string& query_id, std::string_view sql, const std::string& database,
                           const std::string& why);

  QueryConfig config_;
  catalog::Catalog& catalog_;
  storage::ObjectStore& objects_;
  QueryLog& log_;
  mutable std::mutex running_mutex_;
  std::map<std::string, std::shared_ptr<detail::RunState>> running_;  // by query id
};

// Athena's CSV: a header row, then every value in double quotes (quotes doubled), NULL as nothing.
std::string athena_csv(const std::vector<std::string>& columns,
                       const std::vector<std::vector<std::optional<std::string>>>& rows);

// The local files of the objects a query reads, opened through ObjectStore::open_readable on first
// use and held until this is destroyed: DuckDB reads them for as long as the query runs, and a cached
// copy is neither evicted nor replaced meanwhile. Not thread-safe (one per query).
class ReadableFiles {
 public:
  explicit ReadableFiles(const storage::ObjectStore& objects);
  ~ReadableFiles();
  ReadableFiles(const ReadableFiles&) = delete;
  ReadableFiles& operator=(const ReadableFiles&) = delete;

  // The local path of bucket/key, the same for every call. Throws what open_readable throws:
  // storage::NotFound when the object is gone, SystemError when a copy cannot be made.
  const std::string& path(const std::string& bucket, const std::string& key);

 private:
  const storage::ObjectStore& objects_;
  std::vector<std::unique_ptr<storage::ReadableObject>> handles_;
  std::map<std::pair<std::string, std::string>, std::string> paths_;  // (bucket, key) -> path
};

// The SQL that scans a table's files, read from the paths `readable` hands out (exposed for tests and
// EXPLAIN-like tooling); valid while `readable` lives. Throws what ReadableFiles::path throws.
std::string table_scan_sql(const catalog::TableInfo& table, const std::vector<catalog::FileEntry>& files,
                           ReadableFiles& readable);

// The SQL of a table with its columns and types and no rows: what a query over it binds against
// before any file is read (an empty table, and sluice validate's binding of dashboards).
std::string empty_table_sql(const catalog::TableInfo& table);

// A random (version 4) UUID, the form of Athena's query ids.
std::string new_query_id();

// Whether `id` has the form of new_query_id()'s ids (lower-case hex 8-4-4-4-12), for callers that take
// ids from outside.
bool is_query_id(std::string_view id);

}  // namespace sluice::query
