#include "aws/firehose/firehose.h"

namespace sluice::aws {

void add_firehose_routes(server::RouteGroup&, FirehoseBackend) {}

}  // namespace sluice::aws
