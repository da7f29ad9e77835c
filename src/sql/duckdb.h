// A thin RAII layer over DuckDB's C API: a database, a connection, a materialised result. sluice's
// processing and query components run their SQL through it. Confinement for SQL that comes from
// outside: with allowed_directories set, the database can read and write files only there
// (enable_external_access=false), cannot load extensions, and the configuration is locked so that a
// query cannot undo any of it.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/error.h"

struct _duckdb_database;
struct _duckdb_connection;

namespace sluice::sql {

struct DatabaseOptions {
  std::string path;          // empty: in-memory
  int threads = 0;           // 0: DuckDB's default (one per core)
  std::string memory_limit;  // e.g. "1GB"; empty: DuckDB's default
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
  explicit Connection(Database& database);
  ~Connection();
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;

  // Runs `sql` and materialises the whole result. Throws sluice::Error with DuckDB's message.
  Result query(std::string_view sql);
  // Runs `sql`, discarding any result.
  void execute(std::string_view sql);
  // The columns `sql` would produce, without running it to completion.
  std::vector<Column> describe(std::string_view sql);

 private:
  struct Handle;
  std::unique_ptr<Handle> handle_;
};

// SQL text helpers.
std::string quote_identifier(std::string_view name);  // "name" with embedded quotes doubled
std::string quote_literal(std::string_view text);     // 'text' with embedded quotes doubled

}  // namespace sluice::sql
