// The daemon's native HTTP API (JSON), served on the pipeline's server: address.
//   GET  /v1/health              {"status":"ok"}
//   GET  /v1/runs?limit=N        run history, newest first (the same objects as `sluice runs --format json`)
//   POST /v1/trigger/{name}      run a schedule's targets, a source or a crawler now; 200 when every run
//                                succeeded, 502 when one failed, 404 for an unknown name
//   POST /v1/query               {"sql": "...", "database": "..."} -> the result (query_id, columns,
//                                rows, bytes_scanned, output, timings); 400 with error and query_id
//   GET  /v1/queries?limit=N     query history, newest first
//   GET  /v1/catalog/databases                      database names
//   GET  /v1/catalog/databases/{db}/tables          tables with columns and partition keys
//   GET  /v1/catalog/databases/{db}/tables/{table}  one table, with schema versions and partitions
#pragma once

#include <memory>
#include <nlohmann/json.hpp>
#include <vector>

#include "daemon/runtime.h"
#include "query/engine.h"

namespace sluice::metastore {
struct RunRecord;
}
namespace sluice::catalog {
class Catalog;
struct TableInfo;
}  // namespace sluice::catalog

namespace sluice::daemon {

nlohmann::json run_to_json(const metastore::RunRecord& run);
nlohmann::json summary_to_json(const RunSummary& run);
nlohmann::json query_result_to_json(const query::QueryResult& result);
nlohmann::json query_record_to_json(const query::QueryRecord& record);
// A table as `sluice catalog describe` and the API show it; with versions and partitions when `full`.
nlohmann::json table_to_json(catalog::Catalog& catalog, const catalog::TableInfo& table, bool full);

class Api {
 public:
  // Starts listening at once. Throws sluice::Error when the address is not loopback (sluice has no
  // credentials yet, and refuses to listen elsewhere without them) or the port is taken.
  explicit Api(Runtime& runtime);
  ~Api();
  int port() const;
  void stop();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace sluice::daemon
