// The glue wire API (placeholder until its service lands).
#pragma once

#include "server/router.h"

namespace sluice::aws {

// What the glue API works on: the component interfaces it needs.
struct GlueBackend {};

// Registers the glue operations on `group`.
void add_glue_routes(server::RouteGroup& group, GlueBackend backend);

}  // namespace sluice::aws
