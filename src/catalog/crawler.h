// Crawler: the Glue crawler of sluice. It walks its S3 targets, infers each data file's schema,
// merges the schemas of a table's files, and commits tables, schema versions and partitions to the
// Catalog. Runs fully (`sluice trigger CRAWLER`, a schedule) or incrementally for objects that just
// landed (on_change), so new data is queryable at once.
//
// How files map to tables, for a target s3://bucket/P/:
//   P/file.json                      -> table named after P's last folder
//   P/k=v/.../file                   -> the same table, partitioned (Hive-style k=v folders)
//   P/users/file.json                -> table "users"; folders below it are partitions:
//   P/users/dt=2026-11-24/file.json     k=v folders give key k, other folders partition_0, partition_1...
// Names are lower-cased with other characters than a-z 0-9 _ replaced by '_' (Glue's rule), after
// the crawler's table_prefix. Files whose name starts with '_' or '.' are skipped (Hive's convention),
// and so are empty files. Formats: JSON Lines, JSON array, Parquet, CSV (header row), each possibly
// gzip'ed; detected from the content (PAR1, gzip magic, first character) and the .csv extension.
// JSON is read through ObjectStore::get; Parquet and CSV by DuckDB from ObjectStore::open_readable,
// confined to the store's readable_directories(), so the crawler needs no local directory of objects.
//
// A file that cannot be read, or whose partition folders do not match its table's, is reported in
// the crawl's warnings and left out; the crawl goes on. So is a column whose types cannot be widened
// into each other (it becomes string, see schema.h).
#pragma once

#include <filesystem>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "catalog/catalog.h"

namespace sluice::storage {
class ObjectStore;
}

namespace sluice::catalog {

struct CrawlerTarget {
  std::string bucket;
  std::string prefix;  // "" (whole bucket) or ending with '/'
};

struct CrawlerConfig {
  std::string name;
  std::string database;
  std::vector<CrawlerTarget> targets;
  std::string table_prefix;  // prepended to every table name it creates
  bool on_change = true;     // also catalogue each object as it lands
};

struct CrawlReport {
  uint64_t files_scanned = 0;    // read and inferred
  uint64_t files_unchanged = 0;  // same ETag as catalogued: not read again
  uint64_t files_removed = 0;    // catalogued but gone
  std::vector<std::string> tables_created;
  std::vector<std::string> tables_updated;  // with a new schema version
  uint64_t partitions_added = 0;
  std::vector<std::string> warnings;  // unreadable files, partition mismatches, type conflicts
};

class Crawler {
 public:
  Crawler(CrawlerConfig config, storage::ObjectStore& objects, Catalog& catalog);
  ~Crawler();
  Crawler(const Crawler&) = delete;
  Crawler& operator=(const Crawler&) = delete;

  const CrawlerConfig& config() const { return config_; }

  // Every object under every target.
  CrawlReport crawl();
  // Only these objects (bucket, key): added or replaced, or removed when they no longer exist.
  CrawlReport crawl_objects(const std::vector<std::pair<std::string, std::string>>& objects);
  // Whether an object lies under one of the targets.
  bool covers(std::string_view bucket, std::string_view key) const;

 private:
  struct Impl;
  CrawlerConfig config_;
  std::unique_ptr<Impl> impl_;
};

}  // namespace sluice::catalog
