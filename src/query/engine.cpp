#include "query/engine.h"

#include <algorithm>
#include <condition_variable>
#include <filesystem>
#include <map>
#include <nlohmann/json.hpp>
#include <random>
#include <set>
#include <stop_token>
#include <thread>

#include "config/destination.h"
#include "query/planner.h"
#include "storage/object_store.h"

namespace sluice::query {
namespace {

using catalog::FileEntry;
using catalog::FileFormat;
using catalog::TableInfo;
using sql::quote_identifier;
using sql::quote_literal;
using SteadyClock = std::chrono::steady_clock;

// How often a run's watchdog looks at its cancel flag and deadline (the brief allows 100 ms).
constexpr auto kWatchInterval = std::chrono::milliseconds(50);
// The result CSV is handed to the object writer in pieces of about this size.
constexpr size_t kCsvPieceBytes = 1 << 20;
// read_results reads the result object in windows of this size.
constexpr uint64_t kReadWindowBytes = 1 << 20;

constexpr const char* kFileColumn = "__sluice_file";

int64_t elapsed_ms(std::chrono::steady_clock::time_point since) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - since)
      .count();
}

// The data columns of a table: its catalogued columns except those shadowed by a partition key.
std::vector<catalog::Column> data_columns(const TableInfo& table) {
  std::vector<catalog::Column> out;
  for (const auto& c : table.columns) {
    if (std::find(table.partition_keys.begin(), table.partition_keys.end(), c.name) ==
        table.partition_keys.end())
      out.push_back(c);
  }
  return out;
}

std::string path_list(const std::vector<const FileEntry*>& files, const TableInfo& table,
                      ReadableFiles& readable) {
  std::string out = "[";
  for (size_t i = 0; i < files.size(); ++i)
    out += (i ? ", " : "") + quote_literal(readable.path(table.bucket, files[i]->key));
  return out + "]";
}

// DuckDB's messages carry a "LINE 1: ... ^" context block and line breaks; the history, the API and
// the CLI show one line: the message without the context.
std::string one_line(std::string message) {
  if (auto at = message.find("\n\nLINE "); at != std::string::npos) message.resize(at);
  std::string out;
  for (char c : message) {
    if (c == '\n' || c == '\r') {
      if (!out.empty() && out.back() != ' ') out += ' ';
    } else {
      out += c;
    }
  }
  while (!out.empty() && out.back() == ' ') out.pop_back();
  return out;
}

// "300ms", "5s", "5m", "2h": the units parse_duration reads, the largest that is exact.
std::string duration_text(std::chrono::milliseconds d) {
  const int64_t ms = d.count();
  if (ms > 0 && ms % 3'600'000 == 0) return std::to_string(ms / 3'600'000) + "h";
  if (ms > 0 && ms % 60'000 == 0) return std::to_string(ms / 60'000) + "m";
  if (ms > 0 && ms % 1000 == 0) return std::to_string(ms / 1000) + "s";
  return std::to_string(ms) + "ms";
}

// One field of Athena's CSV: the value in double quotes with quotes doubled; NULL is nothing.
void append_field(std::string& out, std::optional<std::string_view> value) {
  if (!value) return;
  out += '"';
  for (size_t at = 0;;) {
    const size_t quote = value->find('"', at);
    out.append(value->substr(at, quote == std::string_view::npos ? std::string_view::npos : quote - at + 1));
    if (quote == std::string_view::npos) break;
    out += '"';
    at = quote + 1;
  }
  out += '"';
}

void append_header(std::string& out, const std::vector<std::string>& columns) {
  for (size_t i = 0; i < columns.size(); ++i) {
    if (i) out += ',';
    append_field(out, columns[i]);
  }
  out += '\n';
}

