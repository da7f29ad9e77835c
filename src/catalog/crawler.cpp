#include "catalog/crawler.h"

#include <algorithm>
#include <fstream>
#include <functional>
#include <map>
#include <optional>
#include <set>

#include "common/compress.h"
#include "common/error.h"
#include "sql/duckdb.h"
#include "storage/object_store.h"

namespace sluice::catalog {
namespace {

// Where an object belongs: its table and the partition folders between the table and the file.
struct Placement {
  std::string table;
  std::string bucket;
  std::string prefix;             // the table's location within the bucket
  std::vector<std::string> dirs;  // partition folders, outermost first
};

std::vector<std::string> split(std::string_view text, char sep) {
  std::vector<std::string> out;
  size_t start = 0;
  while (true) {
    const auto at = text.find(sep, start);
    out.emplace_back(text.substr(start, at == std::string_view::npos ? std::string_view::npos : at - start));
    if (at == std::string_view::npos) return out;
    start = at + 1;
  }
}

bool is_partition_folder(std::string_view dir) {
  const auto eq = dir.find('=');
  return eq != std::string_view::npos && eq > 0;
}

bool ends_with(std::string_view text, std::string_view suffix) {
  return text.size() >= suffix.size() && text.substr(text.size() - suffix.size()) == suffix;
}

}  // namespace

struct Crawler::Impl {
  const CrawlerConfig& config;
  storage::ObjectStore& objects;
  Catalog& catalog;
  std::unique_ptr<sql::Database> duck;  // opened at the first Parquet or CSV file
  std::unique_ptr<sql::Connection> duck_connection;

  std::optional<Placement> locate(std::string_view bucket, std::string_view key) const {
    for (const auto& target : config.targets) {
      if (target.bucket != bucket || key.substr(0, target.prefix.size()) != target.prefix) continue;
      std::vector<std::string> parts = split(key.substr(target.prefix.size()), '/');
      const std::string file = parts.back();
      parts.pop_back();
      if (file.empty() || file[0] == '_' || file[0] == '.' || ends_with(file, "$folder$"))
        return std::nullopt;
      Placement p;
      p.bucket = target.bucket;
      if (parts.empty() || is_partition_folder(parts.front())) {
        // Files (or partition folders) right under the target: the target folder is the table.
        std::string_view folder = target.prefix;
        if (!folder.empty()) folder.remove_suffix(1);
        const auto slash = folder.rfind('/');
        if (slash != std::string_view::npos) folder = folder.substr(slash + 1);
        p.table = glue_table_name(config.table_prefix + std::string(folder.empty() ? bucket : folder));
        p.prefix = target.prefix;
        p.dirs = std::move(parts);
      } else {
        p.table = glue_table_name(config.table_prefix + parts.front());
        p.prefix = target.prefix + parts.front() + "/";
        p.dirs.assign(parts.begin() + 1, parts.end());
      }
      return p;
    }
    return std::nullopt;
  }

  sql::Connection& duckdb() {
    if (!duck_connection) {
      std::vector<std::string> allowed;
      for (const auto& dir : objects.readable_directories()) allowed.push_back(dir.string());
      if (allowed.empty())
        throw Error("reading Parquet and CSV schemas needs an object store that hands DuckDB files");
      duck = std::make_unique<sql::Database>(
          sql::DatabaseOptions{.threads = 1, .allowed_directories = std::move(allowed)});
      duck_connection = std::make_unique<sql::Connection>(*duck);
    }
    return *duck_connection;
  }

  // The columns of a Parquet or CSV object, read by DuckDB from the file the store hands out.
  // `reader` makes the reader call from the file's quoted path.
  std::vector<Column> describe_file(const storage::ObjectInfo& info,
                                    const std::function<std::string(const std::string&)>& reader) {
    const auto file = objects.open_readable(info.bucket, info.key);
    return describe(reader(sql::quote_literal(file->path().string())));
  }

