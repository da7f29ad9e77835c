#include <algorithm>

#include "catalog/catalog.h"
#include "daemon/http_json.h"
#include "daemon/json_shapes.h"
#include "daemon/routes.h"

namespace sluice::daemon {
namespace {

bool has_database(catalog::Catalog& catalog, const std::string& db) {
  const auto dbs = catalog.databases();
  return std::find(dbs.begin(), dbs.end(), db) != dbs.end();
}

}  // namespace

void add_catalog_routes(server::RouteGroup& native, Runtime& runtime) {
  native.route("GET", "/v1/catalog/databases", [&runtime](const server::RouteRequest&) {
    return json_response(200, runtime.catalog().databases());
  });
  native.route("GET", "/v1/catalog/databases/{db}/tables", [&runtime](const server::RouteRequest& r) {
    const std::string& db = r.param("db");
    auto& catalog = runtime.catalog();
    if (!has_database(catalog, db)) return error_response(404, "no database named \"" + db + "\"");
    nlohmann::json out = nlohmann::json::array();
    for (const auto& t : catalog.tables(db)) out.push_back(table_to_json(catalog, t, false));
    return json_response(200, out);
  });
  native.route("GET", "/v1/catalog/databases/{db}/tables/{table}", [&runtime](const server::RouteRequest& r) {
    const std::string &db = r.param("db"), &name = r.param("table");
    auto& catalog = runtime.catalog();
    if (!has_database(catalog, db)) return error_response(404, "no database named \"" + db + "\"");
    auto t = catalog.table(db, name);
    if (!t) return error_response(404, "no table named \"" + name + "\" in database \"" + db + "\"");
    return json_response(200, table_to_json(catalog, *t, true));
  });
}

}  // namespace sluice::daemon