// The result CSV, written to the object store piece by piece: nothing is visible before commit(),
// and destroying it without commit() leaves no trace.
class CsvOutput {
 public:
  CsvOutput(std::unique_ptr<storage::ObjectWriter> writer, const std::vector<std::string>& columns)
      : writer_(std::move(writer)) {
    append_header(buffer_, columns);
  }
  void rows(const sql::Chunk& chunk) {
    for (size_t r = 0; r < chunk.row_count(); ++r) {
      for (size_t c = 0; c < chunk.column_count(); ++c) {
        if (c) buffer_ += ',';
        append_field(buffer_, chunk.value(r, c));
      }
      buffer_ += '\n';
    }
    if (buffer_.size() >= kCsvPieceBytes) flush();
  }
  storage::ObjectInfo commit() {
    flush();
    return writer_->commit();
  }

 private:
  void flush() {
    writer_->write(buffer_);
    buffer_.clear();
  }
  std::unique_ptr<storage::ObjectWriter> writer_;
  std::string buffer_;
};

// Parses the Athena CSV row that starts at data[pos] into `row`. Returns the offset just past its
// '\n', or npos when `data` ends before the row does. Throws Error (naming `where` and the byte
// offset `base + i`) for text that is not Athena CSV.
size_t parse_csv_row(std::string_view data, size_t pos, std::vector<std::optional<std::string>>& row,
                     const std::string& where, uint64_t base) {
  row.clear();
  size_t i = pos;
  for (;;) {
    if (i >= data.size()) return std::string_view::npos;
    if (data[i] == '"') {
      std::string value;
      for (++i;;) {
        const size_t quote = data.find('"', i);
        if (quote == std::string_view::npos || quote + 1 >= data.size()) return std::string_view::npos;
        value.append(data.substr(i, quote - i));
        i = quote + 1;
        if (data[i] != '"') break;
        value += '"';
        ++i;
      }
      row.emplace_back(std::move(value));
    } else {
      row.emplace_back(std::nullopt);
    }
    if (i >= data.size()) return std::string_view::npos;
    if (data[i] == '\n') return i + 1;
    if (data[i] != ',')
      throw Error(where + " is not Athena CSV: expected ',' or a line end at byte " +
                  std::to_string(base + i));
    ++i;
  }
}

// Raised inside a run when its watchdog or a cancel call has stopped it; the run's stop reason, not
// this, is what the caller sees.
struct RunStopped {};

}  // namespace

namespace detail {

// The shared state of one run: the registry (cancel, cancel_all), its watchdog and the run itself.
struct RunState {
  struct Stop {
    bool cancelled = false;  // CANCELLED; otherwise FAILED (timed out)
    std::string message;
  };

  // Stops the run for `why` (the first reason wins) and interrupts DuckDB if it is at work.
  void request_stop(bool cancelled, const std::string& why) {
    std::lock_guard lock(mutex);
    if (!stop) stop = Stop{cancelled, why};
    stopping = true;
    if (connection) connection->interrupt();
  }
  // Interrupts DuckDB again: an interrupt that arrives between two statements is forgotten.
  void interrupt_again() {
    std::lock_guard lock(mutex);
    if (stop && connection) connection->interrupt();
  }
  void attach(sql::Connection* c) {
    std::lock_guard lock(mutex);
    connection = c;
    if (c && stop) c->interrupt();
  }
  std::optional<Stop> stopped() {
    std::lock_guard lock(mutex);
    return stop;
  }

  std::atomic<bool> stopping{false};

 private:
  std::mutex mutex;
  sql::Connection* connection = nullptr;  // while the run has DuckDB open
  std::optional<Stop> stop;
};

}  // namespace detail

namespace {

using detail::RunState;

// Watches one run from its own thread: stops it when its cancel flag is set or its deadline passes,
// and repeats the interrupt until the run ends (the destructor stops and joins the thread).
class Watchdog {
 public:
  Watchdog(RunState& running, SteadyClock::time_point deadline, std::string timeout_message,
           const std::atomic<bool>* cancel, std::string cancel_message)
      : running_(running),
        deadline_(deadline),
        timeout_message_(std::move(timeout_message)),
        cancel_(cancel),
        cancel_message_(std::move(cancel_message)),
        thread_([this](std::stop_token token) { watch(token); }) {}

