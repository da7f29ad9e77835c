// The pipeline as a graph for the console's monitor (GET /v1/pipeline): schedules → sources →
// streams → deliveries → processors → crawlers → tables → dashboards, each node with its live state
// (ok, running, failed, idle) and the figures of its kind. Edges between object writers and readers
// follow the keys: a writer whose key template's fixed prefix and a reader's prefix overlap in the
// same bucket are joined.
#pragma once

#include <functional>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "daemon/runtime.h"
#include "server/router.h"

namespace sluice::daemon {

// The tables ("db.table") each dashboard reads, from the dashboards' service.
using DashboardTables = std::function<std::vector<std::pair<std::string, std::vector<std::string>>>()>;

// {"nodes": [{"id": "KIND:NAME", "kind", "name", "state", "detail": {...}}], "edges": [{"from", "to"}]}.
// Reads the run history, the event queue, the streams and the catalog; throws what they throw.
nlohmann::json pipeline_graph(Runtime& runtime, const DashboardTables& dashboards);

// GET /v1/pipeline: pipeline_graph's answer.
void add_pipeline_routes(server::RouteGroup& native, Runtime& runtime, const DashboardTables& dashboards);

}  // namespace sluice::daemon
