// The processing Lambda: an object that lands under a processor's bucket/prefix/suffix is read as
// `input`, the processor's steps compile to one DuckDB query over it, and the result is written as one
// object under a key derived from the input's (so a retry overwrites, never duplicates).
//
// Input: JSON (an array of objects, or JSON Lines; gunzipped first when gzip'd) is read in one pass
// with simdjson and scanned by DuckDB through a table function, without a scratch copy
// (process/json_reader.h: the types, and how a first flatten step is done while reading); CSV is
// read by DuckDB's read_csv from a scratch copy. Output: JSON Lines (written from the result's chunks,
// process/jsonl_writer.h), Parquet or CSV (DuckDB's COPY). An input without records gives an empty
// JSON Lines or CSV output; Parquet needs columns, so it is a ProcessError there, as are records
// without any key.
//
// Steps, applied in order, each over the previous one's result:
//   flatten {separator: "_"}   nested objects become prefixed columns in source key order
//                              (address.geo.lat -> address_geo_lat); lists stay lists
//   filter: "SQL boolean"      keeps the rows where it is true (id < 5)
//   select: [a, b]             keeps these columns, in this order
//   rename: {old: new}
//   cast: {column: TYPE}       DuckDB types (BIGINT, DOUBLE, VARCHAR, DATE, TIMESTAMP, ...)
//   sql: "SELECT ... FROM input"  any query; `input` is the previous step's result
// User SQL may end in a `-- comment`, newlines or a `;`: a newline always follows it in the query.
//
// No value is lost: a value is never dropped, rounded or renamed into a null. Two keys that become the
// same column (after flattening, or because DuckDB column and struct field names ignore ASCII case:
// `a` and `A`, `a.b` and `a_b` with "_"), a key repeated in one object, an empty key, or a key with a
// control character (U+0000-U+001F, U+007F) is a ProcessError naming the path(s) and the record
// (1-based; the line for JSON Lines) — the input is quarantined with that reason. A later flatten (the
// SQL one, over structs) follows the same rule. Numbers keep their exact value (an integer beyond
// 64 bits, or a column mixing numbers with strings, becomes VARCHAR holding the text as written).
//
// Whose fault a failure is:
//   ProcessError  the input's (or the steps'): it cannot be read (malformed JSON or CSV, a record that
//                 is not an object, a key that would lose values), a step does not bind to it (an
//                 unknown column), a cast or other conversion fails. Retrying cannot help: the input
//                 is quarantined.
//   SystemError   the system's own: the scratch folder cannot be created or written (disk full, I/O
//                 error), DuckDB reports an I/O error, runs out of memory or is interrupted, memory
//                 runs out while reading. The input is fine: the caller retries later, never
//                 quarantines for it.
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
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
  // The input's columns as declared in the pipeline file (name, DuckDB type), in order: the steps are
  // bound against them before any data arrives. Empty: the shape is inferred from an existing object
  // when there is one, else only the SQL's syntax is checked up front.
  std::vector<std::pair<std::string, std::string>> input_schema;
  std::vector<Step> steps;
  std::string output_bucket;  // default: the input bucket
  // Output key template: {name} input file name, {basename} without its extensions, {date} the
  // event's date (UTC, YYYY-MM-DD) — e.g. processed/users/processed_{name},
  // processed/users/dt={date}/{basename}.parquet
  std::string output_key;
  OutputFormat output_format = OutputFormat::kJsonLines;
  std::string error_prefix;  // default errors/<name>/: the input and a .error.json land there on failure
};

// Thrown for input that cannot be processed (the input's fault, see above); the message names the
// processor, the object and the cause.
class ProcessError : public Error {
 public:
  using Error::Error;
};

// A step that does not compile over a given input shape: its index in ProcessorConfig::steps (0-based)
// and DuckDB's message (one line), e.g. "step 2 (filter): Binder Error: Referenced column ...".
struct StepProblem {
  size_t step_index = 0;
  std::string message;
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
// DuckDB whose only directory is a private folder under `scratch_dir` (removed before returning).
// Throws ProcessError for the input's faults and SystemError for the system's (see above); both name
// the processor and the object.
TransformOutput transform(const ProcessorConfig& config, std::string_view input, std::string_view input_key,
                          const std::filesystem::path& scratch_dir);

// Checks the steps before any data arrives: compiles them over an empty `input` with these columns
// and binds the whole query (nothing runs). Returns the first step that does not bind, with DuckDB's
// message; empty when every step binds. `input` may be the shape as read (structs) or already
// flattened: a flatten over flat columns changes nothing. Throws SystemError when DuckDB cannot run.
std::vector<StepProblem> check_steps(const ProcessorConfig& config, const std::vector<sql::Column>& input);

// Checks what can be checked without knowing the input's shape: the syntax of every filter and sql
// step exactly as it is compiled, and that every cast names a type DuckDB knows. One problem per
// failing step, in step order; empty when all parse. Throws SystemError when DuckDB cannot run.
std::vector<StepProblem> parse_only_problems(const ProcessorConfig& config);

// The columns a sample object (the first `max_records` records of `bytes`, named `key`) gives `input`,
// as transform reads it: for JSON the reader's inference (structs and lists as such), for CSV DuckDB's
// read_csv. `format` kAuto detects as transform does (gzip by magic, CSV by name, '[' for an array).
// With `flatten_separator`, objects are flattened as a first flatten step does while reading. Throws
// ProcessError when the sample cannot be read, SystemError for the system's failures.
std::vector<sql::Column> infer_input_shape(
    std::string_view bytes, std::string_view key, InputFormat format, size_t max_records,
    const std::optional<std::string>& flatten_separator = std::nullopt);
// The same for `config`: its input format, and its first step's separator when that step is flatten.
std::vector<sql::Column> infer_input_shape(const ProcessorConfig& config, std::string_view bytes,
                                           std::string_view key, size_t max_records);

}  // namespace sluice::process
