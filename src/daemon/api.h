// The daemon's native HTTP API (JSON), served on the pipeline's server: address. The README's "HTTP
// API" section is the reference; in short:
//   GET  /v1/health, GET /v1/runs, POST /v1/trigger/{name}
//   POST /v1/query (cancelled when the client leaves), GET /v1/queries, GET|DELETE /v1/queries/{id},
//   GET /v1/queries/{id}/results (paged), GET /v1/queries/{id}/results.csv (streamed)
//   POST|GET /v1/streams/{stream}/records, GET /v1/streams/{stream}, .../checkpoints/{consumer}
//   GET /v1/processors/{name}/quarantine, POST /v1/processors/{name}/reprocess
//   GET /v1/catalog/databases[/{db}/tables[/{table}]]
// Every JSON body is parsed with a depth limit (common/json_limits.h); a SystemError anywhere (disk
// full) is answered 503 with Retry-After.
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