  std::vector<Column> describe(const std::string& reader) {
    auto described = duckdb().query("DESCRIBE SELECT * FROM " + reader);
    std::vector<Column> columns;
    for (size_t i = 0; i < described.row_count(); ++i) {
      if (!described.value(i, 0) || !described.value(i, 1)) continue;
      Column c;
      c.source = *described.value(i, 0);
      c.name = lower(c.source);
      c.type = from_duckdb_type(*described.value(i, 1));
      columns.push_back(std::move(c));
    }
    return columns;
  }

  // The file's format and schema; nullopt for an empty file. Throws Error when it cannot be read.
  std::optional<FileEntry> infer(const storage::ObjectInfo& info) {
    FileEntry entry;
    entry.key = info.key;
    entry.etag = info.etag;
    entry.size = info.size;
    if (info.size == 0) return std::nullopt;
    const auto parquet = [](const std::string& path) {
      return "read_parquet(" + path + ", hive_partitioning = false)";
    };
    if (ends_with(info.key, ".parquet")) {
      entry.format = FileFormat::kParquet;
      entry.columns = describe_file(info, parquet);
      return entry;
    }
    const std::string data = objects.get(info.bucket, info.key);
    entry.gzip = compress::is_gzip(data);
    const std::string text = entry.gzip ? compress::gunzip(data) : std::string();
    const std::string_view body = entry.gzip ? std::string_view(text) : std::string_view(data);
    std::string_view name = info.key;
    if (ends_with(name, ".gz")) name.remove_suffix(3);
    if (body.substr(0, 4) == "PAR1") {
      entry.format = FileFormat::kParquet;
      entry.columns = describe_file(info, parquet);
      return entry;
    }
    if (ends_with(name, ".csv")) {
      entry.format = FileFormat::kCsv;
      entry.columns = describe_file(info, [&](const std::string& path) {
        return "read_csv(" + path + ", header = true, hive_partitioning = false" +
               (entry.gzip ? ", compression = 'gzip'" : "") + ")";
      });
      return entry;
    }
    const auto first = body.find_first_not_of(" \t\r\n");
    if (first == std::string_view::npos) return std::nullopt;
    if (body[first] == '[') {
      entry.format = FileFormat::kJsonArray;
    } else if (body[first] == '{') {
      entry.format = FileFormat::kJsonLines;
    } else {
      throw Error("not JSON, Parquet or CSV (it starts with byte " +
                  std::to_string(static_cast<unsigned char>(body[first])) + ")");
    }
    entry.columns = infer_json(body, entry.format == FileFormat::kJsonLines);
    return entry;
  }

  // Partition keys and values from the folders; a mismatch with the table's keys is an Error.
  static void assign_partitions(const Placement& p, const std::vector<std::string>& keys, FileEntry& entry) {
    if (p.dirs.size() != keys.size()) {
      throw Error("it lies " + std::to_string(p.dirs.size()) +
                  " folder(s) below the table location, but the table has " + std::to_string(keys.size()) +
                  " partition key(s)");
    }
    entry.partition_path.clear();
    entry.partition_values.clear();
    for (size_t i = 0; i < keys.size(); ++i) {
      const std::string& dir = p.dirs[i];
      entry.partition_path += dir + "/";
      if (is_partition_folder(dir)) {
        const auto eq = dir.find('=');
        if (lower(dir.substr(0, eq)) != keys[i]) {
          throw Error("its partition folder \"" + dir + "\" does not match the table's partition key \"" +
                      keys[i] + "\"");
        }
        entry.partition_values.push_back(dir.substr(eq + 1));
      } else if (keys[i] == "partition_" + std::to_string(i)) {
        entry.partition_values.push_back(dir);
      } else {
        throw Error("its folder \"" + dir + "\" is not a " + keys[i] + "=VALUE partition folder");
      }
    }
  }

  static std::vector<std::string> partition_keys_of(const Placement& p) {
    std::vector<std::string> keys;
    for (size_t i = 0; i < p.dirs.size(); ++i) {
      const std::string& dir = p.dirs[i];
      keys.push_back(is_partition_folder(dir) ? lower(dir.substr(0, dir.find('=')))
                                              : "partition_" + std::to_string(i));
    }
    return keys;
  }

