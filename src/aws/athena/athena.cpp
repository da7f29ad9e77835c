#include "aws/athena/athena.h"

namespace sluice::aws {

void add_athena_routes(server::RouteGroup&, AthenaBackend) {}

}  // namespace sluice::aws
