// QueryLog: the query history (Athena's query executions) in the metastore: every query with its
// id, SQL, database, state (RUNNING, SUCCEEDED, FAILED), timings, rows, bytes scanned, where its
// result was saved and, when it failed, why.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "common/time.h"
#include "metastore/metastore.h"

namespace sluice::query {

struct QueryRecord {
  std::string id;
  std::string sql;
  std::string database;
  std::string state;  // RUNNING | SUCCEEDED | FAILED
  TimePoint submitted{};
  std::optional<TimePoint> ended;
  int64_t planning_ms = 0;
  int64_t execution_ms = 0;
  uint64_t rows = 0;
  uint64_t bytes_scanned = 0;
  std::string output;  // s3://bucket/prefix/<id>.csv
  std::string error;
};

class QueryLog {
 public:
  explicit QueryLog(metastore::Metastore& db) : db_(db) {}

  void start(const std::string& id, const std::string& sql, const std::string& database);
  void finish(const QueryRecord& record);    // by record.id: state, timings, rows, bytes, output, error
  std::vector<QueryRecord> list(int limit);  // newest first
  std::optional<QueryRecord> get(const std::string& id);

 private:
  metastore::Metastore& db_;
};

}  // namespace sluice::query