 private:
  void watch(std::stop_token token) {
    std::mutex mutex;
    std::condition_variable_any wake;
    std::unique_lock lock(mutex);
    while (!wake.wait_for(lock, token, kWatchInterval, [] { return false; }) && !token.stop_requested()) {
      if (cancel_ && cancel_->load()) {
        running_.request_stop(true, cancel_message_);
      } else if (SteadyClock::now() >= deadline_) {
        running_.request_stop(false, timeout_message_);
      } else {
        running_.interrupt_again();
      }
    }
  }

  RunState& running_;
  const SteadyClock::time_point deadline_;
  const std::string timeout_message_;
  const std::atomic<bool>* cancel_;
  const std::string cancel_message_;
  std::jthread thread_;  // last: starts once every other member is ready
};

// Attaches a connection to a run for the connection's lifetime.
class Attached {
 public:
  Attached(RunState& running, sql::Connection& connection) : running_(running) {
    running_.attach(&connection);
  }
  ~Attached() { running_.attach(nullptr); }
  Attached(const Attached&) = delete;
  Attached& operator=(const Attached&) = delete;

 private:
  RunState& running_;
};

}  // namespace

// One run of one query: planning (a view per catalog table it reads, over the files its conditions
// leave), then its rows streamed to the result CSV, the sink and the inline rows.
class QueryEngine::Execution {
 public:
  Execution(QueryEngine& engine, RunState& state, QueryResult& result, const RunOptions& options)
      : engine_(engine), state_(state), result_(result), options_(options) {}

  // Fills the result. Throws whatever failed: QueryRefused, sluice::Error (DuckDB's message), the
  // object store's or the sink's exceptions, or RunStopped.
  void run(const std::string& sql) {
    const auto started = SteadyClock::now();
    const QueryConfig& config = engine_.config_;
    sql::DatabaseOptions options;
    options.threads = config.threads;
    options.memory_limit = config.memory_limit;
    if (!config.temp_directory.empty()) {
      // DuckDB creates only the last component, and concurrent queries must not share spill files.
      std::error_code ec;
      std::filesystem::create_directories(config.temp_directory, ec);
      options.temp_directory = (std::filesystem::path(config.temp_directory) / result_.query_id).string();
    }
    for (const auto& dir : engine_.objects_.readable_directories())
      options.allowed_directories.push_back(dir.string());
    if (options.allowed_directories.empty())
      options.allowed_directories = {"/nonexistent-sluice-confinement"};
    // The files the views read, held until the query ends (a cached copy stays while it is read).
    ReadableFiles readable(engine_.objects_);
    sql::Database db(options);
    sql::Connection c(db);
    Attached attached(state_, c);
    plan(c, sql, readable);
    result_.planning_ms = elapsed_ms(started);
    const auto executing = SteadyClock::now();
    stream(c, sql);
    result_.execution_ms = elapsed_ms(executing);
  }

 private:
  void check_stopped() const {
    if (state_.stopping) throw RunStopped{};
  }

  // One read-only SELECT, and a view for each catalog table it reads.
  void plan(sql::Connection& c, const std::string& sql, ReadableFiles& readable) {
    check_stopped();
    auto serialized = c.query("SELECT json_serialize_sql(" + quote_literal(sql) + ")");
    if (serialized.row_count() != 1 || !serialized.value(0, 0))
      throw QueryRefused("the query could not be parsed");
    create_views(c, analyze(nlohmann::json::parse(*serialized.value(0, 0)), sql), readable);
  }

