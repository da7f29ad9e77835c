// The kinesis wire API (placeholder until its service lands).
#pragma once

#include "server/router.h"

namespace sluice::aws {

// What the kinesis API works on: the component interfaces it needs.
struct KinesisBackend {};

// Registers the kinesis operations on `group`.
void add_kinesis_routes(server::RouteGroup& group, KinesisBackend backend);

}  // namespace sluice::aws
