// `sluice export terraform`: the pipeline as AWS infrastructure, in Terraform's JSON syntax
// (main.tf.json), with sluice itself as the Lambda functions.
//
// What the file wrote is exported, and only that: a key left to its default is left to AWS's default
// too (Pipeline::written). What comes out:
//   buckets       aws_s3_bucket each, and one aws_s3_bucket_notification per bucket that processors
//                 read, invoking each processor's function for its prefix/suffix
//   schedules     aws_cloudwatch_event_rule (same cron(...)/rate(...)) with targets to the sources'
//                 functions; a schedule whose timezone is not UTC becomes aws_scheduler_schedule
//                 entries (schedule_expression_timezone), one per source it targets; a crawler target
//                 becomes the crawler's own (UTC cron) schedule
//   sources       aws_lambda_function (provided.al2023, handler "sluice", the package var.lambda_package,
//                 SLUICE_ENTRY=sources.NAME) and its role
//   processors    the same (SLUICE_ENTRY=processors.NAME), invoked by S3 notifications
//   streams       aws_kinesis_stream (shard count; retention in hours when written)
//   deliveries    aws_kinesis_firehose_delivery_stream, extended_s3 (buffering, compression, prefix,
//                 error prefix, dynamic partitioning), fed by the Kinesis stream
//   crawlers      aws_glue_catalog_database + aws_glue_crawler (s3 targets)
//   query         aws_athena_workgroup with the result location
// Every function, delivery stream, crawler and scheduler gets its own IAM role whose policy names only
// its own prefixes (s3:GetObject on its input, s3:PutObject on its output), its own stream and its own
// log group. What has no AWS equivalent is returned as a warning ("PATH: why"), never dropped silently.
#pragma once

#include <filesystem>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "config/pipeline.h"

namespace sluice::terraform {

// The Lambda package the functions run: the sluice binary as `bootstrap` with its shared libraries
// and the pipeline file; the variable's default.
inline constexpr const char* kDefaultLambdaPackage = "sluice-lambda.zip";
// The environment variable telling a function which entry of the pipeline file it runs
// ("sources.users", "processors.users").
inline constexpr const char* kEntryVariable = "SLUICE_ENTRY";

struct Export {
  nlohmann::json document;            // the content of main.tf.json
  std::vector<std::string> warnings;  // "PATH: what is not exported and why", in pipeline order
};

// Builds the Terraform document for `pipeline`. Throws Error naming the entry when a name cannot
// become an AWS name (over AWS's length limit, or two entries that map to the same AWS name).
Export export_pipeline(const config::Pipeline& pipeline);

// The document as written to main.tf.json: two-space indented JSON, keys sorted, ending in a newline.
// Never throws.
std::string render(const nlohmann::json& document);

// Exports `pipeline` and writes DIR/main.tf.json (created with its directory; written to a temporary
// file, then renamed over the old one). Returns the warnings. Throws what export_pipeline throws,
// SystemError when the file cannot be written for the system's reasons (disk full, I/O error) and
// Error for the others (DIR is a file, permission denied).
std::vector<std::string> write_terraform(const config::Pipeline& pipeline, const std::filesystem::path& dir);

}  // namespace sluice::terraform
