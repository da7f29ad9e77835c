#include "sql/appender.h"

#include <algorithm>
#include <condition_variable>
#include <deque>
#include <exception>
#include <mutex>
#include <new>
#include <thread>

#include "sql/duckdb_types.h"

// The streaming result API (duckdb_pending_prepared_streaming) is marked deprecated in 1.4 without
// a replacement that streams; it is what keeps a large result out of memory.
#pragma GCC diagnostic ignored "-Wdeprecated-declarations"

namespace sluice::sql {
namespace {

// DuckDB's own name for the error kinds that reach us without a type (a pending result's error).
duckdb_error_type error_type_of_message(std::string_view message) {
  if (message.starts_with("IO Error")) return DUCKDB_ERROR_IO;
  if (message.starts_with("Out of Memory Error")) return DUCKDB_ERROR_OUT_OF_MEMORY;
  if (message.starts_with("INTERRUPT Error")) return DUCKDB_ERROR_INTERRUPT;
  if (message.starts_with("FATAL Error")) return DUCKDB_ERROR_FATAL;
  return DUCKDB_ERROR_INVALID;
}

std::string owned_c_string(char* text) {
  std::string out = text ? text : "";
  duckdb_free(text);
  return out;
}

// The SQL spelling of nested and parameterised types; nullptr-free recursion over child types.
std::string nested_type_sql(duckdb_logical_type type, duckdb_type id) {
  auto child_sql = [](duckdb_logical_type child) {
    LogicalType owned(child);
    return type_sql(owned.get());
  };
  switch (id) {
    case DUCKDB_TYPE_DECIMAL:
      return "DECIMAL(" + std::to_string(duckdb_decimal_width(type)) + "," +
             std::to_string(duckdb_decimal_scale(type)) + ")";
    case DUCKDB_TYPE_LIST:
      return child_sql(duckdb_list_type_child_type(type)) + "[]";
    case DUCKDB_TYPE_ARRAY:
      return child_sql(duckdb_array_type_child_type(type)) + "[" +
             std::to_string(duckdb_array_type_array_size(type)) + "]";
    case DUCKDB_TYPE_MAP:
      return "MAP(" + child_sql(duckdb_map_type_key_type(type)) + ", " +
             child_sql(duckdb_map_type_value_type(type)) + ")";
    case DUCKDB_TYPE_STRUCT:
    case DUCKDB_TYPE_UNION: {
      const bool is_struct = id == DUCKDB_TYPE_STRUCT;
      const idx_t n = is_struct ? duckdb_struct_type_child_count(type) : duckdb_union_type_member_count(type);
      std::string out = is_struct ? "STRUCT(" : "UNION(";
      for (idx_t i = 0; i < n; ++i) {
        const std::string name = owned_c_string(is_struct ? duckdb_struct_type_child_name(type, i)
                                                          : duckdb_union_type_member_name(type, i));
        out += (i ? ", " : "") + quote_identifier(name) + " " +
               child_sql(is_struct ? duckdb_struct_type_child_type(type, i)
                                   : duckdb_union_type_member_type(type, i));
      }
      return out + ")";
    }
    case DUCKDB_TYPE_ENUM: {
      std::string out = "ENUM(";
      const uint32_t n = duckdb_enum_dictionary_size(type);
      for (uint32_t i = 0; i < n; ++i)
        out += (i ? ", " : "") + quote_literal(owned_c_string(duckdb_enum_dictionary_value(type, i)));
      return out + ")";
    }
    default:
      if (id == DUCKDB_TYPE_SQLNULL) return "\"NULL\"";  // a keyword: quoted to be a type name
      if (const char* name = internal::base_type_name(id)) return name;
      return "VARCHAR";
  }
}

std::string statement_error(duckdb_prepared_statement prepared) {
  const char* why = duckdb_prepare_error(prepared);
  return first_line(why ? why : "the statement cannot be prepared");
}

}  // namespace

bool is_system_error(duckdb_error_type type) {
  switch (type) {
    case DUCKDB_ERROR_IO:
    case DUCKDB_ERROR_OUT_OF_MEMORY:
    case DUCKDB_ERROR_INTERRUPT:
    case DUCKDB_ERROR_FATAL:
      return true;
    default:
      return false;
  }
}

[[noreturn]] void throw_engine_error(duckdb_error_type type, std::string_view message) {
  if (type == DUCKDB_ERROR_INVALID) type = error_type_of_message(message);
  if (is_system_error(type)) throw SystemError(first_line(message));
  throw Error(first_line(message));
}

std::string first_line(std::string_view message) {
  const auto end = message.find('\n');
  std::string_view line = message.substr(0, end);
  while (!line.empty() && (line.back() == ' ' || line.back() == '\r')) line.remove_suffix(1);
  return std::string(line);
}

std::string type_sql(duckdb_logical_type type) {
  const std::string alias = owned_c_string(duckdb_logical_type_get_alias(type));
  if (!alias.empty()) return alias;
  return nested_type_sql(type, duckdb_get_type_id(type));
}

Column column_of_type(std::string name, duckdb_logical_type type) {
  Column column;
  column.name = std::move(name);
  column.type = type_sql(type);
  if (duckdb_get_type_id(type) == DUCKDB_TYPE_STRUCT) {
    column.is_struct = true;
    const idx_t n = duckdb_struct_type_child_count(type);
    for (idx_t i = 0; i < n; ++i) {
      LogicalType child(duckdb_struct_type_child_type(type, i));
      column.fields.push_back(
          column_of_type(owned_c_string(duckdb_struct_type_child_name(type, i)), child.get()));
    }
  }
  return column;
}

Session::Session(const DatabaseOptions& options) {
  duckdb_config config = nullptr;
  if (duckdb_create_config(&config) == DuckDBError)
    throw SystemError("duckdb: cannot create a configuration");
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
  const auto state = duckdb_open_ext(path, &database_, config, &error);
  duckdb_destroy_config(&config);
  if (state == DuckDBError) {
    const std::string why = owned_c_string(error);
    throw_engine_error(DUCKDB_ERROR_INVALID, "duckdb: cannot open a database: " + why);
  }
  if (duckdb_connect(database_, &connection_) == DuckDBError) {
    duckdb_close(&database_);
    throw SystemError("duckdb: cannot connect");
  }
  try {
    if (!options.temp_directory.empty())
      execute("SET temp_directory = " + quote_literal(options.temp_directory));
    if (!options.allowed_directories.empty()) {
      // Order matters: the directories first, then external access off, then the lock.
      std::string list;
      for (const auto& dir : options.allowed_directories) {
        if (!list.empty()) list += ", ";
        list += quote_literal(dir.back() == '/' ? dir : dir + "/");
      }
      execute("SET allowed_directories = [" + list + "]");
      execute("SET enable_external_access = false");
      execute("SET lock_configuration = true");
    }
  } catch (...) {
    duckdb_disconnect(&connection_);
    duckdb_close(&database_);
    throw;
  }
}

Session::~Session() {
  duckdb_disconnect(&connection_);
  duckdb_close(&database_);
}

uint64_t Session::execute(std::string_view sql) {
  duckdb_result result;
  const std::string text(sql);
  const bool failed = duckdb_query(connection_, text.c_str(), &result) == DuckDBError;
  struct Guard {
    duckdb_result* result;
    ~Guard() { duckdb_destroy_result(result); }
  } guard{&result};
  if (failed) {
    const char* why = duckdb_result_error(&result);
    throw_engine_error(duckdb_result_error_type(&result), why ? why : "duckdb: the statement failed");
  }
  if (duckdb_column_count(&result) == 0) return 0;
  DataChunk chunk(duckdb_fetch_chunk(result));
  if (!chunk || duckdb_data_chunk_get_size(chunk.get()) == 0) return 0;
  duckdb_vector vector = duckdb_data_chunk_get_vector(chunk.get(), 0);
  LogicalType type(duckdb_vector_get_column_type(vector));
  uint64_t* validity = duckdb_vector_get_validity(vector);
  if (validity && !duckdb_validity_row_is_valid(validity, 0)) return 0;
  switch (duckdb_get_type_id(type.get())) {
    case DUCKDB_TYPE_BIGINT:
    case DUCKDB_TYPE_UBIGINT:
      return static_cast<uint64_t*>(duckdb_vector_get_data(vector))[0];
    case DUCKDB_TYPE_INTEGER:
      return static_cast<uint32_t*>(duckdb_vector_get_data(vector))[0];
    default:
      return 0;
  }
}

std::vector<Column> Session::describe(std::string_view sql) {
  duckdb_prepared_statement prepared = nullptr;
  const std::string text(sql);
  const bool failed = duckdb_prepare(connection_, text.c_str(), &prepared) == DuckDBError;
  struct Guard {
    duckdb_prepared_statement* prepared;
    ~Guard() { duckdb_destroy_prepare(prepared); }
  } guard{&prepared};
  if (failed) throw_engine_error(DUCKDB_ERROR_INVALID, statement_error(prepared));
  std::vector<Column> columns;
  const idx_t n = duckdb_prepared_statement_column_count(prepared);
  for (idx_t i = 0; i < n; ++i) {
    LogicalType type(duckdb_prepared_statement_column_logical_type(prepared, i));
    columns.push_back(column_of_type(
        owned_c_string(const_cast<char*>(duckdb_prepared_statement_column_name(prepared, i))), type.get()));
  }
  return columns;
}

std::string Session::bind_error(std::string_view sql) {
  try {
    describe(sql);
  } catch (const SystemError&) {
    throw;
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

std::string Session::parse_error(std::string_view sql) {
  duckdb_extracted_statements statements = nullptr;
  const std::string text(sql);
  const idx_t count = duckdb_extract_statements(connection_, text.c_str(), &statements);
  std::string why;
  if (count == 0) {
    const char* error = duckdb_extract_statements_error(statements);
    why = first_line(error ? error : "no statement");
  } else if (count > 1) {
    why = "expected one statement, found " + std::to_string(count);
  }
  duckdb_destroy_extracted(&statements);
  return why;
}

namespace {

// What a registered table function knows; owned by DuckDB (destroyed with the database).
struct TableFunctionInfo {
  ChunkSource* source = nullptr;
  std::vector<SourceColumn> columns;
};

// One scan: a producer thread fills the chunks ahead, in order, while DuckDB's thread takes them
// (its output vectors reference the filled ones), so filling runs beside the rest of the query.
class ScanState {
 public:
  ScanState(TableFunctionInfo& function, std::vector<idx_t> columns)
      : function_(function), columns_(std::move(columns)) {
    for (idx_t column : columns_) types_.push_back(function_.columns[column].type.get());
    producer_ = std::thread([this] { produce(); });
  }
  ~ScanState() {
    {
      std::lock_guard lock(mutex_);
      stopping_ = true;
    }
    changed_.notify_all();
    producer_.join();
  }
  ScanState(const ScanState&) = delete;
  ScanState& operator=(const ScanState&) = delete;

  // The next filled chunk; empty at the end. Throws what the fill threw.
  DataChunk take() {
    std::unique_lock lock(mutex_);
    changed_.wait(lock, [&] { return !ready_.empty() || done_; });
    if (ready_.empty()) {
      if (failure_) std::rethrow_exception(failure_);
      return nullptr;
    }
    DataChunk chunk = std::move(ready_.front());
    ready_.pop_front();
    changed_.notify_all();
    return chunk;
  }
  const std::vector<idx_t>& columns() const { return columns_; }

 private:
  static constexpr size_t kAhead = 4;  // chunks filled ahead of the query

  void produce() {
    ChunkSource& source = *function_.source;
    try {
      for (size_t first = 0; first < source.row_count();) {
        const size_t count = std::min<size_t>(duckdb_vector_size(), source.row_count() - first);
        DataChunk chunk(duckdb_create_data_chunk(types_.data(), types_.size()));
        if (!chunk) throw std::bad_alloc();
        source.fill(chunk.get(), columns_, first, count);
        duckdb_data_chunk_set_size(chunk.get(), count);
        first += count;
        std::unique_lock lock(mutex_);
        changed_.wait(lock, [&] { return ready_.size() < kAhead || stopping_; });
        if (stopping_) return;
        ready_.push_back(std::move(chunk));
        changed_.notify_all();
      }
    } catch (const SystemError&) {
      source.note_system_failure();
      failure_ = std::current_exception();
    } catch (const std::bad_alloc&) {
      source.note_system_failure();
      failure_ = std::current_exception();
    } catch (...) {
      failure_ = std::current_exception();
    }
    std::lock_guard lock(mutex_);
    done_ = true;
    changed_.notify_all();
  }

  TableFunctionInfo& function_;
  std::vector<idx_t> columns_;
  std::vector<duckdb_logical_type> types_;  // owned by function_.columns
  std::mutex mutex_;
  std::condition_variable changed_;
  std::deque<DataChunk> ready_;
  bool done_ = false;
  bool stopping_ = false;
  std::exception_ptr failure_;
  std::thread producer_;  // last: started once everything above exists
};

void bind_table_function(duckdb_bind_info info) {
  auto* function = static_cast<TableFunctionInfo*>(duckdb_bind_get_extra_info(info));
  for (const auto& column : function->columns)
    duckdb_bind_add_result_column(info, column.name.c_str(), column.type.get());
  duckdb_bind_set_cardinality(info, function->source->row_count(), true);
}

void init_table_function(duckdb_init_info info) {
  auto* function = static_cast<TableFunctionInfo*>(duckdb_init_get_extra_info(info));
  std::vector<idx_t> columns;
  const idx_t count = duckdb_init_get_column_count(info);
  for (idx_t i = 0; i < count; ++i) columns.push_back(duckdb_init_get_column_index(info, i));
  duckdb_init_set_max_threads(info, 1);
  try {
    auto state = std::make_unique<ScanState>(*function, std::move(columns));
    duckdb_init_set_init_data(info, state.release(),
                              [](void* data) { std::unique_ptr<ScanState>(static_cast<ScanState*>(data)); });
  } catch (const std::exception& e) {
    function->source->note_system_failure();  // no thread or no memory
    duckdb_init_set_error(info, e.what());
  }
}

void scan_table_function(duckdb_function_info info, duckdb_data_chunk output) {
  auto* state = static_cast<ScanState*>(duckdb_function_get_init_data(info));
  try {
    DataChunk chunk = state->take();
    if (!chunk) return duckdb_data_chunk_set_size(output, 0);
    for (size_t i = 0; i < state->columns().size(); ++i)
      duckdb_vector_reference_vector(duckdb_data_chunk_get_vector(output, i),
                                     duckdb_data_chunk_get_vector(chunk.get(), i));
    duckdb_data_chunk_set_size(output, duckdb_data_chunk_get_size(chunk.get()));
  } catch (const std::exception& e) {
    duckdb_function_set_error(info, e.what());
  }
}

}  // namespace

void register_table_function(Session& session, const std::string& name, std::vector<SourceColumn> columns,
                             ChunkSource& source) {
  auto info = std::make_unique<TableFunctionInfo>(TableFunctionInfo{&source, std::move(columns)});
  duckdb_table_function function = duckdb_create_table_function();
  duckdb_table_function_set_name(function, name.c_str());
  duckdb_table_function_set_extra_info(function, info.release(), [](void* data) {
    std::unique_ptr<TableFunctionInfo>(static_cast<TableFunctionInfo*>(data));
  });
  duckdb_table_function_set_bind(function, bind_table_function);
  duckdb_table_function_set_init(function, init_table_function);
  duckdb_table_function_set_function(function, scan_table_function);
  duckdb_table_function_supports_projection_pushdown(function, true);
  const bool failed = duckdb_register_table_function(session.handle(), function) == DuckDBError;
  duckdb_destroy_table_function(&function);
  if (failed) throw Error("duckdb: cannot register table function " + name);
}

ResultStream::ResultStream(Session& session, std::string_view sql) {
  const std::string text(sql);
  if (duckdb_prepare(session.handle(), text.c_str(), &prepared_) == DuckDBError) {
    const std::string why = statement_error(prepared_);
    duckdb_destroy_prepare(&prepared_);
    throw_engine_error(DUCKDB_ERROR_INVALID, why);
  }
}

void ResultStream::start() {
  if (duckdb_pending_prepared_streaming(prepared_, &pending_) == DuckDBError) {
    const char* why = duckdb_pending_error(pending_);
    throw_engine_error(DUCKDB_ERROR_INVALID, why ? why : "duckdb: the query cannot start");
  }
  const bool failed = duckdb_execute_pending(pending_, &result_) == DuckDBError;
  has_result_ = true;
  if (failed) {
    const char* why = duckdb_result_error(&result_);
    throw_engine_error(duckdb_result_error_type(&result_), why ? why : "duckdb: the query failed");
  }
}

ResultStream::~ResultStream() {
  if (has_result_) duckdb_destroy_result(&result_);
  duckdb_destroy_pending(&pending_);
  duckdb_destroy_prepare(&prepared_);
}

size_t ResultStream::column_count() const { return duckdb_prepared_statement_column_count(prepared_); }

std::string ResultStream::column_name(size_t column) const {
  return owned_c_string(const_cast<char*>(duckdb_prepared_statement_column_name(prepared_, column)));
}

LogicalType ResultStream::column_type(size_t column) const {
  return LogicalType(duckdb_prepared_statement_column_logical_type(prepared_, column));
}

DataChunk ResultStream::next() {
  if (!has_result_) start();
  DataChunk chunk(duckdb_fetch_chunk(result_));
  if (!chunk) {
    const char* why = duckdb_result_error(&result_);
    if (why) throw_engine_error(duckdb_result_error_type(&result_), why);
  }
  return chunk;
}

}  // namespace sluice::sql
