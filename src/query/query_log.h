// QueryLog: the query history (Athena's query executions) in the metastore: every query with its
// id, SQL, database, state (RUNNING, SUCCEEDED, FAILED, CANCELLED), timings, rows, bytes scanned,
// where its result was saved and, when it failed, why.
//
// The history is bounded per query: it keeps a prefix of the SQL (at most max_sql_bytes, cut on a
// UTF-8 character boundary) with the full text's length and SHA-256, which identify a long query, and
// at most kMaxHistoryErrorBytes of an error message.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/time.h"
#include "metastore/metastore.h"

namespace sluice::query {

inline constexpr size_t kMaxHistoryErrorBytes = 4096;

struct QueryRecord {
  std::string id;
  std::string sql;         // the text, or its first bytes when sql_bytes > sql.size()
  uint64_t sql_bytes = 0;  // length of the whole text
  std::string sql_sha256;  // of the whole text, lower-case hex
  std::string database;
  std::string state;  // RUNNING | SUCCEEDED | FAILED | CANCELLED
  TimePoint submitted{};
  std::optional<TimePoint> ended;
  int64_t planning_ms = 0;
  int64_t execution_ms = 0;
  uint64_t rows = 0;
  uint64_t bytes_scanned = 0;
  std::string output;  // s3://bucket/prefix/<id>.csv
  std::string error;

  // Whether `sql` is only a prefix of the query's text.
  bool sql_truncated() const { return sql_bytes > sql.size(); }
};

class QueryLog {
 public:
  explicit QueryLog(metastore::Metastore& db) : db_(db) {}

  // Records a new RUNNING query with at most `max_sql_bytes` of its text, the text's length and its
  // SHA-256. Throws sluice::Error when the metastore cannot (a duplicate id included).
  void start(const std::string& id, std::string_view sql, const std::string& database,
             size_t max_sql_bytes = 16 << 10);
  // By record.id: state, timings, rows, bytes, output, error (cut to kMaxHistoryErrorBytes). Throws
  // sluice::Error for an unknown id or a metastore failure.
  void finish(const QueryRecord& record);
  // The newest `limit` queries, newest first. Throws sluice::Error on a metastore failure.
  std::vector<QueryRecord> list(int limit);
  // One query by id; nullopt when there is none. Throws sluice::Error on a metastore failure.
  std::optional<QueryRecord> get(const std::string& id);

 private:
  metastore::Metastore& db_;
};

// The longest prefix of `text` of at most `max_bytes` bytes that does not end inside a UTF-8
// character.
std::string_view utf8_prefix(std::string_view text, size_t max_bytes);

// SHA-256 of `data` as lower-case hex. Throws sluice::Error if OpenSSL fails.
std::string sha256_hex(std::string_view data);

}  // namespace sluice::query