  void create_views(sql::Connection& c, const std::vector<TableReference>& references,
                    ReadableFiles& readable) {
    struct Scan {
      TableInfo table;
      std::vector<FileEntry> all;
      std::set<std::string> kept;
      bool bare = false;
    };
    std::map<std::pair<std::string, std::string>, Scan> scans;
    for (const auto& ref : references) {
      const std::string schema = ref.schema.empty() ? result_.database : ref.schema;
      auto key = std::make_pair(schema, ref.table);
      auto it = scans.find(key);
      if (it == scans.end()) {
        auto table = engine_.catalog_.table(schema, ref.table);
        if (!table) continue;  // a CTE, or unknown: DuckDB says which
        it = scans.emplace(key, Scan{*table, engine_.catalog_.files(schema, ref.table), {}, false}).first;
      }
      Scan& scan = it->second;
      scan.bare = scan.bare || ref.schema.empty();
      for (const auto& f : scan.all) {
        if (partition_may_match(ref.conditions, scan.table.partition_keys, f.partition_values))
          scan.kept.insert(f.key);
      }
    }
    std::set<std::string> schemas;
    for (auto& [key, scan] : scans) {
      check_stopped();
      std::vector<FileEntry> kept;
      for (const auto& f : scan.all) {
        if (scan.kept.count(f.key)) {
          kept.push_back(f);
          result_.bytes_scanned += f.size;
        }
      }
      const std::string body = table_scan_sql(scan.table, kept, readable);
      if (schemas.insert(key.first).second)
        c.execute("CREATE SCHEMA IF NOT EXISTS " + quote_identifier(key.first));
      c.execute("CREATE VIEW " + quote_identifier(key.first) + "." + quote_identifier(key.second) + " AS " +
                body);
      if (scan.bare && key.first == result_.database)
        c.execute("CREATE VIEW main." + quote_identifier(key.second) + " AS " + body);
    }
  }

  // Runs the query and hands each chunk of rows to the CSV, the sink and the inline rows. The SQL
  // runs as the user wrote it: the sql layer reads any type as DuckDB's text without wrapping it.
  void stream(sql::Connection& c, const std::string& sql) {
    check_stopped();
    for (const auto& column : c.describe(sql)) {
      result_.columns.push_back(column.name);
      result_.types.push_back(column.type);
    }
    if (options_.sink) options_.sink->begin(result_.query_id, result_.columns, result_.types);
    const QueryConfig& config = engine_.config_;
    std::optional<CsvOutput> csv;
    const std::string& bucket = options_.output_bucket ? *options_.output_bucket : config.output_bucket;
    const std::string& prefix = options_.output_bucket ? options_.output_prefix : config.output_prefix;
    const std::string key = prefix + result_.query_id + ".csv";
    if (!bucket.empty()) csv.emplace(engine_.objects_.open_writer(bucket, key), result_.columns);
    const size_t max_inline = options_.max_inline_rows.value_or(config.max_inline_rows);
    c.stream(sql, [&](const sql::Chunk& chunk) {
      check_stopped();
      if (csv) csv->rows(chunk);
      for (size_t r = 0; r < chunk.row_count() && result_.rows.size() < max_inline; ++r) {
        auto& row = result_.rows.emplace_back(chunk.column_count());
        for (size_t i = 0; i < chunk.column_count(); ++i) {
          if (auto value = chunk.value(r, i)) row[i] = std::string(*value);
        }
      }
      result_.row_count += chunk.row_count();
      if (options_.sink) options_.sink->rows(chunk);
    });
    check_stopped();
    result_.truncated = result_.row_count > result_.rows.size();
    if (csv) {
      csv->commit();
      result_.output = "s3://" + bucket + "/" + key;
    }
  }

  QueryEngine& engine_;
  RunState& state_;
  QueryResult& result_;
  const RunOptions& options_;
};

namespace {

// How a run that threw ended: its state, its one-line message, and the cause callers act on.
struct Outcome {
  std::string state;
  std::string message;
  QueryFailed::Cause cause;
};

Outcome outcome_of(std::exception_ptr error, RunState& state) {
  // A stopped run fails with DuckDB's "Interrupted", a sink's error or RunStopped: the reason it
  // was stopped is what happened.
  if (auto stop = state.stopped()) {
    if (stop->cancelled) return {"CANCELLED", stop->message, QueryFailed::Cause::kCancelled};
    return {"FAILED", stop->message, QueryFailed::Cause::kTimedOut};
  }
  try {
    std::rethrow_exception(error);
  } catch (const SystemError& e) {
    return {"FAILED", one_line(e.what()), QueryFailed::Cause::kSystem};
  } catch (const std::bad_alloc&) {
    return {"FAILED", "out of memory", QueryFailed::Cause::kSystem};
  } catch (const std::exception& e) {
    return {"FAILED", one_line(e.what()), QueryFailed::Cause::kQuery};
  } catch (const RunStopped&) {
    return {"FAILED", "the query was stopped", QueryFailed::Cause::kQuery};  // a stop always has a reason
  }
}

}  // namespace

