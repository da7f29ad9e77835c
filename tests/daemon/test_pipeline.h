// Test helper: a pipeline pointing at a loopback FixtureApi, on a temporary data directory.
#pragma once

#include <filesystem>
#include <string>

#include "config/pipeline.h"
#include "fixture/fixture_api.h"

namespace sluice::testing_util {

// A pipeline with bucket "raw", a schedule "every-minute" (cron(* * * * ? *), UTC, given catch-up)
// targeting sources users and posts served by `base_url`.
inline std::string pipeline_yaml(const std::string& base_url, const std::string& catch_up = "latest",
                                 const std::string& expression = "cron(* * * * ? *)") {
  return "buckets: [raw]\n"
         "schedules:\n"
         "  every-minute:\n"
         "    expression: " +
         expression +
         "\n"
         "    catch_up: " +
         catch_up +
         "\n"
         "    targets: [users, posts]\n"
         "sources:\n"
         "  users:\n"
         "    url: " +
         base_url +
         "/users\n"
         "    retry: {max_attempts: 2, base_delay: 10ms, max_delay: 20ms}\n"
         "    to: s3://raw/raw/users/users_{datetime}.json\n"
         "  posts:\n"
         "    url: " +
         base_url +
         "/posts\n"
         "    retry: {max_attempts: 2, base_delay: 10ms, max_delay: 20ms}\n"
         "    to: s3://raw/raw/posts/posts_{datetime}.json\n";
}

// pipeline_yaml on port 0 with the original batch path after it: a processor flattening users and
// keeping id < 5 into processed/users/, and a crawler cataloguing processed/ into my_glue_database.
// Parsed as `dir`/p.yaml with its data directory in `dir`/data.
inline config::Pipeline batch_pipeline(const std::string& base_url, const std::filesystem::path& dir) {
  auto pipeline = config::parse_pipeline("server: {port: 0}\n" + pipeline_yaml(base_url) + R"(
processors:
  users:
    input: {bucket: raw, prefix: raw/users/}
    steps: [flatten, {filter: "id < 5"}]
    output: {key: "processed/users/processed_{name}"}
crawlers:
  lake:
    database: my_glue_database
    targets: [s3://raw/processed/]
)",
                                         dir / "p.yaml");
  pipeline.data_dir = dir / "data";
  return pipeline;
}

}  // namespace sluice::testing_util
