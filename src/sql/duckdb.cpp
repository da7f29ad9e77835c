#include "sql/duckdb.h"

#include <duckdb.h>

// duckdb_value_varchar and duckdb_row_count are marked deprecated in favour of the chunk API; they
// remain in 1.4 and keep this layer small. Results here are small (catalog, queries for people).
#pragma GCC diagnostic ignored "-Wdeprecated-declarations"

namespace sluice::sql {
namespace {

// The SQL name of a type id (the C API has no type-to-string); nested types by their kind.
std::string type_name(duckdb_type id) {
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
    case DUCKDB_TYPE_FLOAT:
      return "FLOAT";
    case DUCKDB_TYPE_DOUBLE:
      return "DOUBLE";
    case DUCKDB_TYPE_DECIMAL:
      return "DECIMAL";
    case DUCKDB_TYPE_VARCHAR:
      return "VARCHAR";
    case DUCKDB_TYPE_BLOB:
      return "BLOB";
    case DUCKDB_TYPE_DATE:
      return "DATE";
    case DUCKDB_TYPE_TIME:
      return "TIME";
    case DUCKDB_TYPE_TIMESTAMP:
      return "TIMESTAMP";
    case DUCKDB_TYPE_TIMESTAMP_TZ:
      return "TIMESTAMP WITH TIME ZONE";
    case DUCKDB_TYPE_INTERVAL:
      return "INTERVAL";
    case DUCKDB_TYPE_UUID:
      return "UUID";
    case DUCKDB_TYPE_STRUCT:
      return "STRUCT";
    case DUCKDB_TYPE_LIST:
      return "LIST";
    case DUCKDB_TYPE_ARRAY:
      return "ARRAY";
    case DUCKDB_TYPE_MAP:
      return "MAP";
    case DUCKDB_TYPE_SQLNULL:
      return "NULL";
    default:
      return "OTHER";
  }
}

Column column_of(const std::string& name, duckdb_logical_type type) {
  Column column;
  column.name = name;
  column.type = type_name(duckdb_get_type_id(type));
  if (duckdb_get_type_id(type) == DUCKDB_TYPE_STRUCT) {
    column.is_struct = true;
    const idx_t n = duckdb_struct_type_child_count(type);
    for (idx_t i = 0; i < n; ++i) {
      char* child_name = duckdb_struct_type_child_name(type, i);
      duckdb_logical_type child = duckdb_struct_type_child_type(type, i);
      column.fields.push_back(column_of(child_name, child));
      duckdb_destroy_logical_type(&child);
      duckdb_free(child_name);
    }
  }
  return column;
}

}  // namespace

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

Result Connection::query(std::string_view sql) {
  duckdb_result raw;
  const std::string text(sql);
  const bool failed = duckdb_query(handle_->connection, text.c_str(), &raw) == DuckDBError;
  struct Guard {
    duckdb_result* r;
    ~Guard() { duckdb_destroy_result(r); }
  } guard{&raw};
  if (failed) {
    const char* why = duckdb_result_error(&raw);
    throw Error(why ? why : "duckdb: query failed");
  }
  Result result;
  const idx_t columns = duckdb_column_count(&raw);
  for (idx_t c = 0; c < columns; ++c) {
    duckdb_logical_type type = duckdb_column_logical_type(&raw, c);
    result.columns_.push_back(column_of(duckdb_column_name(&raw, c), type));
    duckdb_destroy_logical_type(&type);
  }
  const idx_t rows = duckdb_row_count(&raw);
  result.rows_.resize(rows);
  for (idx_t r = 0; r < rows; ++r) {
    auto& row = result.rows_[r];
    row.resize(columns);
    for (idx_t c = 0; c < columns; ++c) {
      if (duckdb_value_is_null(&raw, c, r)) continue;
      char* value = duckdb_value_varchar(&raw, c, r);
      if (value) {
        row[c] = std::string(value);
        duckdb_free(value);
      }
    }
  }
  return result;
}

void Connection::execute(std::string_view sql) {
  duckdb_result raw;
  const std::string text(sql);
  const bool failed = duckdb_query(handle_->connection, text.c_str(), &raw) == DuckDBError;
  std::string why = failed && duckdb_result_error(&raw) ? duckdb_result_error(&raw) : "";
  duckdb_destroy_result(&raw);
  if (failed) throw Error(why.empty() ? "duckdb: statement failed" : why);
}

std::vector<Column> Connection::describe(std::string_view sql) {
  auto columns = query("SELECT * FROM (" + std::string(sql) + ") LIMIT 0").columns();
  // Full type names ("VARCHAR[]", "STRUCT(a BIGINT)") come from DESCRIBE.
  auto described = query("DESCRIBE SELECT * FROM (" + std::string(sql) + ")");
  for (size_t i = 0; i < columns.size() && i < described.row_count(); ++i) {
    if (described.value(i, 1)) columns[i].type = *described.value(i, 1);
  }
  return columns;
}

}  // namespace sluice::sql