QueryEngine::QueryEngine(QueryConfig config, catalog::Catalog& catalog, storage::ObjectStore& objects,
                         QueryLog& log)
    : config_(std::move(config)), catalog_(catalog), objects_(objects), log_(log) {}

QueryEngine::~QueryEngine() = default;

QueryResult QueryEngine::run(std::string_view sql, const std::string& database) {
  RunOptions options;
  options.database = database;
  return run(sql, options);
}

QueryResult QueryEngine::run(std::string_view sql, const RunOptions& options) {
  const auto started = SteadyClock::now();
  QueryResult result;
  result.query_id = options.query_id.empty() ? new_query_id() : options.query_id;
  if (!is_query_id(result.query_id))
    throw Error("invalid query id \"" + result.query_id.substr(0, 64) + "\": expected a lower-case UUID");
  result.database = catalog::lower(options.database.empty() ? config_.database : options.database);
  if (sql.size() > config_.max_sql_bytes) {
    refuse(result.query_id, sql, result.database,
           "the query is " + std::to_string(sql.size()) + " bytes long; at most " +
               std::to_string(config_.max_sql_bytes) + " bytes are accepted (query.max_sql_bytes)");
  }
  auto state = register_run(result.query_id);
  struct Unregister {
    QueryEngine& engine;
    const std::string& id;
    ~Unregister() { engine.unregister_run(id); }
  } unregister{*this, result.query_id};
  log_.start(result.query_id, sql, result.database, config_.max_history_sql_bytes);
  QueryRecord record;
  record.id = result.query_id;
  try {
    const auto timeout = options.timeout.value_or(config_.timeout);
    Watchdog watchdog(*state, started + timeout,
                      "query timed out after " + duration_text(timeout) + " (query.timeout)", options.cancel,
                      "query cancelled by " + options.cancelled_by);
    Execution(*this, *state, result, options).run(std::string(sql));
  } catch (...) {
    const Outcome outcome = outcome_of(std::current_exception(), *state);
    record.state = outcome.state;
    record.error = outcome.message;
    record.bytes_scanned = result.bytes_scanned;
    record.planning_ms = result.planning_ms;
    record.rows = result.row_count;
    try {
      log_.finish(record);
    } catch (const std::exception&) {
      // The history is best effort here: the caller gets the query's own error.
    }
    if (outcome.cause == QueryFailed::Cause::kCancelled)
      throw QueryCancelled(result.query_id, outcome.message);
    throw QueryFailed(result.query_id, outcome.message, outcome.cause);
  }
  record.state = "SUCCEEDED";
  record.planning_ms = result.planning_ms;
  record.execution_ms = result.execution_ms;
  record.rows = result.row_count;
  record.bytes_scanned = result.bytes_scanned;
  record.output = result.output;
  log_.finish(record);
  return result;
}

void QueryEngine::refuse(const std::string& query_id, std::string_view sql, const std::string& database,
                         const std::string& why) {
  log_.start(query_id, sql, database, config_.max_history_sql_bytes);
  QueryRecord record;
  record.id = query_id;
  record.state = "FAILED";
  record.error = why;
  log_.finish(record);
  throw QueryFailed(query_id, why);
}

void QueryEngine::record_unrun(const std::string& query_id, std::string_view sql, const std::string& database,
                               const std::string& state, const std::string& why) {
  log_.start(query_id, sql, catalog::lower(database.empty() ? config_.database : database),
             config_.max_history_sql_bytes);
  QueryRecord record;
  record.id = query_id;
  record.state = state;
  record.error = why;
  log_.finish(record);
}

