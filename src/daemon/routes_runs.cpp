#include "daemon/http_json.h"
#include "daemon/json_shapes.h"
#include "daemon/routes.h"
#include "metastore/run_log.h"

namespace sluice::daemon {

void add_run_routes(server::RouteGroup& native, Runtime& runtime, std::function<nlohmann::json()> status) {
  native.route("GET", "/v1/health", [](const server::RouteRequest&) {
    return json_response(200, {{"status", "ok"}});
  });
  native.exempt_from_auth("GET", "/v1/health");  // monitors probe without credentials
  if (status) {
    native.route("GET", "/v1/status",
                 [status](const server::RouteRequest&) { return json_response(200, status()); });
  }
  native.route("GET", "/v1/runs", [&runtime](const server::RouteRequest& r) {
    server::HttpResponse bad;
    auto limit = int_param(r.http, "limit", 20, 100000, bad);
    if (!limit) return bad;
    nlohmann::json out = nlohmann::json::array();
    for (const auto& run : runtime.recent_runs(*limit)) out.push_back(run_to_json(run));
    return json_response(200, out);
  });
  native.route("POST", "/v1/trigger/{name}", [&runtime](const server::RouteRequest& r) {
    const std::string& name = r.param("name");
    const auto& p = runtime.pipeline();
    if (!p.find_schedule(name) && !p.find_source(name) && !p.find_crawler(name))
      return error_response(404, "no schedule, source or crawler named \"" + name + "\"");
    nlohmann::json out = nlohmann::json::array();
    bool ok = true;
    for (const auto& run : runtime.trigger(name)) {
      out.push_back(summary_to_json(run));
      ok = ok && run.status == metastore::RunStatus::kSucceeded;
    }
    return json_response(ok ? 200 : 502, {{"runs", out}});
  });
}

}  // namespace sluice::daemon
