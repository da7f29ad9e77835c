// GET /v1/dashboards, GET /v1/dashboards/{name}, GET /v1/dashboards/{name}/versions,
// GET /v1/dashboards/{name}/parameters/{param}/values, POST /v1/dashboards/{name}/visuals/{id}/data:
// the console's dashboards (dashboard/dashboard_service.h), for any client.
#include "daemon/http_json.h"
#include "daemon/json_shapes.h"
#include "daemon/routes.h"
#include "dashboard/dashboard_service.h"

namespace sluice::daemon {
namespace {

using dashboard::DashboardService;

// The dashboard of the route's {name}; nullptr after setting `missing` to the 404.
const dashboard::DashboardConfig* find_dashboard(DashboardService& service, const server::RouteRequest& r,
                                                 server::HttpResponse& missing) {
  const auto* d = service.find(r.param("name"));
  if (!d) missing = error_response(404, "no dashboard named \"" + r.param("name").substr(0, 128) + "\"");
  return d;
}

// A failed query or visual as the page shows it: the reason in the visual, 400 for the query's or the
// definition's fault, 503 (retry) for the system's, 499 when the page left.
server::HttpResponse failure(const Error& e) {
  if (const auto* q = dynamic_cast<const query::QueryFailed*>(&e)) {
    using Cause = query::QueryFailed::Cause;
    const int status = q->cause() == Cause::kCancelled ? 499 : q->cause() == Cause::kSystem ? 503 : 400;
    auto response = json_response(status, {{"error", e.what()}, {"query_id", q->query_id()}});
    if (status == 503) response.headers["Retry-After"] = "1";
    return response;
  }
  return error_response(400, e.what());
}

server::HttpResponse visual_data(DashboardService& service, const server::RouteRequest& r) {
  server::HttpResponse bad;
  const auto* d = find_dashboard(service, r, bad);
  if (!d) return bad;
  const auto* v = d->visual(r.param("id"));
  if (!v)
    return error_response(
        404, "dashboard \"" + d->name + "\" has no visual \"" + r.param("id").substr(0, 128) + "\"");
  nlohmann::json parameters;
  bool fresh = false;  // the page's refresh button: run the query even if a cached result is valid
  if (r.http.body.find_first_not_of(" \t\r\n") != std::string::npos) {
    const std::string expected =
        "{\"parameters\": {\"NAME\": \"value\" | {\"start\": ISO, \"end\": ISO}}, \"refresh\": true|false} "
        "or no body";
    auto body = json_body(r.http, expected, bad);
    if (!body) return bad;
    if (!body->is_object() || (body->contains("parameters") && !(*body)["parameters"].is_object()) ||
        (body->contains("refresh") && !(*body)["refresh"].is_boolean()))
      return error_response(400, "expected " + expected);
    if (body->contains("parameters")) parameters = (*body)["parameters"];
    fresh = body->value("refresh", false);
  }
  try {
    auto data = service.visual_data(*d, *v, parameters, r.http.client_gone, fresh);
    auto out = query_result_to_json(data.result);
    out["visual"] = v->id;
    out["alerts"] = std::move(data.alerts);
    return json_response(200, out);
  } catch (const SystemError&) {
    throw;
  } catch (const Error& e) {
    return failure(e);
  }
}

server::HttpResponse parameter_values(DashboardService& service, const server::RouteRequest& r) {
  server::HttpResponse bad;
  const auto* d = find_dashboard(service, r, bad);
  if (!d) return bad;
  const auto* p = d->parameter(r.param("param"));
  if (!p || p->type != dashboard::ParameterType::kDropdown)
    return error_response(404, "dashboard \"" + d->name + "\" has no dropdown parameter \"" +
                                   r.param("param").substr(0, 128) + "\"");
  try {
    return json_response(200, {{"values", service.parameter_values(*d, *p, r.http.client_gone)}});
  } catch (const SystemError&) {
    throw;
  } catch (const Error& e) {
    return failure(e);
  }
}

}  // namespace

void add_dashboard_routes(server::RouteGroup& native, DashboardService& service) {
  native.route("GET", "/v1/dashboards",
               [&service](const server::RouteRequest&) { return json_response(200, service.list_json()); });
  native.route("GET", "/v1/dashboards/{name}", [&service](const server::RouteRequest& r) {
    server::HttpResponse missing;
    const auto* d = find_dashboard(service, r, missing);
    return d ? json_response(200, service.definition_json(*d)) : missing;
  });
  native.route("GET", "/v1/dashboards/{name}/versions", [&service](const server::RouteRequest& r) {
    server::HttpResponse missing;
    const auto* d = find_dashboard(service, r, missing);
    return d ? json_response(200, service.versions_json(*d)) : missing;
  });
  native.route("GET", "/v1/dashboards/{name}/parameters/{param}/values",
               [&service](const server::RouteRequest& r) { return parameter_values(service, r); });
  native.route("POST", "/v1/dashboards/{name}/visuals/{id}/data",
               [&service](const server::RouteRequest& r) { return visual_data(service, r); });
}

}  // namespace sluice::daemon
