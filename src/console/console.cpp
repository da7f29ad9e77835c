#include "console/console.h"

#include <algorithm>
#include <string>

#include "console/assets.h"

namespace sluice::console {
namespace {

// The console runs no inline script or style and talks to its own origin only.
constexpr std::string_view kContentSecurityPolicy =
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; "
    "connect-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

// The headers every console answer carries, whatever its status.
server::Headers console_headers() {
  return {{"Content-Security-Policy", std::string(kContentSecurityPolicy)},
          {"X-Content-Type-Options", "nosniff"},
          {"Referrer-Policy", "no-referrer"}};
}

server::HttpResponse redirect_to_ui() {
  server::HttpResponse response{302, console_headers(), "", {}};
  response.headers["Location"] = "/ui/";
  response.headers["Content-Type"] = "text/plain; charset=utf-8";
  response.headers["Cache-Control"] = "no-cache";
  return response;
}

server::HttpResponse not_found(const std::string& path) {
  server::HttpResponse response{404, console_headers(), "no such console file: " + path + "\n", {}};
  response.headers["Content-Type"] = "text/plain; charset=utf-8";
  response.headers["Cache-Control"] = "no-cache";
  return response;
}

// The embedded file named exactly `name` (no normalisation: "a/../b" names nothing), or null.
const EmbeddedAsset* find_asset(std::string_view name) {
  const auto assets = embedded_assets();
  const auto it = std::lower_bound(assets.begin(), assets.end(), name,
                                   [](const EmbeddedAsset& a, std::string_view n) { return a.name < n; });
  return it != assets.end() && it->name == name ? &*it : nullptr;
}

// Whether an If-None-Match header value names `etag` (a list of ETags, or "*").
bool etag_matches(std::string_view if_none_match, std::string_view etag) {
  // Comparison is weak (RFC 9110 13.1.2): W/"x" names "x" too, so a substring search suffices.
  return if_none_match.find('*') != std::string_view::npos ||
         if_none_match.find(etag) != std::string_view::npos;
}

server::HttpResponse serve_asset(const server::RouteRequest& request) {
  const std::string& path = request.param("path");
  const EmbeddedAsset* asset = find_asset(path.empty() ? std::string_view("index.html") : path);
  if (!asset) return not_found(request.http.path);
  server::HttpResponse response{200, console_headers(), "", {}};
  response.headers["Content-Type"] = std::string(asset->content_type);
  response.headers["ETag"] = std::string(asset->etag);
  response.headers["Cache-Control"] = asset->immutable ? "public, max-age=31536000, immutable" : "no-cache";
  const auto if_none_match = request.http.headers.find("If-None-Match");
  if (if_none_match != request.http.headers.end() && etag_matches(if_none_match->second, asset->etag)) {
    response.status = 304;
    return response;
  }
  response.body.assign(asset->data);
  return response;
}

}  // namespace

void add_console_routes(server::Router& router, server::RouteGroup& native) {
  auto& ui = router.group({.name = "console", .path_prefix = "/ui"});
  ui.route("GET", "/ui", [](const server::RouteRequest&) { return redirect_to_ui(); });
  ui.route("GET", "/ui/{path...}", serve_asset);
  native.route("GET", "/", [](const server::RouteRequest&) { return redirect_to_ui(); });
  native.exempt_from_auth("GET", "/");
}

}  // namespace sluice::console
