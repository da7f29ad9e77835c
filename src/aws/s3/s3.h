// The s3 wire API (placeholder until its service lands).
#pragma once

#include "server/router.h"

namespace sluice::aws {

// What the s3 API works on: the component interfaces it needs.
struct S3Backend {};

// Registers the s3 operations on `group`.
void add_s3_routes(server::RouteGroup& group, S3Backend backend);

}  // namespace sluice::aws
