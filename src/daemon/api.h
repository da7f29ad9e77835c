// Api: the daemon's native HTTP API (JSON) on the pipeline's server: address — a router (server/
// router.h) whose "native" group holds the routes of routes_*.cpp (see routes.h), behind the bearer
// token of server.auth.token_env when it is set. The README's "HTTP API" section is the reference;
// the JSON shapes are json_shapes.h's, shared with the CLI. What a route throws is answered by the
// router: sluice::SystemError (disk full) as 503 with Retry-After, anything else as 500.
#pragma once

#include <functional>
#include <memory>
#include <nlohmann/json.hpp>

#include "daemon/json_shapes.h"
#include "daemon/runtime.h"

namespace sluice::server {
class HttpServer;
}

namespace sluice::dashboard {
class DashboardService;
}

namespace sluice::daemon {

class Api {
 public:
  // Starts listening at once. `status` answers GET /v1/status (the Daemon's snapshot); without it
  // that route is 404. Throws sluice::Error when the address is not loopback and no token is set
  // (sluice refuses to listen elsewhere without credentials), the token is too short, or the address
  // cannot be bound.
  // `dashboards` serves /v1/dashboards (absent: those routes are 404); GET /v1/pipeline is always served.
  explicit Api(Runtime& runtime, std::function<nlohmann::json()> status = {},
               dashboard::DashboardService* dashboards = nullptr);
  ~Api();
  Api(const Api&) = delete;
  Api& operator=(const Api&) = delete;
  int port() const;
  // Stops the server; running handlers return first (the Daemon cancels their work before). Idempotent.
  void stop();

 private:
  std::unique_ptr<server::HttpServer> http_;
};

}  // namespace sluice::daemon
