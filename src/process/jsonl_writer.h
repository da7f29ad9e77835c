// JSON Lines written straight from a query's result chunks (measured faster than DuckDB's
// COPY ... (FORMAT json) on the processor's results; see bench/RESULTS.md). Same semantics as DuckDB's
// JSON writer: one object per row with the columns in order; integers as digits; DOUBLE/FLOAT as the
// shortest text that reads back to the same value, with ".0" on integral values, Infinity/-Infinity/
// NaN as DuckDB writes them; strings with `"`, `\` and control characters escaped (\n, \t, \u0001 ...),
// everything else (UTF-8, `/`, U+007F) as is; NULL as null; LISTs as arrays and STRUCTs as objects
// (every field, null ones included), recursively.
//
// It renders BOOLEAN, the signed and unsigned integers up to HUGEINT/UHUGEINT, FLOAT, DOUBLE, VARCHAR,
// LIST and STRUCT of those; supports() says whether a result is made of them (otherwise the caller
// uses DuckDB's COPY, which renders dates, decimals, JSON and the rest).
#pragma once

#include <duckdb.h>

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "sql/appender.h"

namespace sluice::process {

class JsonLinesWriter {
 public:
  // True when every column of `stream` (nested types included) is one this writer renders.
  static bool supports(const sql::ResultStream& stream);

  // Prepares the keys and per-type writers for `stream`'s columns; `expected_bytes` of output are
  // reserved up front (more is fine, at the cost of a copy).
  JsonLinesWriter(const sql::ResultStream& stream, size_t expected_bytes);
  ~JsonLinesWriter();
  JsonLinesWriter(const JsonLinesWriter&) = delete;
  JsonLinesWriter& operator=(const JsonLinesWriter&) = delete;

  // Appends one line per row of `chunk`. Throws std::bad_alloc when memory runs out.
  void write(duckdb_data_chunk chunk);
  // The lines written so far (the writer starts over empty).
  std::string take();
  uint64_t rows() const { return rows_; }

  struct Column {
    duckdb_type id = DUCKDB_TYPE_INVALID;
    std::string key;               // "\"name\":", the separator before it included for all but the first
    std::vector<Column> children;  // struct fields (with their keys) or a list's element
  };

  class Buffer;  // the output, in blocks (defined with the writer)

 private:
  std::vector<Column> columns_;
  std::unique_ptr<Buffer> buffer_;
  uint64_t rows_ = 0;
};

}  // namespace sluice::process