std::shared_ptr<RunState> QueryEngine::register_run(const std::string& query_id) {
  std::lock_guard lock(running_mutex_);
  auto [it, added] = running_.emplace(query_id, std::make_shared<RunState>());
  if (!added) throw Error("query " + query_id + " is already running");
  return it->second;
}

void QueryEngine::unregister_run(const std::string& query_id) {
  std::lock_guard lock(running_mutex_);
  running_.erase(query_id);
}

bool QueryEngine::cancel(const std::string& query_id, const std::string& by) {
  std::lock_guard lock(running_mutex_);
  auto it = running_.find(query_id);
  if (it == running_.end()) return false;
  it->second->request_stop(true, "query cancelled by " + by);
  return true;
}

size_t QueryEngine::cancel_all(const std::string& by) {
  std::lock_guard lock(running_mutex_);
  for (auto& [id, state] : running_) state->request_stop(true, "query cancelled by " + by);
  return running_.size();
}

std::vector<std::string> QueryEngine::running() const {
  std::lock_guard lock(running_mutex_);
  std::vector<std::string> ids;
  for (const auto& [id, state] : running_) ids.push_back(id);
  return ids;
}

namespace {

// Reads an Athena CSV object row by row through ranged reads, holding one window of it at a time.
class CsvObjectReader {
 public:
  CsvObjectReader(const storage::ObjectStore& objects, std::string bucket, std::string key)
      : objects_(objects),
        bucket_(std::move(bucket)),
        key_(std::move(key)),
        where_("the query result s3://" + bucket_ + "/" + key_) {}

  uint64_t position() const { return base_ + pos_; }
  void seek(uint64_t offset) {
    buffer_.clear();
    base_ = offset;
    pos_ = 0;
  }
  // Whether the object ends at position(). Throws storage::NotFound when it is gone.
  bool at_end() { return pos_ >= buffer_.size() && !read_more(); }
  // The next row into `row`; false at the end of the object. Throws Error for text that is not
  // Athena CSV, storage::NotFound when the object is gone.
  bool next(std::vector<std::optional<std::string>>& row) {
    if (at_end()) return false;
    for (;;) {
      const size_t end = parse_csv_row(buffer_, pos_, row, where_, base_);
      if (end != std::string_view::npos) {
        pos_ = end;
        return true;
      }
      if (!read_more()) throw Error(where_ + " is not Athena CSV: its last row has no line end");
    }
  }

 private:
  // Appends the next window of the object to the buffer (dropping what was parsed); false at its end.
  bool read_more() {
    buffer_.erase(0, pos_);
    base_ += pos_;
    pos_ = 0;
    // Grow geometrically so that a row larger than a window is not parsed again and again.
    const uint64_t want = std::max<uint64_t>(kReadWindowBytes, buffer_.size());
    const std::string more = objects_.get_range(bucket_, key_, base_ + buffer_.size(), want);
    buffer_ += more;
    return !more.empty();
  }

  const storage::ObjectStore& objects_;
  const std::string bucket_;
  const std::string key_;
  const std::string where_;
  std::string buffer_;  // object bytes from base_
  uint64_t base_ = 0;
  size_t pos_ = 0;  // in buffer_
};

// The byte offset a page token holds; nullopt for anything that is not a decimal number.
std::optional<uint64_t> token_offset(const std::string& token) {
  if (token.empty() || token.size() > 19 ||
      !std::all_of(token.begin(), token.end(), [](char c) { return c >= '0' && c <= '9'; }))
    return std::nullopt;
  return std::stoull(token);
}

}  // namespace

