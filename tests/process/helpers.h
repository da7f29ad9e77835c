// Shared by the processor tests: a processor config, running transform, reading its outputs back.
#pragma once

#include <nlohmann/json.hpp>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

#include "common/fs.h"
#include "process/processor.h"
#include "sql/appender.h"
#include "sql/duckdb.h"
#include "tests/common/temp_dir.h"

namespace sluice::process::test_support {

using json = nlohmann::ordered_json;

inline std::vector<json> lines_of(const std::string& jsonl) {
  std::vector<json> out;
  std::istringstream in(jsonl);
  for (std::string line; std::getline(in, line);)
    if (!line.empty()) out.push_back(json::parse(line));
  return out;
}

inline std::vector<std::string> raw_lines_of(const std::string& jsonl) {
  std::vector<std::string> out;
  std::istringstream in(jsonl);
  for (std::string line; std::getline(in, line);)
    if (!line.empty()) out.push_back(line);
  return out;
}

inline ProcessorConfig config_with(std::vector<Step> steps, OutputFormat format = OutputFormat::kJsonLines) {
  ProcessorConfig c;
  c.name = "p";
  c.bucket = "raw";
  c.prefix = "in/";
  c.output_key = "out/{name}";
  c.steps = std::move(steps);
  c.output_format = format;
  return c;
}

inline Step flatten() { return Step{.kind = Step::Kind::kFlatten}; }
inline Step filter(std::string expression) {
  return Step{.kind = Step::Kind::kFilter, .expression = std::move(expression)};
}
inline Step sql_step(std::string query) {
  return Step{.kind = Step::Kind::kSql, .expression = std::move(query)};
}

// Rows of a query as text (DuckDB's VARCHAR cast; nullopt for NULL), read through sql::Session.
class TextRows {
 public:
  TextRows(sql::Session& session, const std::string& query) {
    sql::ResultStream stream(session, "SELECT CAST(COLUMNS(*) AS VARCHAR) FROM (" + query + "\n)");
    while (auto chunk = stream.next()) {
      const idx_t columns = duckdb_data_chunk_get_column_count(chunk.get());
      for (idx_t row = 0; row < duckdb_data_chunk_get_size(chunk.get()); ++row) {
        rows_.emplace_back();
        for (idx_t c = 0; c < columns; ++c) {
          duckdb_vector vector = duckdb_data_chunk_get_vector(chunk.get(), c);
          uint64_t* validity = duckdb_vector_get_validity(vector);
          if (validity && !duckdb_validity_row_is_valid(validity, row)) {
            rows_.back().push_back(std::nullopt);
            continue;
          }
          auto* text = &static_cast<duckdb_string_t*>(duckdb_vector_get_data(vector))[row];
          rows_.back().emplace_back(std::string(duckdb_string_t_data(text), duckdb_string_t_length(*text)));
        }
      }
    }
  }
  size_t row_count() const { return rows_.size(); }
  const std::optional<std::string>& value(size_t row, size_t column) const { return rows_[row][column]; }

 private:
  std::vector<std::vector<std::optional<std::string>>> rows_;
};

// Runs `select_from_p` over a Parquet output, which it reads as `p`.
inline TextRows query_parquet(const std::string& parquet, const std::string& select_from_p) {
  testing_util::TempDir dir;
  const auto path = dir.path() / "p.parquet";
  fs::write_file_atomic(path, parquet);
  sql::Session session({});
  return TextRows(session, "WITH p AS (SELECT * FROM read_parquet(" + sql::quote_literal(path.string()) +
                               ")) " + select_from_p);
}

}  // namespace sluice::process::test_support
