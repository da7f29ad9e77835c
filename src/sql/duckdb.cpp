#include "sql/duckdb.h"

#include <duckdb.h>

#include <cassert>
#include <cstring>

#include "sql/duckdb_types.h"

namespace sluice::sql {

namespace internal {

const char* base_type_name(duckdb_type id) {
  switch (id) {
    case DUCKDB_TYPE_BOOLEAN:
      return "BOOLEAN";
    case DUCKDB_TYPE_TINYINT:
      return "TINYINT";
    case DUCKDB_TYPE_SMALLINT:
      return "SMALLINT";
    case DUCKDB_TYPE_INTEGER:
      return "INTEGER";
    case DUCKDB_TYPE_BIGINT:
      return "BIGINT";
    case DUCKDB_TYPE_HUGEINT:
      return "HUGEINT";
    case DUCKDB_TYPE_UTINYINT:
      return "UTINYINT";
    case DUCKDB_TYPE_USMALLINT:
      return "USMALLINT";
    case DUCKDB_TYPE_UINTEGER:
      return "UINTEGER";
    case DUCKDB_TYPE_UBIGINT:
      return "UBIGINT";
    case DUCKDB_TYPE_UHUGEINT:
      return "UHUGEINT";
    case DUCKDB_TYPE_FLOAT:
      return "FLOAT";
    case DUCKDB_TYPE_DOUBLE:
      return "DOUBLE";
    case DUCKDB_TYPE_VARCHAR:
      return "VARCHAR";
    case DUCKDB_TYPE_BLOB:
      return "BLOB";
    case DUCKDB_TYPE_DATE:
      return "DATE";
    case DUCKDB_TYPE_TIME:
      return "TIME";
    case DUCKDB_TYPE_TIME_TZ:
      return "TIME WITH TIME ZONE";
    case DUCKDB_TYPE_TIMESTAMP:
      return "TIMESTAMP";
    case DUCKDB_TYPE_TIMESTAMP_S:
      return "TIMESTAMP_S";
    case DUCKDB_TYPE_TIMESTAMP_MS:
      return "TIMESTAMP_MS";
    case DUCKDB_TYPE_TIMESTAMP_NS:
      return "TIMESTAMP_NS";
    case DUCKDB_TYPE_TIMESTAMP_TZ:
      return "TIMESTAMP WITH TIME ZONE";
    case DUCKDB_TYPE_INTERVAL:
      return "INTERVAL";
    case DUCKDB_TYPE_UUID:
      return "UUID";
    case DUCKDB_TYPE_BIT:
      return "BIT";
    case DUCKDB_TYPE_BIGNUM:
      return "BIGNUM";
    case DUCKDB_TYPE_DECIMAL:
      return "DECIMAL";
    case DUCKDB_TYPE_STRUCT:
      return "STRUCT";
    case DUCKDB_TYPE_LIST:
      return "LIST";
    case DUCKDB_TYPE_ARRAY:
      return "ARRAY";
    case DUCKDB_TYPE_MAP:
      return "MAP";
    case DUCKDB_TYPE_UNION:
      return "UNION";
    case DUCKDB_TYPE_ENUM:
      return "ENUM";
    case DUCKDB_TYPE_SQLNULL:
      return "NULL";
    default:
      return nullptr;
  }
}

}  // namespace internal

namespace {

// The SQL name of a type id (the C API has no type-to-string); nested types by their kind.
std::string type_name(duckdb_type id) {
  const char* name = internal::base_type_name(id);
  return name ? name : "OTHER";
}

// Owns a logical type handle.
struct LogicalType {
  duckdb_logical_type type = nullptr;
  ~LogicalType() {
    if (type) duckdb_destroy_logical_type(&type);
  }
};

Column column_of(const std::string& name, duckdb_logical_type type) {
  Column column;
  column.name = name;
  column.type = type_name(duckdb_get_type_id(type));
  if (duckdb_get_type_id(type) == DUCKDB_TYPE_STRUCT) {
    column.is_struct = true;
    const idx_t n = duckdb_struct_type_child_count(type);
    for (idx_t i = 0; i < n; ++i) {
      char* child_name = duckdb_struct_type_child_name(type, i);
      const std::string child_text = child_name ? child_name : "";
      duckdb_free(child_name);
      LogicalType child{duckdb_struct_type_child_type(type, i)};
      column.fields.push_back(column_of(child_text, child.type));
    }
  }
  return column;
}

// Types whose values this layer renders itself, exactly as DuckDB's VARCHAR cast does; any other
// type is cast to VARCHAR by DuckDB.
bool renders_natively(duckdb_type id) {
  switch (id) {
    case DUCKDB_TYPE_VARCHAR:
    case DUCKDB_TYPE_BOOLEAN:
    case DUCKDB_TYPE_TINYINT:
    case DUCKDB_TYPE_SMALLINT:
    case DUCKDB_TYPE_INTEGER:
    case DUCKDB_TYPE_BIGINT:
    case DUCKDB_TYPE_UTINYINT:
    case DUCKDB_TYPE_USMALLINT:
    case DUCKDB_TYPE_UINTEGER:
    case DUCKDB_TYPE_UBIGINT:
      return true;
    default:
      return false;
  }
}

// The text of a fixed-width value at `row` of a vector's data.
std::string render_fixed(duckdb_type id, const void* data, idx_t row) {
  switch (id) {
    case DUCKDB_TYPE_BOOLEAN:
      return static_cast<const bool*>(data)[row] ? "true" : "false";
    case DUCKDB_TYPE_TINYINT:
      return std::to_string(static_cast<const int8_t*>(data)[row]);
    case DUCKDB_TYPE_SMALLINT:
      return std::to_string(static_cast<const int16_t*>(data)[row]);
    case DUCKDB_TYPE_INTEGER:
      return std::to_string(static_cast<const int32_t*>(data)[row]);
    case DUCKDB_TYPE_BIGINT:
      return std::to_string(static_cast<const int64_t*>(data)[row]);
    case DUCKDB_TYPE_UTINYINT:
      return std::to_string(static_cast<const uint8_t*>(data)[row]);
    case DUCKDB_TYPE_USMALLINT:
      return std::to_string(static_cast<const uint16_t*>(data)[row]);
    case DUCKDB_TYPE_UINTEGER:
      return std::to_string(static_cast<const uint32_t*>(data)[row]);
    case DUCKDB_TYPE_UBIGINT:
      return std::to_string(static_cast<const uint64_t*>(data)[row]);
    default:
      throw Error("duckdb: no text rendering for type " + type_name(id));
  }
}

std::string_view string_of(const duckdb_string_t& s) {
  const uint32_t length = s.value.inlined.length;
  if (length <= 12) return {s.value.inlined.inlined, length};
  return {s.value.pointer.ptr, length};
}

// RAII for the C API's statement objects.
struct Prepared {
  duckdb_prepared_statement statement = nullptr;
  ~Prepared() { duckdb_destroy_prepare(&statement); }
};
struct Pending {
  duckdb_pending_result pending = nullptr;
  ~Pending() { duckdb_destroy_pending(&pending); }
};
struct QueryResult {
  duckdb_result result{};
  bool open = false;
  ~QueryResult() {
    if (open) duckdb_destroy_result(&result);
  }
};

void prepare(duckdb_connection connection, const std::string& sql, Prepared& out) {
  if (duckdb_prepare(connection, sql.c_str(), &out.statement) == DuckDBError) {
    const char* why = duckdb_prepare_error(out.statement);
    throw Error(why ? why : "duckdb: the statement could not be prepared");
  }
}

// SQL handed to DuckDB as a C string must not hold a NUL byte (it would cut the text).
std::string checked_text(std::string_view sql) {
  if (const auto nul = sql.find('\0'); nul != std::string_view::npos)
    throw Error("the SQL text holds a NUL byte at offset " + std::to_string(nul));
  return std::string(sql);
}

// `sql` with each of its `count` columns cast to VARCHAR by DuckDB, read through query() so that the
// text is neither cut nor wrapped in parentheses.
std::string cast_to_text_sql(size_t count, const std::string& sql) {
  std::string out = "SELECT ";
  for (size_t i = 0; i < count; ++i)
    out += (i ? ", " : "") + std::string("CAST(#") + std::to_string(i + 1) + " AS VARCHAR)";
  return out + " FROM query(" + quote_literal(sql) + ")";
}

std::vector<Column> columns_of(duckdb_prepared_statement statement) {
  std::vector<Column> columns;
  const idx_t count = duckdb_prepared_statement_column_count(statement);
  for (idx_t i = 0; i < count; ++i) {
    // The name is the caller's to free (duckdb.h), unlike a result's column names.
    const char* name = duckdb_prepared_statement_column_name(statement, i);
    const std::string text = name ? name : "";
    duckdb_free(const_cast<char*>(name));
    LogicalType type{duckdb_prepared_statement_column_logical_type(statement, i)};
    columns.push_back(column_of(text, type.type));
  }
  return columns;
}

}  // namespace

struct Chunk::ColumnData {
  duckdb_type id = DUCKDB_TYPE_INVALID;
  const duckdb_string_t* strings = nullptr;  // VARCHAR
  const void* data = nullptr;                // fixed-width types
  uint64_t* validity = nullptr;              // nullptr: no NULL in this chunk
  std::vector<std::string> rendered;         // fixed-width values as text, by row
};

Chunk::Chunk(duckdb_data_chunk chunk) : chunk_(chunk) {
  rows_ = duckdb_data_chunk_get_size(chunk);
  const idx_t count = duckdb_data_chunk_get_column_count(chunk);
  column_count_ = count;
  columns_.resize(count);
  for (idx_t c = 0; c < count; ++c) {
    duckdb_vector vector = duckdb_data_chunk_get_vector(chunk, c);
    LogicalType type{duckdb_vector_get_column_type(vector)};
    ColumnData& column = columns_[c];
    column.id = duckdb_get_type_id(type.type);
    column.validity = duckdb_vector_get_validity(vector);
    if (column.id == DUCKDB_TYPE_VARCHAR) {
      column.strings = static_cast<const duckdb_string_t*>(duckdb_vector_get_data(vector));
      continue;
    }
    column.data = duckdb_vector_get_data(vector);
    column.rendered.resize(rows_);
    for (idx_t r = 0; r < rows_; ++r) {
      if (!column.validity || duckdb_validity_row_is_valid(column.validity, r))
        column.rendered[r] = render_fixed(column.id, column.data, r);
    }
  }
}

Chunk::~Chunk() { duckdb_destroy_data_chunk(&chunk_); }

std::optional<std::string_view> Chunk::value(size_t row, size_t column) const {
  assert(row < rows_ && column < column_count_);
  const ColumnData& c = columns_[column];
  if (c.validity && !duckdb_validity_row_is_valid(c.validity, row)) return std::nullopt;
  if (c.strings) return string_of(c.strings[row]);
  return std::string_view(c.rendered[row]);
}

std::string quote_identifier(std::string_view name) {
  std::string out = "\"";
  for (char c : name) {
    if (c == '"') out += '"';
    out += c;
  }
  return out + "\"";
}

std::string quote_literal(std::string_view text) {
  std::string out = "'";
  for (char c : text) {
    if (c == '\'') out += '\'';
    out += c;
  }
  return out + "'";
}

struct Database::Handle {
  duckdb_database db = nullptr;
  ~Handle() {
    if (db) duckdb_close(&db);
  }
};

struct Connection::Handle {
  duckdb_connection connection = nullptr;
  ~Handle() {
    if (connection) duckdb_disconnect(&connection);
  }
};

Database::Database(const DatabaseOptions& options) : handle_(std::make_unique<Handle>()) {
  duckdb_config config = nullptr;
  if (duckdb_create_config(&config) == DuckDBError) throw Error("duckdb: cannot create a configuration");
  auto set = [&](const char* name, const std::string& value) {
    if (duckdb_set_config(config, name, value.c_str()) == DuckDBError) {
      duckdb_destroy_config(&config);
      throw Error(std::string("duckdb: invalid setting ") + name + "=" + value);
    }
  };
  if (options.threads > 0) set("threads", std::to_string(options.threads));
  if (!options.memory_limit.empty()) set("memory_limit", options.memory_limit);
  if (!options.temp_directory.empty())
    set("temp_directory", options.temp_directory);
  else if (!options.allowed_directories.empty())
    set("temp_directory", "");  // DuckDB's default, ".tmp/" under the working directory, would be allowed
  set("autoinstall_known_extensions", "false");
  set("autoload_known_extensions", "false");
  char* error = nullptr;
  const char* path = options.path.empty() ? nullptr : options.path.c_str();
  const auto state = duckdb_open_ext(path, &handle_->db, config, &error);
  duckdb_destroy_config(&config);
  if (state == DuckDBError) {
    std::string why = error ? error : "unknown error";
    duckdb_free(error);
    throw Error("duckdb: cannot open " +
                (options.path.empty() ? std::string("an in-memory database") : options.path) + ": " + why);
  }
  if (!options.allowed_directories.empty()) {
    // Order matters: the directories first, then external access off, then the lock.
    Connection connection(*this);
    std::string list;
    for (const auto& dir : options.allowed_directories) {
      if (!list.empty()) list += ", ";
      list += quote_literal(dir.back() == '/' ? dir : dir + "/");
    }
    connection.execute("SET allowed_directories = [" + list + "]");
    connection.execute("SET enable_external_access = false");
    connection.execute("SET lock_configuration = true");
  }
}

Database::~Database() = default;

Connection::Connection(Database& database) : handle_(std::make_unique<Handle>()) {
  if (duckdb_connect(database.handle_->db, &handle_->connection) == DuckDBError) {
    throw Error("duckdb: cannot connect");
  }
}

Connection::~Connection() = default;

void Connection::interrupt() noexcept { duckdb_interrupt(handle_->connection); }

std::vector<Column> Connection::stream(std::string_view sql, const ChunkCallback& on_chunk) {
  const std::string text = checked_text(sql);
  Prepared statement;
  prepare(handle_->connection, text, statement);
  const auto columns = columns_of(statement.statement);
  bool native = true;
  for (idx_t i = 0; i < columns.size(); ++i)
    native = native && renders_natively(duckdb_prepared_statement_column_type(statement.statement, i));
  Prepared cast;
  if (!native) {
    if (duckdb_prepared_statement_type(statement.statement) != DUCKDB_STATEMENT_TYPE_SELECT)
      throw Error("duckdb: the result of this statement cannot be read as text (it is not a SELECT)");
    prepare(handle_->connection, cast_to_text_sql(columns.size(), text), cast);
  }
  Pending pending;
  if (duckdb_pending_prepared_streaming(native ? statement.statement : cast.statement, &pending.pending) ==
      DuckDBError) {
    const char* why = duckdb_pending_error(pending.pending);
    throw Error(why ? why : "duckdb: the statement could not start");
  }
  duckdb_pending_state state;
  do {
    state = duckdb_pending_execute_task(pending.pending);
  } while (!duckdb_pending_execution_is_finished(state));
  if (state == DUCKDB_PENDING_ERROR) {
    const char* why = duckdb_pending_error(pending.pending);
    throw Error(why ? why : "duckdb: the statement failed");
  }
  QueryResult result;
  const bool failed = duckdb_execute_pending(pending.pending, &result.result) == DuckDBError;
  result.open = true;
  if (failed) {
    const char* why = duckdb_result_error(&result.result);
    throw Error(why ? why : "duckdb: the statement failed");
  }
  while (duckdb_data_chunk raw = duckdb_fetch_chunk(result.result)) {
    const Chunk chunk(raw);
    if (chunk.row_count() > 0) on_chunk(chunk);
  }
  if (const char* why = duckdb_result_error(&result.result)) throw Error(why);
  return columns;
}

Result Connection::query(std::string_view sql) {
  Result result;
  result.columns_ = stream(sql, [&](const Chunk& chunk) {
    for (size_t r = 0; r < chunk.row_count(); ++r) {
      auto& row = result.rows_.emplace_back(chunk.column_count());
      for (size_t c = 0; c < chunk.column_count(); ++c) {
        if (auto value = chunk.value(r, c)) row[c] = std::string(*value);
      }
    }
  });
  return result;
}

void Connection::execute(std::string_view sql) {
  duckdb_result raw;
  const std::string text = checked_text(sql);
  const bool failed = duckdb_query(handle_->connection, text.c_str(), &raw) == DuckDBError;
  std::string why = failed && duckdb_result_error(&raw) ? duckdb_result_error(&raw) : "";
  duckdb_destroy_result(&raw);
  if (failed) throw Error(why.empty() ? "duckdb: statement failed" : why);
}

std::vector<Column> Connection::describe(std::string_view sql) {
  const std::string text = checked_text(sql);
  Prepared statement;
  prepare(handle_->connection, text, statement);
  auto columns = columns_of(statement.statement);
  // Full type names ("VARCHAR[]", "STRUCT(a BIGINT)") come from DESCRIBE, by position.
  auto described = query("DESCRIBE SELECT * FROM query(" + quote_literal(text) + ")");
  for (size_t i = 0; i < columns.size() && i < described.row_count(); ++i) {
    if (described.value(i, 1)) columns[i].type = *described.value(i, 1);
  }
  return columns;
}

}  // namespace sluice::sql
