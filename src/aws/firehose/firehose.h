// The firehose wire API (placeholder until its service lands).
#pragma once

#include "server/router.h"

namespace sluice::aws {

// What the firehose API works on: the component interfaces it needs.
struct FirehoseBackend {};

// Registers the firehose operations on `group`.
void add_firehose_routes(server::RouteGroup& group, FirehoseBackend backend);

}  // namespace sluice::aws
