#include "aws/kinesis/kinesis.h"

namespace sluice::aws {

void add_kinesis_routes(server::RouteGroup&, KinesisBackend) {}

}  // namespace sluice::aws
