// The athena wire API (placeholder until its service lands).
#pragma once

#include "server/router.h"

namespace sluice::aws {

// What the athena API works on: the component interfaces it needs.
struct AthenaBackend {};

// Registers the athena operations on `group`.
void add_athena_routes(server::RouteGroup& group, AthenaBackend backend);

}  // namespace sluice::aws
