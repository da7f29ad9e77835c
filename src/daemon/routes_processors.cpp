#include "daemon/http_json.h"
#include "daemon/routes.h"

namespace sluice::daemon {
namespace {

// POST /v1/processors/{name}/reprocess {"keys": [...]} (optional: every quarantined input).
server::HttpResponse reprocess(Runtime& runtime, const server::RouteRequest& r) {
  const std::string& name = r.param("name");
  if (!runtime.pipeline().find_processor(name))
    return error_response(404, "no processor named \"" + name + "\"");
  std::vector<std::string> keys;
  if (r.http.body.find_first_not_of(" \t\r\n") != std::string::npos) {
    const std::string expected = "{\"keys\": [\"raw/...\", ...]} or no body (every quarantined input)";
    server::HttpResponse bad;
    auto body = json_body(r.http, expected, bad);
    if (!body) return bad;
    if (!body->is_object() || (body->contains("keys") && !(*body)["keys"].is_array()))
      return error_response(400, "expected " + expected);
    if (body->contains("keys")) {
      for (const auto& k : (*body)["keys"]) {
        if (!k.is_string()) return error_response(400, "expected " + expected);
        keys.push_back(k);
      }
    }
  }
  try {
    return json_response(200, {{"processor", name}, {"reprocessing", runtime.reprocess(name, keys)}});
  } catch (const SystemError&) {
    throw;
  } catch (const Error& e) {
    return error_response(400, e.what());
  }
}

}  // namespace

void add_processor_routes(server::RouteGroup& native, Runtime& runtime) {
  native.route("GET", "/v1/processors/{name}/quarantine", [&runtime](const server::RouteRequest& r) {
    const std::string& name = r.param("name");
    if (!runtime.pipeline().find_processor(name))
      return error_response(404, "no processor named \"" + name + "\"");
    nlohmann::json out = nlohmann::json::array();
    for (const auto& f : runtime.quarantined(name))
      out.push_back({{"input", "s3://" + f.event.bucket + "/" + f.event.key},
                     {"reason", f.reason},
                     {"attempts", f.attempts}});
    return json_response(200, out);
  });
  native.route("POST", "/v1/processors/{name}/reprocess",
               [&runtime](const server::RouteRequest& r) { return reprocess(runtime, r); });
}

}  // namespace sluice::daemon
