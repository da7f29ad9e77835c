#include "aws/glue/glue.h"

namespace sluice::aws {

void add_glue_routes(server::RouteGroup&, GlueBackend) {}

}  // namespace sluice::aws
