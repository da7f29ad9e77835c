#include "catalog/metastore_catalog.h"

#include <map>
#include <nlohmann/json.hpp>

#include "common/error.h"

namespace sluice::catalog {
namespace {

using metastore::Statement;

std::vector<std::string> string_list(const std::string& json) {
  return nlohmann::json::parse(json).get<std::vector<std::string>>();
}

constexpr const char* kTableColumns =
    "SELECT database, name, bucket, prefix, format, columns, partition_keys, version, crawler, created_ms, "
    "updated_ms FROM catalog_tables ";

TableInfo read_table(const Statement& s) {
  TableInfo t;
  t.database = s.column_text(0);
  t.name = s.column_text(1);
  t.bucket = s.column_text(2);
  t.prefix = s.column_text(3);
  t.format = parse_file_format(s.column_text(4)).value_or(FileFormat::kJsonLines);
  t.columns = columns_from_json(nlohmann::json::parse(s.column_text(5)));
  t.partition_keys = string_list(s.column_text(6));
  t.version = static_cast<int>(s.column_int64(7));
  t.crawler = s.column_text(8);
  t.created = from_epoch_ms(s.column_int64(9));
  t.updated = from_epoch_ms(s.column_int64(10));
  return t;
}

}  // namespace

std::string_view to_string(FileFormat format) {
  switch (format) {
    case FileFormat::kJsonLines:
      return "jsonl";
    case FileFormat::kJsonArray:
      return "json";
    case FileFormat::kParquet:
      return "parquet";
    case FileFormat::kCsv:
      return "csv";
  }
  return "jsonl";
}

std::optional<FileFormat> parse_file_format(std::string_view text) {
  if (text == "jsonl") return FileFormat::kJsonLines;
  if (text == "json") return FileFormat::kJsonArray;
  if (text == "parquet") return FileFormat::kParquet;
  if (text == "csv") return FileFormat::kCsv;
  return std::nullopt;
}

std::string_view classification(FileFormat format) {
  switch (format) {
    case FileFormat::kJsonLines:
    case FileFormat::kJsonArray:
      return "json";
    case FileFormat::kParquet:
      return "parquet";
    case FileFormat::kCsv:
      return "csv";
  }
  return "json";
}

std::string glue_table_name(std::string_view folder) {
  std::string out = lower(folder);
  for (char& c : out) {
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_')) c = '_';
  }
  return out.empty() ? "_" : out;
}

std::vector<std::string> MetastoreCatalog::databases() {
  std::lock_guard lock(db_.mutex());
  Statement s(db_, "SELECT name FROM catalog_databases ORDER BY name");
  std::vector<std::string> out;
  while (s.step()) out.push_back(s.column_text(0));
  return out;
}

void MetastoreCatalog::create_database(const std::string& name) {
  db_.transaction([&] {
    Statement(db_, "INSERT OR IGNORE INTO catalog_databases (name, created_ms) VALUES (?, ?)")
        .bind(1, name)
        .bind(2, to_epoch_ms(now_ms()))
        .run();
  });
}

std::vector<TableInfo> MetastoreCatalog::tables(const std::string& database) {
  std::lock_guard lock(db_.mutex());
  Statement s(db_, std::string(kTableColumns) + "WHERE database = ? ORDER BY name");
  s.bind(1, database);
  std::vector<TableInfo> out;
  while (s.step()) out.push_back(read_table(s));
  return out;
}

std::optional<TableInfo> MetastoreCatalog::table(const std::string& database, const std::string& name) {
  std::lock_guard lock(db_.mutex());
  Statement s(db_, std::string(kTableColumns) + "WHERE database = ? AND name = ?");
  s.bind(1, database).bind(2, name);
  if (!s.step()) return std::nullopt;
  return read_table(s);
}

std::vector<TableVersion> MetastoreCatalog::versions(const std::string& database, const std::string& name) {
  std::lock_guard lock(db_.mutex());
  Statement s(db_,
              "SELECT version, columns, partition_keys, changes, created_ms FROM catalog_table_versions "
              "WHERE database = ? AND name = ? ORDER BY version");
  s.bind(1, database).bind(2, name);
  std::vector<TableVersion> out;
  while (s.step()) {
    TableVersion v;
    v.version = static_cast<int>(s.column_int64(0));
    v.columns = columns_from_json(nlohmann::json::parse(s.column_text(1)));
    v.partition_keys = string_list(s.column_text(2));
    v.changes = string_list(s.column_text(3));
    v.time = from_epoch_ms(s.column_int64(4));
    out.push_back(std::move(v));
  }
  return out;
}

std::vector<FileEntry> MetastoreCatalog::files(const std::string& database, const std::string& name) {
  std::lock_guard lock(db_.mutex());
  Statement s(db_,
              "SELECT key, etag, size, format, gzip, partition_values, partition_path, columns FROM "
              "catalog_files WHERE database = ? AND table_name = ? ORDER BY key");
  s.bind(1, database).bind(2, name);
  std::vector<FileEntry> out;
  while (s.step()) {
    FileEntry f;
    f.key = s.column_text(0);
    f.etag = s.column_text(1);
    f.size = static_cast<uint64_t>(s.column_int64(2));
    f.format = parse_file_format(s.column_text(3)).value_or(FileFormat::kJsonLines);
    f.gzip = s.column_int64(4) != 0;
    f.partition_values = string_list(s.column_text(5));
    f.partition_path = s.column_text(6);
    f.columns = columns_from_json(nlohmann::json::parse(s.column_text(7)));
    out.push_back(std::move(f));
  }
  return out;
}

std::vector<PartitionInfo> MetastoreCatalog::partitions(const std::string& database,
                                                        const std::string& name) {
  auto t = table(database, name);
  if (!t || t->partition_keys.empty()) return {};
  std::lock_guard lock(db_.mutex());
  Statement s(db_,
              "SELECT partition_values, partition_path, count(*), sum(size) FROM catalog_files "
              "WHERE database = ? AND table_name = ? GROUP BY partition_values ORDER BY partition_path");
  s.bind(1, database).bind(2, name);
  std::vector<PartitionInfo> out;
  while (s.step()) {
    PartitionInfo p;
    p.values = string_list(s.column_text(0));
    p.location = t->location() + s.column_text(1);
    p.files = static_cast<uint64_t>(s.column_int64(2));
    p.bytes = static_cast<uint64_t>(s.column_int64(3));
    out.push_back(std::move(p));
  }
  return out;
}

int MetastoreCatalog::commit(const TableUpdate& update) {
  const TableInfo& t = update.table;
  return db_.transaction([&] {
    const int64_t now = to_epoch_ms(now_ms());
    Statement(db_, "INSERT OR IGNORE INTO catalog_databases (name, created_ms) VALUES (?, ?)")
        .bind(1, t.database)
        .bind(2, now)
        .run();
    Statement current(db_, "SELECT version FROM catalog_tables WHERE database = ? AND name = ?");
    current.bind(1, t.database).bind(2, t.name);
    const bool exists = current.step();
    int version = exists ? static_cast<int>(current.column_int64(0)) : 0;
    const std::string columns = to_json(t.columns).dump();
    const std::string keys = nlohmann::json(t.partition_keys).dump();
    if (!exists || !update.changes.empty()) {
      ++version;
      Statement(db_,
                "INSERT INTO catalog_table_versions (database, name, version, columns, partition_keys, "
                "changes, created_ms) VALUES (?, ?, ?, ?, ?, ?, ?)")
          .bind(1, t.database)
          .bind(2, t.name)
          .bind(3, version)
          .bind(4, columns)
          .bind(5, keys)
          .bind(6, nlohmann::json(update.changes).dump())
          .bind(7, now)
          .run();
    }
    // One statement for a new table and a changed one; created_ms is kept on update.
    Statement(
        db_,
        "INSERT INTO catalog_tables (database, name, bucket, prefix, format, columns, partition_keys, "
        "version, crawler, created_ms, updated_ms) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) "
        "ON CONFLICT (database, name) DO UPDATE SET bucket = excluded.bucket, prefix = excluded.prefix, "
        "format = excluded.format, columns = excluded.columns, partition_keys = excluded.partition_keys, "
        "version = excluded.version, crawler = excluded.crawler, updated_ms = excluded.updated_ms")
        .bind(1, t.database)
        .bind(2, t.name)
        .bind(3, t.bucket)
        .bind(4, t.prefix)
        .bind(5, to_string(t.format))
        .bind(6, columns)
        .bind(7, keys)
        .bind(8, version)
        .bind(9, t.crawler)
        .bind(10, now)
        .bind(11, now)
        .run();
    for (const auto& key : update.remove_keys) {
      Statement(db_, "DELETE FROM catalog_files WHERE database = ? AND table_name = ? AND key = ?")
          .bind(1, t.database)
          .bind(2, t.name)
          .bind(3, key)
          .run();
    }
    for (const auto& f : update.upsert_files) {
      Statement(db_,
                "INSERT OR REPLACE INTO catalog_files (database, table_name, key, etag, size, format, gzip, "
                "partition_values, partition_path, columns) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)")
          .bind(1, t.database)
          .bind(2, t.name)
          .bind(3, f.key)
          .bind(4, f.etag)
          .bind(5, static_cast<int64_t>(f.size))
          .bind(6, to_string(f.format))
          .bind(7, int64_t{f.gzip ? 1 : 0})
          .bind(8, nlohmann::json(f.partition_values).dump())
          .bind(9, f.partition_path)
          .bind(10, to_json(f.columns).dump())
          .run();
    }
    return version;
  });
}

}  // namespace sluice::catalog
