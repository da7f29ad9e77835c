// The native API's routes, one file per group of endpoints, each registering its routes on the
// router's "native" group (server/router.h). The README's "HTTP API" section is the reference.
// Recipe for a new endpoint: add a route in the file of its group (or a new routes_*.cpp listed in
// CMakeLists.txt and called from Api), answer with http_json.h's helpers and json_shapes.h's shapes.
#pragma once

#include <functional>
#include <nlohmann/json.hpp>

#include "daemon/runtime.h"
#include "server/router.h"

namespace sluice::dashboard {
class DashboardService;
}

namespace sluice::daemon {

// GET /v1/health, GET /v1/status (when `status` is set), GET /v1/runs, POST /v1/trigger/{name}.
void add_run_routes(server::RouteGroup& native, Runtime& runtime, std::function<nlohmann::json()> status);
// /v1/streams/{stream}[/records|/checkpoints/{consumer}].
void add_stream_routes(server::RouteGroup& native, Runtime& runtime);
// POST /v1/query, GET /v1/queries, GET|DELETE /v1/queries/{id}, /v1/queries/{id}/results[.csv].
void add_query_routes(server::RouteGroup& native, Runtime& runtime);
// GET /v1/catalog/databases[/{db}/tables[/{table}]].
void add_catalog_routes(server::RouteGroup& native, Runtime& runtime);
// GET /v1/processors/{name}/quarantine, POST /v1/processors/{name}/reprocess.
void add_processor_routes(server::RouteGroup& native, Runtime& runtime);
// GET /metrics: the Runtime's figures in the Prometheus text format 0.0.4 (runtime.metrics()).
void add_metrics_routes(server::RouteGroup& native, Runtime& runtime);
// GET /v1/dashboards[/{name}[/versions|/parameters/{param}/values]], POST
// /v1/dashboards/{name}/visuals/{id}/data: the console's dashboards.
void add_dashboard_routes(server::RouteGroup& native, dashboard::DashboardService& service);
// The AWS wire APIs (src/aws): Kinesis, Firehose, Athena and Glue by X-Amz-Target, S3 by the SigV4
// credential scope (path style) or the Host (virtual-hosted style). Adds their groups to `router`.
void add_aws_routes(server::Router& router, Runtime& runtime);

}  // namespace sluice::daemon
