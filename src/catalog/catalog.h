// Catalog: the Glue Data Catalog of sluice — databases, tables (location, format, columns, partition
// keys, schema version history), their partitions and the files behind them. Crawlers write it; the
// query engine reads it. The embedded default keeps it in the metastore (MetastoreCatalog).
//
// A table's partitions are the distinct partition values of its files: a partition exists while it
// holds at least one catalogued file, so the two can never disagree.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "catalog/schema.h"
#include "common/time.h"

namespace sluice::catalog {

enum class FileFormat { kJsonLines, kJsonArray, kParquet, kCsv };
std::string_view to_string(FileFormat format);  // jsonl | json | parquet | csv
std::optional<FileFormat> parse_file_format(std::string_view text);
// Glue's classification of a table: json, parquet or csv.
std::string_view classification(FileFormat format);

// One data file of a table, with the schema inferred from it alone.
struct FileEntry {
  std::string key;  // object key in the table's bucket
  std::string etag;
  uint64_t size = 0;
  FileFormat format = FileFormat::kJsonLines;
  bool gzip = false;
  std::vector<std::string> partition_values;  // in the table's partition key order
  std::string partition_path;                 // "dt=2026-11-24/" relative to the table location
  std::vector<Column> columns;
};

struct TableInfo {
  std::string database;
  std::string name;
  std::string bucket;
  std::string prefix;                          // ends with '/' (or is empty: the whole bucket)
  FileFormat format = FileFormat::kJsonLines;  // of most of its files
  std::vector<Column> columns;
  std::vector<std::string> partition_keys;  // partition columns are strings, as Glue registers them
  int version = 0;
  std::string crawler;
  TimePoint created{};
  TimePoint updated{};

  std::string location() const { return "s3://" + bucket + "/" + prefix; }
};

struct TableVersion {
  int version = 0;
  std::vector<Column> columns;
  std::vector<std::string> partition_keys;
  std::vector<std::string> changes;  // what changed from the previous version
  TimePoint time{};
};

struct PartitionInfo {
  std::vector<std::string> values;
  std::string location;  // s3://bucket/prefix/dt=.../
  uint64_t files = 0;
  uint64_t bytes = 0;
};

// One change to a table, committed atomically: its new definition, and the files added, replaced
// or gone. A non-empty `changes` records a new schema version.
struct TableUpdate {
  TableInfo table;  // version, created and updated are set by commit
  std::vector<std::string> changes;
  std::vector<FileEntry> upsert_files;
  std::vector<std::string> remove_keys;
};

class Catalog {
 public:
  virtual ~Catalog() = default;

  virtual std::vector<std::string> databases() = 0;
  virtual void create_database(const std::string& name) = 0;  // no-op when it exists

  virtual std::vector<TableInfo> tables(const std::string& database) = 0;
  virtual std::optional<TableInfo> table(const std::string& database, const std::string& name) = 0;
  virtual std::vector<TableVersion> versions(const std::string& database, const std::string& name) = 0;
  virtual std::vector<PartitionInfo> partitions(const std::string& database, const std::string& name) = 0;
  virtual std::vector<FileEntry> files(const std::string& database, const std::string& name) = 0;

  // Creates or updates the table (and its database) with the files; returns the table's version.
  virtual int commit(const TableUpdate& update) = 0;
};

// Glue's table naming: lower-cased, every character other than a-z, 0-9 and '_' replaced by '_'.
std::string glue_table_name(std::string_view folder);

}  // namespace sluice::catalog
