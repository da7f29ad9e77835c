// A thin RAII layer over DuckDB's C API: a database, a connection, results read chunk by chunk.
// sluice's processing and query components run their SQL through it.
//
// Results are read through DuckDB's chunk API only. Every value is handed out as text exactly as
// DuckDB's VARCHAR cast renders it (nested values included: `{'a': 1}`, `[1, 2]`, `{k=v}`), NULL as
// nullopt: VARCHAR, BOOLEAN and integer columns are read directly, and a SELECT with any other column
// type is run as `SELECT CAST(#i AS VARCHAR) ... FROM query('<the SQL>')`, so that the SQL text
// itself (comments, a trailing `;`) is never cut or re-parenthesised.
//
// Confinement for SQL that comes from outside: with allowed_directories set, the database can read
// and write files only there (enable_external_access=false), cannot load extensions, and the
// configuration is locked so that a query cannot undo any of it.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/error.h"

struct _duckdb_database;
struct _duckdb_connection;
struct _duckdb_data_chunk;

namespace sluice::sql {

struct DatabaseOptions {
  std::string path;          // empty: in-memory
  int threads = 0;           // 0: DuckDB's default (one per core)
  std::string memory_limit;  // e.g. "1GB"; empty: DuckDB's default
  // Where DuckDB spills what does not fit in memory_limit (a large sort); DuckDB creates it (its
  // parent must exist) and removes it when the database closes. Empty: DuckDB's default (".tmp" in
  // the working directory) for an unconfined database, and no spilling at all for a confined one,
  // since DuckDB adds its temporary directory to allowed_directories.
  std::string temp_directory;
  // When non-empty, the only directories SQL may touch; external access is otherwise off and the
  // configuration locked.
  std::vector<std::string> allowed_directories;
};

// A column of a result: its name and DuckDB type, with struct fields for flattening.
struct Column {
  std::string name;
  std::string
      type;  // "BIGINT", "VARCHAR", "STRUCT", "LIST"...; full nested names ("VARCHAR[]") from describe()
  bool is_struct = false;
  std::vector<Column> fields;  // struct fields in declaration order
};

// One block of result rows (at most DuckDB's vector size, 2048), values as text. A Chunk refers to
// DuckDB's memory: it is valid only during the callback that receives it.
class Chunk {
 public:
  Chunk(const Chunk&) = delete;
  Chunk& operator=(const Chunk&) = delete;
  ~Chunk();

  size_t row_count() const { return rows_; }
  size_t column_count() const { return column_count_; }
  // The value at (row, column) rendered as DuckDB's VARCHAR cast does; nullopt for NULL. The view
  // is valid as long as the Chunk. Indexes are not checked beyond an assertion.
  std::optional<std::string_view> value(size_t row, size_t column) const;

 private:
  friend class Connection;
  struct ColumnData;
  explicit Chunk(_duckdb_data_chunk* chunk);  // takes ownership
  _duckdb_data_chunk* chunk_ = nullptr;
  size_t rows_ = 0;
  size_t column_count_ = 0;
  std::vector<ColumnData> columns_;
};

// Receives the chunks of a result, in order. Throwing from it stops the query; the exception
// propagates out of Connection::stream unchanged.
using ChunkCallback = std::function<void(const Chunk&)>;

class Result {
 public:
  const std::vector<Column>& columns() const { return columns_; }
  size_t row_count() const { return rows_.size(); }
  // Values rendered as text (DuckDB's VARCHAR cast); nullopt for NULL.
  const std::optional<std::string>& value(size_t row, size_t column) const { return rows_[row][column]; }
  const std::vector<std::vector<std::optional<std::string>>>& rows() const { return rows_; }

 private:
  friend class Connection;
  std::vector<Column> columns_;
  std::vector<std::vector<std::optional<std::string>>> rows_;
};

class Database {
 public:
  // Opens (or creates) the database. Throws sluice::Error for an invalid setting or a database that
  // cannot be opened, with DuckDB's reason.
  explicit Database(const DatabaseOptions& options = {});
  ~Database();
  Database(const Database&) = delete;
  Database& operator=(const Database&) = delete;

 private:
  friend class Connection;
  struct Handle;
  std::unique_ptr<Handle> handle_;
};

class Connection {
 public:
  // Throws sluice::Error when DuckDB refuses the connection.
  explicit Connection(Database& database);
  ~Connection();
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;

  // Runs one statement (a trailing `;` and comments are fine; several statements are refused) and
  // hands its result to `on_chunk` chunk by chunk as DuckDB produces it, so that memory does not
  // grow with the result. Returns the result's columns (names as the statement gives them,
  // duplicates kept; types by kind, as in Result). Throws sluice::Error with DuckDB's message
  // (including "INTERRUPT Error" after interrupt()), or whatever `on_chunk` throws.
  std::vector<Column> stream(std::string_view sql, const ChunkCallback& on_chunk);
  // Runs one statement like stream() and materialises the whole result: for small internal results
  // (DESCRIBE, a COPY's row count, catalog look-ups). Throws sluice::Error with DuckDB's message.
  Result query(std::string_view sql);
  // Runs `sql` (one or more statements), discarding any result. Throws sluice::Error.
  void execute(std::string_view sql);
  // The columns one statement would produce, with full type names ("VARCHAR[]",
  // "STRUCT(a BIGINT)"), without running it. Throws sluice::Error with DuckDB's message.
  std::vector<Column> describe(std::string_view sql);

  // Asks DuckDB to stop the statement running on this connection; that statement then fails with
  // "INTERRUPT Error: Interrupted!". Safe to call from any thread while the connection exists. A
  // call made while no statement runs is forgotten when the next one starts, so a caller that wants
  // a run stopped repeats the call until it has seen the run end.
  void interrupt() noexcept;

 private:
  struct Handle;
  std::unique_ptr<Handle> handle_;
};

// SQL text helpers.
std::string quote_identifier(std::string_view name);  // "name" with embedded quotes doubled
std::string quote_literal(std::string_view text);     // 'text' with embedded quotes doubled

}  // namespace sluice::sql
