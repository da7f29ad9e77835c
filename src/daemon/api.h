// The daemon's native HTTP API (JSON), served on the pipeline's server: address.
//   GET  /v1/health              {"status":"ok"}
//   GET  /v1/runs?limit=N        run history, newest first (the same objects as `sluice runs --format json`)
//   POST /v1/trigger/{name}      run a schedule's targets or a source now; 200 when every run succeeded,
//                                502 when one failed, 404 for an unknown name
#pragma once

#include <memory>
#include <nlohmann/json.hpp>
#include <vector>

#include "daemon/runtime.h"

namespace sluice::metastore {
struct RunRecord;
}

namespace sluice::daemon {

nlohmann::json run_to_json(const metastore::RunRecord& run);
nlohmann::json summary_to_json(const RunSummary& run);

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
