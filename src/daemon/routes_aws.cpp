// The AWS wire APIs on the daemon's port: one group per service, each service's operations from its
// folder under src/aws, given the component interfaces it works on. Each service has its own block
// below; the groups' shapes and authentication are decided here, once.
#include <algorithm>
#include <functional>

#include "aws/athena/athena.h"
#include "aws/firehose/firehose.h"
#include "aws/glue/glue.h"
#include "aws/kinesis/kinesis.h"
#include "aws/s3/s3.h"
#include "aws/sigv4/sigv4.h"
#include "aws/sigv4/sigv4_authenticator.h"
#include "daemon/crawl_runner.h"
#include "daemon/routes.h"
#include "server/error_shapes.h"

namespace sluice::daemon {
namespace {

// The group of one JSON-protocol service, named as its SigV4 credential scopes name it ("kinesis"):
// claimed by its X-Amz-Target prefix only, every request verified against server.aws's keys.
server::RouteGroup& json_group(server::Router& router, std::string name, const aws::SigV4Options& sigv4) {
  auto authenticator = std::make_shared<aws::SigV4Authenticator>(aws::ProtocolFamily::kJson, name, sigv4);
  return router.group({.name = std::move(name),
                       .errors = server::aws_json_errors(),
                       .authenticator = std::move(authenticator)});
}

// server.aws of the pipeline file: the keys (secrets read from the environment, once) every AWS group
// verifies SigV4 against. Throws sluice::Error when a secret is unset, or when the daemon listens beyond
// loopback without keys.
aws::SigV4Options sigv4_options(const Runtime& runtime) {
  const config::ServerConfig& server = runtime.pipeline().server;
  std::vector<aws::AccessKeyReference> keys;
  for (const auto& key : server.aws.credentials) keys.push_back({key.access_key_id, key.secret_env});
  return aws::options_for_server(server.host, server.aws.region, keys);
}

}  // namespace

namespace {

using JsonService = std::function<server::RouteGroup&(server::Router&, std::string)>;

void add_athena(server::Router& router, Runtime& runtime, const JsonService& json_service) {
  // The queue (the pool that runs queries asynchronously) lives as long as the routes that hold it.
  aws::add_athena_routes(
      json_service(router, "athena"),
      aws::AthenaBackend{
          .engine = &runtime.queries(),
          .catalog = &runtime.catalog(),
          .queue = std::make_shared<query::QueryQueue>(
              runtime.queries(),
              query::QueueConfig{
                  .on_end = [&runtime](const std::string& state) { runtime.count_query(state); }}),
          .record = [&runtime](const std::string& id) { return runtime.query_record(id); },
          .history = [&runtime](int limit) { return runtime.query_history(limit); },
          .has_bucket =
              [&runtime](const std::string& bucket) { return runtime.objects().has_bucket(bucket); }});
}

void add_glue(server::Router& router, Runtime& runtime, const JsonService& json_service) {
  aws::GlueBackend glue{.catalog = &runtime.catalog()};
  for (const auto& crawler : runtime.pipeline().crawlers) {
    aws::GlueCrawler entry{crawler, {}};
    for (const auto& schedule : runtime.pipeline().schedules)
      if (std::find(schedule.targets.begin(), schedule.targets.end(), crawler.name) != schedule.targets.end())
        entry.schedule_expression = schedule.expression;
    glue.crawlers.push_back(std::move(entry));
  }
  auto runner = std::make_shared<CrawlRunner>(runtime);
  glue.start_crawl = [runner](const std::string& name) { return runner->start(name); };
  glue.crawl_started = [runner](const std::string& name) { return runner->started(name); };
  glue.crawls = [&runtime](const std::string& name, int limit) {
    std::vector<aws::CrawlRecord> out;
    for (const auto& run : runtime.recent_runs(1000)) {
      if (run.kind != "crawl" || run.name != name) continue;
      out.push_back({std::string(metastore::to_string(run.status)), run.error, run.started, run.ended});
      if (static_cast<int>(out.size()) >= limit) break;
    }
    return out;
  };
  aws::add_glue_routes(json_service(router, "glue"), std::move(glue));
}

// S3: path style (claimed by a SigV4 scope naming s3) and virtual-hosted (BUCKET.localhost), sharing
// one authenticator, which verified_body also uses.
void add_s3(server::Router& router, Runtime& runtime, const aws::SigV4Options& sigv4) {
  const auto authenticator = std::make_shared<aws::SigV4Authenticator>(aws::ProtocolFamily::kS3, "s3", sigv4);
  const auto& pipeline = runtime.pipeline();
  aws::S3Backend s3{.objects = &runtime.objects(),
                    .multipart_directory = pipeline.data_dir / "s3-multipart",
                    .declared_bucket = [declared = pipeline.buckets](std::string_view bucket) {
                      return std::find(declared.begin(), declared.end(), bucket) != declared.end();
                    }};
  s3.authenticator = authenticator.get();  // the groups below keep it alive
  aws::add_s3_routes(
      router.group(
          {.name = "s3",
           .claims = [](const server::HttpRequest& head) { return aws::signed_for_service(head, "s3"); },
           .errors = aws::s3_errors(),
           .authenticator = authenticator}),
      s3);
  aws::add_s3_routes(router.group({.name = "s3-virtual-hosted",
                                   .host_suffix = "localhost",
                                   .host_param = "bucket",
                                   .errors = aws::s3_errors(),
                                   .authenticator = authenticator}),
                     s3);
}

}  // namespace

void add_aws_routes(server::Router& router, Runtime& runtime) {
  const aws::SigV4Options sigv4 = sigv4_options(runtime);
  // Every JSON service's group is made by this, so that none goes unauthenticated.
  const JsonService json_service = [&sigv4](server::Router& into, std::string name) -> server::RouteGroup& {
    return json_group(into, std::move(name), sigv4);
  };
  aws::add_kinesis_routes(
      json_service(router, "kinesis"),
      aws::KinesisBackend{
          .streams = [&runtime]() -> stream::StreamStore& { return runtime.streams(); },
          .on_put = [&runtime](const std::string& stream, auto records,
                               auto results) { runtime.count_put(stream, records, results); }});
  aws::add_firehose_routes(json_service(router, "firehose"),
                           aws::FirehoseBackend{.deliveries = [&runtime]() -> delivery::DeliveryStreams& {
                             return runtime.delivery_streams();
                           }});
  add_athena(router, runtime, json_service);
  add_glue(router, runtime, json_service);
  add_s3(router, runtime, sigv4);
}

}  // namespace sluice::daemon
