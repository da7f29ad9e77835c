#include "query/engine.h"

#include <chrono>
#include <map>
#include <nlohmann/json.hpp>
#include <random>
#include <set>

#include "query/planner.h"
#include "sql/duckdb.h"
#include "storage/object_store.h"

namespace sluice::query {
namespace {

using catalog::FileEntry;
using catalog::FileFormat;
using catalog::TableInfo;
using sql::quote_identifier;
using sql::quote_literal;

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
                      const storage::ObjectStore& objects) {
  std::string out = "[";
  for (size_t i = 0; i < files.size(); ++i) {
    auto path = objects.local_path(table.bucket, files[i]->key);
    if (!path)
      throw Error("table " + table.database + "." + table.name + ": the object store has no local files");
    out += (i ? ", " : "") + quote_literal(path->string());
  }
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

}  // namespace

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

std::string athena_csv(const std::vector<std::string>& columns,
                       const std::vector<std::vector<std::optional<std::string>>>& rows) {
  std::string out;
  auto field = [&](const std::string& value) {
    out += '"';
    for (char c : value) {
      if (c == '"') out += '"';
      out += c;
    }
    out += '"';
  };
  for (size_t i = 0; i < columns.size(); ++i) {
    if (i) out += ',';
    field(columns[i]);
  }
  out += '\n';
  for (const auto& row : rows) {
    for (size_t i = 0; i < row.size(); ++i) {
      if (i) out += ',';
      if (row[i]) field(*row[i]);
    }
    out += '\n';
  }
  return out;
}

std::string table_scan_sql(const TableInfo& table, const std::vector<FileEntry>& files,
                           const storage::ObjectStore& objects) {
  const auto columns = data_columns(table);
  const bool partitioned = !table.partition_keys.empty();
  if (files.empty()) {
    std::string out = "SELECT ";
    for (size_t i = 0; i < columns.size(); ++i)
      out += (i ? ", " : "") + std::string("CAST(NULL AS ") + catalog::duckdb_type(columns[i].type) +
             ") AS " + quote_identifier(columns[i].name);
    for (size_t i = 0; i < table.partition_keys.size(); ++i)
      out += std::string(columns.empty() && i == 0 ? "" : ", ") + "CAST(NULL AS VARCHAR) AS " +
             quote_identifier(table.partition_keys[i]);
    return out + " LIMIT 0";
  }
  // One scan per (format, compression): each reader takes one format.
  std::map<std::pair<FileFormat, bool>, std::vector<const FileEntry*>> groups;
  for (const auto& f : files) groups[{f.format, f.gzip}].push_back(&f);
  std::string out;
  for (const auto& [kind, group] : groups) {
    const auto [format, gzip] = kind;
    const std::string paths = path_list(group, table, objects);
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
        values += (values.empty() ? "(" : ", (") +
                  quote_literal(objects.local_path(table.bucket, f->key)->string());
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

QueryEngine::QueryEngine(QueryConfig config, catalog::Catalog& catalog, storage::ObjectStore& objects,
                         QueryLog& log)
    : config_(std::move(config)), catalog_(catalog), objects_(objects), log_(log) {}

QueryResult QueryEngine::run(std::string_view sql_text, const std::string& database_override) {
  const auto started = std::chrono::steady_clock::now();
  QueryResult result;
  result.query_id = new_query_id();
  result.database = catalog::lower(database_override.empty() ? config_.database : database_override);
  const std::string sql(sql_text);
  log_.start(result.query_id, sql, result.database);
  QueryRecord record;
  record.id = result.query_id;
  try {
    sql::DatabaseOptions options;
    options.threads = config_.threads;
    options.memory_limit = config_.memory_limit;
    if (auto root = objects_.local_root())
      options.allowed_directories = {root->string()};
    else
      options.allowed_directories = {"/nonexistent-sluice-confinement"};
    sql::Database db(options);
    sql::Connection c(db);

    // 1. One read-only SELECT, and the tables it reads.
    auto serialized = c.query("SELECT json_serialize_sql(" + quote_literal(sql) + ")");
    if (serialized.row_count() != 1 || !serialized.value(0, 0))
      throw QueryRefused("the query could not be parsed");
    const auto references = analyze(nlohmann::json::parse(*serialized.value(0, 0)), sql);

    // 2. A view per catalog table read, over the files its conditions leave.
    struct Scan {
      TableInfo table;
      std::vector<FileEntry> all;
      std::set<std::string> kept;
      bool bare = false;
    };
    std::map<std::pair<std::string, std::string>, Scan> scans;
    for (const auto& ref : references) {
      const std::string schema = ref.schema.empty() ? result.database : ref.schema;
      auto key = std::make_pair(schema, ref.table);
      auto it = scans.find(key);
      if (it == scans.end()) {
        auto table = catalog_.table(schema, ref.table);
        if (!table) continue;  // a CTE, or unknown: DuckDB says which
        it = scans.emplace(key, Scan{*table, catalog_.files(schema, ref.table), {}, false}).first;
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
      std::vector<FileEntry> kept;
      for (const auto& f : scan.all) {
        if (scan.kept.count(f.key)) {
          kept.push_back(f);
          result.bytes_scanned += f.size;
        }
      }
      const std::string body = table_scan_sql(scan.table, kept, objects_);
      if (schemas.insert(key.first).second)
        c.execute("CREATE SCHEMA IF NOT EXISTS " + quote_identifier(key.first));
      c.execute("CREATE VIEW " + quote_identifier(key.first) + "." + quote_identifier(key.second) + " AS " +
                body);
      if (scan.bare && key.first == result.database)
        c.execute("CREATE VIEW main." + quote_identifier(key.second) + " AS " + body);
    }
    result.planning_ms = elapsed_ms(started);

    // 3. Run it. Nested values (structs, lists, maps) are rendered as DuckDB's text for them: the
    // query is wrapped to cast its columns, by position, since names may repeat.
    std::string body = sql;
    while (!body.empty() && (std::isspace(static_cast<unsigned char>(body.back())) || body.back() == ';'))
      body.pop_back();
    const auto described = c.describe(body);
    bool nested = false;
    for (const auto& column : described) {
      result.columns.push_back(column.name);
      result.types.push_back(column.type);
      nested =
          nested || column.type.find_first_of("[(") != std::string::npos || column.type.rfind("MAP", 0) == 0;
    }
    std::string run_sql = body;
    if (nested) {
      run_sql = "SELECT ";
      for (size_t i = 0; i < described.size(); ++i)
        run_sql += (i ? ", " : "") + std::string("CAST(#") + std::to_string(i + 1) + " AS VARCHAR) AS " +
                   quote_identifier(described[i].name);
      run_sql += " FROM (" + body + ") AS sluice_query";
    }
    const auto executing = std::chrono::steady_clock::now();
    auto rows = c.query(run_sql);
    result.execution_ms = elapsed_ms(executing);
    result.rows = rows.rows();

    // 4. Save the result as Athena does.
    if (!config_.output_bucket.empty()) {
      const std::string key = config_.output_prefix + result.query_id + ".csv";
      objects_.put(config_.output_bucket, key, athena_csv(result.columns, result.rows));
      result.output = "s3://" + config_.output_bucket + "/" + key;
    }
    record.state = "SUCCEEDED";
    record.planning_ms = result.planning_ms;
    record.execution_ms = result.execution_ms;
    record.rows = result.rows.size();
    record.bytes_scanned = result.bytes_scanned;
    record.output = result.output;
    log_.finish(record);
    return result;
  } catch (const std::exception& e) {
    record.state = "FAILED";
    record.error = one_line(e.what());
    record.bytes_scanned = result.bytes_scanned;
    record.planning_ms = result.planning_ms;
    try {
      log_.finish(record);
    } catch (const std::exception&) {
      // The history is best effort here: the caller gets the query's own error.
    }
    throw QueryFailed(result.query_id, record.error);
  }
}

}  // namespace sluice::query
