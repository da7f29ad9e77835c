// The AWS wire APIs on the daemon's port: one group per service, each service's operations from its
// folder under src/aws, given the component interfaces it works on. Each service has its own block
// below; the groups' shapes and authentication are decided here, once.
#include "aws/athena/athena.h"
#include "aws/firehose/firehose.h"
#include "aws/glue/glue.h"
#include "aws/kinesis/kinesis.h"
#include "aws/s3/s3.h"
#include "daemon/routes.h"
#include "server/error_shapes.h"

namespace sluice::daemon {
namespace {

// The group of one JSON-protocol service: claimed by its X-Amz-Target prefix only.
server::RouteGroup& json_service(server::Router& router, std::string name) {
  return router.group({.name = std::move(name), .errors = server::aws_json_errors()});
}

}  // namespace

void add_aws_routes(server::Router& router, Runtime& runtime) {
  (void)runtime;
  // --- Kinesis Data Streams ---
  aws::add_kinesis_routes(json_service(router, "kinesis"), aws::KinesisBackend{});
  // --- Firehose ---
  aws::add_firehose_routes(json_service(router, "firehose"), aws::FirehoseBackend{});
  // --- Athena ---
  aws::add_athena_routes(json_service(router, "athena"), aws::AthenaBackend{});
  // --- Glue Data Catalog ---
  aws::add_glue_routes(json_service(router, "glue"), aws::GlueBackend{});
  // --- S3 --- (its groups, path style and virtual-hosted, come with the service)
  (void)&aws::add_s3_routes;
}

}  // namespace sluice::daemon
