// Chunk-level access to DuckDB for bulk work (the processing Lambda): a confined session whose
// errors say whose fault they are, a table function over rows the caller holds (DuckDB scans them
// without copying them into a table first: measured faster than appending data chunks, which costs
// a full copy before the query starts), a streaming result read chunk by chunk, and ways to bind or
// parse a query without running it. Callers fill and read the chunks' vectors with DuckDB's C API
// (duckdb.h) directly; these classes only own the handles.
//
// Errors: every failure throws sluice::SystemError when DuckDB reports the system's own failure
// (I/O error, out of memory, interrupted, fatal: retry later) and sluice::Error for everything else
// (a syntax or binder error, a failed conversion, bad data: the statement's or the input's fault).
// Messages are DuckDB's first line (its context lines are dropped).
#pragma once

#include <duckdb.h>

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "common/error.h"
#include "sql/duckdb.h"

namespace sluice::sql {

// True when a DuckDB error of `type` is the system's failure (retryable), not the statement's.
bool is_system_error(duckdb_error_type type);

// Throws SystemError when `type` is the system's failure, Error otherwise, with the first line of
// `message`.
[[noreturn]] void throw_engine_error(duckdb_error_type type, std::string_view message);

// The first line of a DuckDB message (its "LINE 1: ..." context follows on later lines).
std::string first_line(std::string_view message);

// The SQL spelling of a DuckDB type, nested types in full: "BIGINT", "VARCHAR[]",
// "STRUCT(\"a\" BIGINT, \"b\" DOUBLE[])", "DECIMAL(18,3)", "MAP(VARCHAR, BIGINT)"; an alias ("JSON")
// when the type has one.
std::string type_sql(duckdb_logical_type type);

// A column (name, full type, struct fields) as sql::Column describes it, from a logical type.
Column column_of_type(std::string name, duckdb_logical_type type);

struct LogicalTypeDeleter {
  void operator()(_duckdb_logical_type* type) const { duckdb_destroy_logical_type(&type); }
};
using LogicalType = std::unique_ptr<_duckdb_logical_type, LogicalTypeDeleter>;

struct DataChunkDeleter {
  void operator()(_duckdb_data_chunk* chunk) const { duckdb_destroy_data_chunk(&chunk); }
};
using DataChunk = std::unique_ptr<_duckdb_data_chunk, DataChunkDeleter>;

// A DuckDB and one connection to it, confined like sql::Database (allowed_directories, no external
// access, locked configuration; options.temp_directory, when set, must be one of the allowed ones).
class Session {
 public:
  // Throws SystemError/Error when DuckDB cannot be opened or configured.
  explicit Session(const DatabaseOptions& options);
  ~Session();
  Session(const Session&) = delete;
  Session& operator=(const Session&) = delete;

  duckdb_connection handle() const { return connection_; }

  // Runs one statement to completion. Returns the first column of the first row as a number when it
  // is one (COPY's row count), else 0. Throws as described in the header comment.
  uint64_t execute(std::string_view sql);
  // Binds `sql` (one statement) without running it and returns the columns it would produce.
  // Throws Error (or SystemError) with DuckDB's message when it does not bind.
  std::vector<Column> describe(std::string_view sql);
  // Binds `sql` without running it; DuckDB's message (first line) when it fails, else empty.
  std::string bind_error(std::string_view sql);
  // Parses `sql` without binding it; DuckDB's message (first line) when it is not exactly one
  // statement, else empty.
  std::string parse_error(std::string_view sql);

 private:
  duckdb_database database_ = nullptr;
  duckdb_connection connection_ = nullptr;
};

// Rows the caller holds, scanned by DuckDB through a table function (register_table_function).
class ChunkSource {
 public:
  virtual ~ChunkSource() = default;
  virtual size_t row_count() const = 0;
  // Fills rows [first, first + count) into `chunk`, whose vectors are the registered columns at
  // indexes `columns`, in that order. A throw fails the query with its message.
  virtual void fill(duckdb_data_chunk chunk, const std::vector<idx_t>& columns, size_t first,
                    size_t count) = 0;

  // True when a fill failed for the system's reasons (SystemError, out of memory): DuckDB reports
  // every table function error alike, so the caller asks here.
  bool failed_for_system() const { return failed_for_system_; }
  void note_system_failure() { failed_for_system_ = true; }

 private:
  std::atomic<bool> failed_for_system_ = false;  // set on the thread that fills
};

struct SourceColumn {
  std::string name;
  LogicalType type;
};

// Registers table function `name` on `session`: `SELECT ... FROM name()` scans `source`'s rows in
// order (one scan thread, so the order is kept), filling only the columns the query uses. Each scan
// fills a few chunks ahead on a thread of its own, so filling runs beside the rest of the query;
// fill() is never called concurrently. `source` must outlive every query that uses it. Throws Error
// when DuckDB refuses the function.
void register_table_function(Session& session, const std::string& name, std::vector<SourceColumn> columns,
                             ChunkSource& source);

// A query whose result is read chunk by chunk as DuckDB produces it (memory does not grow with the
// result).
class ResultStream {
 public:
  // Prepares (binds) `sql`; it starts running at the first next(). Throws as described in the
  // header comment.
  ResultStream(Session& session, std::string_view sql);
  ~ResultStream();
  ResultStream(const ResultStream&) = delete;
  ResultStream& operator=(const ResultStream&) = delete;

  size_t column_count() const;
  std::string column_name(size_t column) const;
  LogicalType column_type(size_t column) const;
  // The next chunk (flat vectors), or an empty pointer at the end. Throws on a failure.
  DataChunk next();

 private:
  void start();
  duckdb_prepared_statement prepared_ = nullptr;
  duckdb_pending_result pending_ = nullptr;
  duckdb_result result_{};
  bool has_result_ = false;
};

}  // namespace sluice::sql