QueryPage QueryEngine::read_results(const std::string& query_id, const std::string& next_token,
                                    size_t max_rows) const {
  if (max_rows == 0) throw Error("max_rows must be at least 1");
  const auto record = log_.get(query_id);
  if (!record) throw Error("no query with id " + query_id);
  if (record->state != "SUCCEEDED")
    throw Error("query " + query_id + " is " + record->state + ": only a SUCCEEDED query has results");
  const auto location = config::parse_s3_object(record->output);
  if (!location)
    throw Error("query " + query_id + " has no saved result (query.output_location was not set)");
  CsvObjectReader reader(objects_, location->bucket, location->key);
  QueryPage page;
  page.query_id = query_id;
  std::vector<std::optional<std::string>> row;
  if (!reader.next(row)) throw Error("the result of query " + query_id + " has no header row");
  for (auto& name : row) page.columns.push_back(name.value_or(""));
  if (!next_token.empty()) {
    const auto offset = token_offset(next_token);
    // A token is the offset of a row's first byte: past the header, after a '\n', inside the object.
    const std::string around = offset && *offset >= reader.position()
                                   ? objects_.get_range(location->bucket, location->key, *offset - 1, 2)
                                   : std::string();
    if (around.size() != 2 || around[0] != '\n')
      throw Error("invalid next token \"" + next_token.substr(0, 64) + "\" for query " + query_id);
    reader.seek(*offset);
  }
  while (page.rows.size() < max_rows && reader.next(row)) {
    if (row.size() != page.columns.size())
      throw Error("the result of query " + query_id + " is not Athena CSV: a row of " +
                  std::to_string(row.size()) + " fields under " + std::to_string(page.columns.size()) +
                  " columns");
    page.rows.push_back(std::move(row));
  }
  if (!reader.at_end()) page.next_token = std::to_string(reader.position());
  return page;
}

std::string athena_csv(const std::vector<std::string>& columns,
                       const std::vector<std::vector<std::optional<std::string>>>& rows) {
  std::string out;
  append_header(out, columns);
  for (const auto& row : rows) {
    for (size_t i = 0; i < row.size(); ++i) {
      if (i) out += ',';
      append_field(out, row[i] ? std::optional<std::string_view>(*row[i]) : std::nullopt);
    }
    out += '\n';
  }
  return out;
}