  // A table first seen: where its files are, and the partition layout most of them share (a stray
  // folder does not decide it).
  TableInfo new_table(const std::string& table_name,
                      const std::vector<std::pair<storage::ObjectInfo, Placement>>& present) const {
    TableInfo table;
    table.database = config.database;
    table.name = table_name;
    table.bucket = present.front().second.bucket;
    table.prefix = present.front().second.prefix;
    std::map<std::vector<std::string>, size_t> layouts;
    for (const auto& item : present) ++layouts[partition_keys_of(item.second)];
    table.partition_keys = std::max_element(layouts.begin(), layouts.end(), [](const auto& a, const auto& b) {
                             return a.second < b.second;
                           })->first;
    return table;
  }

  // Reads the schema of each present object whose ETag changed (into `fresh`), noting in `seen` the
  // keys that belong to the table; unreadable files are warnings and leave the table.
  void read_changed(const TableInfo& table, const std::map<std::string, FileEntry>& files,
                    const std::vector<std::pair<storage::ObjectInfo, Placement>>& present,
                    std::set<std::string>& seen, std::vector<FileEntry>& fresh, TableUpdate& update,
                    CrawlReport& report) {
    const std::string where_table = config.database + "." + table.name;
    for (const auto& [info, placement] : present) {
      if (placement.bucket != table.bucket || placement.prefix != table.prefix) {
        // Two folders that map to one table name (users/ under two targets): the first one wins.
        report.warnings.push_back("s3://" + info.bucket + "/" + info.key + " left out: table " + where_table +
                                  " is at " + table.location() + " (give the crawler a table_prefix)");
        continue;
      }
      seen.insert(info.key);
      auto it = files.find(info.key);
      if (it != files.end() && it->second.etag == info.etag) {
        ++report.files_unchanged;
        continue;
      }
      const std::string where = "s3://" + info.bucket + "/" + info.key;
      try {
        auto entry = infer(info);
        ++report.files_scanned;
        if (!entry) {
          if (it != files.end()) update.remove_keys.push_back(info.key);
          continue;
        }
        assign_partitions(placement, table.partition_keys, *entry);
        fresh.push_back(std::move(*entry));
      } catch (const std::exception& e) {
        report.warnings.push_back(where + " left out of " + where_table + ": " + e.what());
        if (it != files.end()) update.remove_keys.push_back(info.key);
      }
    }
  }

