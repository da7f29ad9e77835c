// The processing Lambda: an object that lands under a processor's bucket/prefix/suffix is read by
// DuckDB as `input`, the processor's steps compile to one query over it, and the result is written
// as one object under a key derived from the input's (so a retry overwrites, never duplicates).
//
// Steps, applied in order, each over the previous one's result:
//   flatten {separator: "_"}   nested objects become prefixed columns in source order
//                              (address.geo.lat -> address_geo_lat); lists stay lists; two paths that
//                              flatten to the same name are an error naming both
//   filter: "SQL boolean"      keeps the rows where it is true (id < 5)
//   select: [a, b]             keeps these columns, in this order
//   rename: {old: new}
//   cast: {column: TYPE}       DuckDB types (BIGINT, DOUBLE, VARCHAR, DATE, TIMESTAMP, ...)
//   sql: "SELECT ... FROM input"  any query; `input` is the previous step's result
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/error.h"
#include "common/time.h"
#include "sql/duckdb.h"

namespace sluice::process {

struct Step {
  enum class Kind { kFlatten, kFilter, kSelect, kRename, kCast, kSql };
  Kind kind = Kind::kFlatten;
  std::string separator = "_";                               // flatten
  std::string expression;                                    // filter, sql
  std::vector<std::string> columns;                          // select
  std::vector<std::pair<std::string, std::string>> mapping;  // rename (old, new), cast (column, type)
};

enum class InputFormat { kAuto, kJsonArray, kJsonLines, kCsv };
enum class OutputFormat { kJsonLines, kParquet, kCsv };

struct ProcessorConfig {
  std::string name;
  // Which ObjectCreated events it takes (S3 notification filter semantics: prefix and suffix of the key).
  std::string bucket;
  std::string prefix;
  std::string suffix;
  InputFormat input_format = InputFormat::kAuto;  // auto: gzip by magic, CSV by .csv, else [ or { first
  std::vector<Step> steps;
  std::string output_bucket;  // default: the input bucket
  // Output key template: {name} input file name, {basename} without its extensions, {date} the
  // event's date (UTC, YYYY-MM-DD) — e.g. processed/users/processed_{name},
  // processed/users/dt={date}/{basename}.parquet
  std::string output_key;
  OutputFormat output_format = OutputFormat::kJsonLines;
  std::string error_prefix;  // default errors/<name>/: the input and a .error.json land there on failure
};

// Thrown for input that cannot be processed; the message names the processor, the object and the cause.
class ProcessError : public Error {
 public:
  using Error::Error;
};

struct TransformOutput {
  std::string bytes;
  uint64_t records = 0;
  std::vector<sql::Column> columns;  // of the output
  std::string sql;                   // the compiled query, for logs and errors
};

bool matches(const ProcessorConfig& config, std::string_view bucket, std::string_view key);

// The output key for an input key and event time. Throws Error for a bad template field.
std::string output_key(const ProcessorConfig& config, std::string_view input_key, TimePoint event_time);
// Checks an output key template; empty when fine.
std::string validate_output_key(const std::string& templ);

// Runs the steps over `input` (the raw object's bytes, named `input_key`) in a confined in-memory
// DuckDB whose only directory is a private folder under `scratch_dir`.
TransformOutput transform(const ProcessorConfig& config, std::string_view input, std::string_view input_key,
                          const std::filesystem::path& scratch_dir);

}  // namespace sluice::process
