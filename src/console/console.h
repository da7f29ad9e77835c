// The web console (dashboards, query console, pipeline monitor): its pages are built from web/ at
// build time (web/build.mjs, esbuild), embedded into the binary, and served by the daemon at /ui/.
// The pages use only the daemon's JSON API; the static files themselves need no token, so that the
// login page can load and ask for one.
#pragma once

#include "server/router.h"

namespace sluice::console {

// Registers the console on `router`: a group "console" claiming /ui and /ui/... without
// authentication (GET /ui/ is index.html, GET /ui/<asset> an embedded file, GET /ui a redirect to
// /ui/, anything else 404), and on `native` (the group that claims "/") GET / as a 302 to /ui/,
// exempted from native's authentication. Every answer carries the console's Content-Security-Policy,
// X-Content-Type-Options: nosniff and Referrer-Policy: no-referrer. Call once, before the server
// starts. Throws std::invalid_argument when another group already claims /ui or native has a GET /.
void add_console_routes(server::Router& router, server::RouteGroup& native);

}  // namespace sluice::console