  // Applies what was found for one table: `present` are objects that exist (all of them on a full
  // crawl), `gone` are keys that no longer exist. On a full crawl, catalogued files not in `present`
  // are gone too.
  void update_table(const std::string& table_name,
                    const std::vector<std::pair<storage::ObjectInfo, Placement>>& present,
                    const std::vector<std::string>& gone, bool full, CrawlReport& report) {
    const std::string where_table = config.database + "." + table_name;
    std::optional<TableInfo> existing = catalog.table(config.database, table_name);
    std::map<std::string, FileEntry> files;
    for (auto& f : catalog.files(config.database, table_name)) files.emplace(f.key, std::move(f));
    std::set<std::vector<std::string>> partitions_before;
    for (const auto& [key, f] : files) partitions_before.insert(f.partition_values);

    TableUpdate update;
    TableInfo& table = update.table;
    if (existing) {
      table = *existing;
    } else {
      if (present.empty()) return;
      table = new_table(table_name, present);
    }
    table.crawler = config.name;

    std::set<std::string> seen;
    std::vector<FileEntry> fresh;
    read_changed(table, files, present, seen, fresh, update, report);
    for (const auto& key : gone)
      if (files.count(key)) update.remove_keys.push_back(key);
    if (full) {
      for (const auto& [key, f] : files)
        if (!seen.count(key)) update.remove_keys.push_back(key);
    }
    if (fresh.empty() && update.remove_keys.empty() && existing) return;

    for (const auto& entry : fresh) {
      auto merged = merge(table.columns, entry.columns, "s3://" + table.bucket + "/" + entry.key);
      table.columns = std::move(merged.columns);
      update.changes.insert(update.changes.end(), merged.changes.begin(), merged.changes.end());
      for (auto& conflict : merged.conflicts) report.warnings.push_back(where_table + ": " + conflict);
    }
    if (!existing) update.changes.insert(update.changes.begin(), "created by crawler " + config.name);

    // The table's format is that of most of its files.
    for (const auto& key : update.remove_keys) files.erase(key);
    for (const auto& entry : fresh) files[entry.key] = entry;
    std::map<FileFormat, size_t> formats;
    for (const auto& [key, f] : files) ++formats[f.format];
    if (!formats.empty()) {
      table.format = std::max_element(formats.begin(), formats.end(), [](const auto& a, const auto& b) {
                       return a.second < b.second;
                     })->first;
    }
    std::set<std::vector<std::string>> partitions_after;
    for (const auto& [key, f] : files) partitions_after.insert(f.partition_values);
    if (!table.partition_keys.empty()) {
      for (const auto& values : partitions_after)
        if (!partitions_before.count(values)) ++report.partitions_added;
    }
    update.upsert_files = std::move(fresh);
    if (!existing)
      report.tables_created.push_back(where_table);
    else if (!update.changes.empty())
      report.tables_updated.push_back(where_table);
    report.files_removed += update.remove_keys.size();
    catalog.commit(update);
  }
};

Crawler::Crawler(CrawlerConfig config, storage::ObjectStore& objects, Catalog& catalog)
    : config_(std::move(config)),
      impl_(std::make_unique<Impl>(Impl{config_, objects, catalog, nullptr, nullptr})) {}

Crawler::~Crawler() = default;

bool Crawler::covers(std::string_view bucket, std::string_view key) const {
  return impl_->locate(bucket, key).has_value();
}

CrawlReport Crawler::crawl() {
  CrawlReport report;
  impl_->catalog.create_database(config_.database);
  std::map<std::string, std::vector<std::pair<storage::ObjectInfo, Placement>>> by_table;
  for (const auto& target : config_.targets) {
    storage::ListRequest request;
    request.prefix = target.prefix;
    while (true) {
      auto page = impl_->objects.list(target.bucket, request);
      for (auto& info : page.objects) {
        auto placement = impl_->locate(target.bucket, info.key);
        if (!placement) continue;
        by_table[placement->table].emplace_back(std::move(info), std::move(*placement));
      }
      if (!page.is_truncated) break;
      request.continuation_token = page.next_continuation_token;
    }
  }
  for (auto& [table, present] : by_table) impl_->update_table(table, present, {}, true, report);
  // Tables of this crawler whose files are all gone.
  for (const auto& table : impl_->catalog.tables(config_.database)) {
    if (table.crawler == config_.name && !by_table.count(table.name))
      impl_->update_table(table.name, {}, {}, true, report);
  }
  return report;
}

CrawlReport Crawler::crawl_objects(const std::vector<std::pair<std::string, std::string>>& objects) {
  CrawlReport report;
  std::map<std::string, std::vector<std::pair<storage::ObjectInfo, Placement>>> present;
  std::map<std::string, std::vector<std::string>> gone;
  for (const auto& [bucket, key] : objects) {
    auto placement = impl_->locate(bucket, key);
    if (!placement) continue;
    if (auto info = impl_->objects.head(bucket, key)) {
      present[placement->table].emplace_back(std::move(*info), *placement);
    } else {
      gone[placement->table].push_back(key);
    }
  }
  if (present.empty() && gone.empty()) return report;
  impl_->catalog.create_database(config_.database);
  std::set<std::string> tables;
  for (const auto& [t, v] : present) tables.insert(t);
  for (const auto& [t, v] : gone) tables.insert(t);
  for (const auto& table : tables) impl_->update_table(table, present[table], gone[table], false, report);
  return report;
}

}  // namespace sluice::catalog
