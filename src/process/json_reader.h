// The processor's JSON input: records (a JSON array of objects, or JSON Lines) read in one pass with
// simdjson, the schema inferred over every record while the values are kept column by column (as
// views of their text in the input), then scanned by DuckDB through a table function whose vectors
// are filled straight from those columns (strings are not copied; measured against appending data
// chunks into a table, which costs DuckDB a copy of everything before the query starts).
//
// Types (widened over every record, like the catalog): integers BIGINT, or UBIGINT when some are at
// or above 2^63 and none is negative; numbers with a fraction or exponent DOUBLE (an integer column
// that also holds them becomes DOUBLE); strings VARCHAR, never converted to dates or anything else;
// true/false BOOLEAN; null and a missing key NULL. Objects are STRUCTs (fields in first-seen order,
// merged over records; kept as one column per field while reading, so a struct costs what its flat
// columns do) and arrays LISTs (element types merged; their values are parsed again, from their
// text, when DuckDB scans them), unless flattening. Kinds that cannot
// widen into each other (a string and a number, a boolean and a number, an object and a scalar, an
// object and an array) make the column VARCHAR holding each value's exact text: a string's content,
// a number's digits as written, true/false, an object or array as compact JSON. So does a number
// that would lose digits in the column's type: an integer beyond 64 bits, an integer beyond ±2^53 in
// a DOUBLE column, a number beyond DOUBLE's range. No value is ever rounded or dropped.
//
// Flattening while reading (the processor's first step is flatten): objects become columns named by
// their path joined with the separator (address.geo.lat -> address_geo_lat), in the order in which
// the keys first appear; an object at a path where other records hold a scalar gives both the scalar
// column and the object's columns; an empty object adds nothing; arrays stay LISTs.
//
// Values may nest 128 levels deep (deeper input is an error, as DuckDB's nested types and the
// reader recurse per level).
//
// Keys that would lose values are errors naming the path(s) and the record (1-based; the line for
// JSON Lines): an empty key; a key with a control character (U+0000-U+001F, U+007F); a key repeated
// in one object; two paths that become the same column name, or names that differ only in ASCII
// case (DuckDB column and struct field names ignore case).
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "sql/appender.h"
#include "sql/duckdb.h"

namespace sluice::process {

struct JsonReadOptions {
  bool json_lines = false;                       // else one JSON array of objects
  std::optional<std::string> flatten_separator;  // flatten objects while reading
  size_t max_records = SIZE_MAX;                 // stop after this many (a sample)
};

// Records read from JSON, column by column. Holds views into the JSON text it was read from, which
// must outlive it.
class JsonRecords {
 public:
  // Reads every record of `json`. Throws sluice::Error for input that cannot be read as described in
  // the header comment (naming the record or line), SystemError when memory runs out.
  static JsonRecords read(std::string_view json, const JsonReadOptions& options);

  JsonRecords(JsonRecords&&) noexcept;
  JsonRecords& operator=(JsonRecords&&) noexcept;
  ~JsonRecords();

  size_t record_count() const;
  // The columns as they are loaded: name, SQL type, struct fields.
  std::vector<sql::Column> columns() const;
  // Makes the records readable in `session` as the table function `name()` (columns() in order),
  // which DuckDB scans without copying them first. The records must outlive the queries that use it.
  // Throws Error when DuckDB refuses the function.
  void register_table_function(sql::Session& session, const std::string& name);
  // True when a scan failed for the system's reasons (out of memory), not the data's.
  bool failed_for_system() const;

  struct State;  // the columns and what they refer to (defined with the reader)

 private:
  explicit JsonRecords(std::unique_ptr<State> state);
  std::unique_ptr<State> state_;
};

}  // namespace sluice::process
