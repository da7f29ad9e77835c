#include "aws/s3/s3.h"

namespace sluice::aws {

void add_s3_routes(server::RouteGroup&, S3Backend) {}

}  // namespace sluice::aws