bool is_query_id(std::string_view id) {
  if (id.size() != 36) return false;
  for (size_t i = 0; i < id.size(); ++i) {
    const char c = id[i];
    const bool dash = i == 8 || i == 13 || i == 18 || i == 23;
    if (dash ? c != '-' : !((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  }
  return true;
}

std::string new_query_id() {
  std::random_device device;
  std::mt19937_64 rng((static_cast<uint64_t>(device()) << 32) ^ device());
  uint64_t hi = rng(), lo = rng();
  hi = (hi & 0xFFFFFFFFFFFF0FFFull) | 0x0000000000004000ull;  // version 4
  lo = (lo & 0x3FFFFFFFFFFFFFFFull) | 0x8000000000000000ull;  // variant 10
  char text[37];
  std::snprintf(text, sizeof text, "%08x-%04x-%04x-%04x-%012llx", static_cast<unsigned>(hi >> 32),
                static_cast<unsigned>((hi >> 16) & 0xFFFF), static_cast<unsigned>(hi & 0xFFFF),
                static_cast<unsigned>(lo >> 48), static_cast<unsigned long long>(lo & 0xFFFFFFFFFFFFull));
  return text;
}

ReadableFiles::ReadableFiles(const storage::ObjectStore& objects) : objects_(objects) {}

ReadableFiles::~ReadableFiles() = default;

const std::string& ReadableFiles::path(const std::string& bucket, const std::string& key) {
  auto it = paths_.find({bucket, key});
  if (it != paths_.end()) return it->second;
  handles_.push_back(objects_.open_readable(bucket, key));
  return paths_.emplace(std::make_pair(bucket, key), handles_.back()->path().string()).first->second;
}

std::string empty_table_sql(const TableInfo& table) {
  const auto columns = data_columns(table);
  std::string out = "SELECT ";
  for (size_t i = 0; i < columns.size(); ++i)
    out += (i ? ", " : "") + std::string("CAST(NULL AS ") + catalog::duckdb_type(columns[i].type) + ") AS " +
           quote_identifier(columns[i].name);
  for (size_t i = 0; i < table.partition_keys.size(); ++i)
    out += std::string(columns.empty() && i == 0 ? "" : ", ") + "CAST(NULL AS VARCHAR) AS " +
           quote_identifier(table.partition_keys[i]);
  return out + " LIMIT 0";
}

std::string table_scan_sql(const TableInfo& table, const std::vector<FileEntry>& files,
                           ReadableFiles& readable) {
  if (files.empty()) return empty_table_sql(table);
  const auto columns = data_columns(table);
  const bool partitioned = !table.partition_keys.empty();
  // One scan per (format, compression): each reader takes one format.
  std::map<std::pair<FileFormat, bool>, std::vector<const FileEntry*>> groups;
  for (const auto& f : files) groups[{f.format, f.gzip}].push_back(&f);
  std::string out;
  for (const auto& [kind, group] : groups) {
    const auto [format, gzip] = kind;
    const std::string paths = path_list(group, table, readable);
    const std::string file_column =
        partitioned ? std::string(", filename = ") + quote_literal(kFileColumn) : "";
    std::string reader;
    std::set<std::string> present;  // lower-cased names the group's files have (Parquet, CSV)
    for (const auto* f : group)
      for (const auto& c : f->columns) present.insert(c.name);
    std::string select;
    if (format == FileFormat::kJsonLines || format == FileFormat::kJsonArray) {
      std::string types;
      for (const auto& c : columns)
        types += (types.empty() ? "" : ", ") + quote_literal(c.source) + ": " +
                 quote_literal(catalog::duckdb_type(c.type));
      reader = "read_json(" + paths +
               ", format = " + (format == FileFormat::kJsonLines ? "'newline_delimited'" : "'array'") +
               ", compression = " + (gzip ? "'gzip'" : "'uncompressed'") + ", hive_partitioning = false" +
               (types.empty() ? "" : ", columns = {" + types + "}") + file_column + ")";
      for (const auto& c : columns)
        select += (select.empty() ? "" : ", ") + std::string("r.") + quote_identifier(c.source) + " AS " +
                  quote_identifier(c.name);
    } else {
      reader = format == FileFormat::kParquet
                   ? "read_parquet(" + paths + ", union_by_name = true, hive_partitioning = false" +
                         file_column + ")"
                   : "read_csv(" + paths +
                         ", header = true, union_by_name = true, hive_partitioning = false" +
                         (gzip ? ", compression = 'gzip'" : "") + file_column + ")";
      for (const auto& c : columns) {
        // DuckDB binds names case-insensitively: the catalogued lower-case name finds the file's column.
        const std::string value = present.count(c.name) ? "r." + quote_identifier(c.name) : "NULL";
        select += (select.empty() ? "" : ", ") + std::string("CAST(") + value + " AS " +
                  catalog::duckdb_type(c.type) + ") AS " + quote_identifier(c.name);
      }
    }
    std::string from = reader + " AS r";
    if (partitioned) {
      // The partition values of each file, joined on the file name.
      std::string values;
      for (const auto* f : group) {
        values += (values.empty() ? "(" : ", (") + quote_literal(readable.path(table.bucket, f->key));
        for (const auto& v : f->partition_values) values += ", " + quote_literal(v);
        values += ")";
      }
      std::string names = quote_identifier(kFileColumn);
      for (const auto& k : table.partition_keys) {
        names += ", " + quote_identifier(k);
        select += (select.empty() ? "" : ", ") + std::string("p.") + quote_identifier(k) + " AS " +
                  quote_identifier(k);
      }
      from += " JOIN (VALUES " + values + ") AS p(" + names + ") ON r." + quote_identifier(kFileColumn) +
              " = p." + quote_identifier(kFileColumn);
    }
    out += (out.empty() ? "" : " UNION ALL ") + std::string("SELECT ") + select + " FROM " + from;
  }
  return out;
}

}  // namespace sluice::query
