#include "daemon/routes.h"
#include "metrics/registry.h"

namespace sluice::daemon {

void add_metrics_routes(server::RouteGroup& native, Runtime& runtime) {
  // Behind the same token as every other route: the figures name streams, deliveries and processors.
  native.route("GET", "/metrics", [&runtime](const server::RouteRequest&) {
    server::HttpResponse response;
    response.status = 200;
    response.headers["Content-Type"] = "text/plain; version=0.0.4; charset=utf-8";
    response.body = runtime.metrics().render();
    return response;
  });
}

}  // namespace sluice::daemon
