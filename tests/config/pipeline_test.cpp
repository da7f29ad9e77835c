#include "config/pipeline.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <fstream>

#include "tests/common/temp_dir.h"

namespace sluice::config {
namespace {

using ::testing::HasSubstr;

const char* kValid = R"(version: 1
data_dir: ./var
server:
  port: 8080
buckets:
  - raw-bucket
  - name: other-bucket
schedules:
  daily:
    expression: cron(00 10 * * ? *)
    timezone: Europe/Paris
    catch_up: all
    targets: [users, random]
sources:
  users:
    url: https://jsonplaceholder.typicode.com/users
    headers: {Accept: application/json}
    query: {b: "2", a: "1"}
    timeout: {connect: 2s, total: 30s}
    retry: {max_attempts: 3, base_delay: 100ms, max_delay: 5s}
    to: s3://raw-bucket/raw/users/jsonplaceholder_users_{date}.json
  random:
    url: http://127.0.0.1:1/api/
    auth: {type: bearer, token_env: RANDOM_TOKEN}
    records_path: results
    pagination: {type: next_field, next_field: info.next, max_pages: 3}
    timezone: America/New_York
    to: s3://other-bucket/raw/random/{datetime}-{run_id}.json
)";

std::vector<Diagnostic> errors_of(const std::string& yaml) {
  try {
    parse_pipeline(yaml, "p.yaml");
  } catch (const ConfigError& e) {
    return e.diagnostics();
  }
  return {};
}

TEST(ConfigPipeline, ParsesEveryField) {
  Pipeline p = parse_pipeline(kValid, "/etc/sluice/p.yaml");
  EXPECT_EQ(p.data_dir, "/etc/sluice/var");
  EXPECT_EQ(p.server.host, "127.0.0.1");
  EXPECT_EQ(p.server.port, 8080);
  EXPECT_EQ(p.buckets, (std::vector<std::string>{"raw-bucket", "other-bucket"}));
  ASSERT_EQ(p.schedules.size(), 1u);
  EXPECT_EQ(p.schedules[0].expression, "cron(00 10 * * ? *)");
  EXPECT_EQ(p.schedules[0].timezone, "Europe/Paris");
  EXPECT_EQ(p.schedules[0].catch_up, CatchUp::kAll);
  EXPECT_EQ(p.schedules[0].targets, (std::vector<std::string>{"users", "random"}));
  ASSERT_EQ(p.sources.size(), 2u);
  const auto* users = p.find_source("users");
  ASSERT_NE(users, nullptr);
  EXPECT_EQ(users->headers.at("Accept"), "application/json");
  ASSERT_EQ(users->query.size(), 2u);
  EXPECT_EQ(users->query[0].first, "b");  // file order is kept
  EXPECT_EQ(users->connect_timeout, std::chrono::seconds(2));
  EXPECT_EQ(users->total_timeout, std::chrono::seconds(30));
  EXPECT_EQ(users->retry.max_attempts, 3);
  EXPECT_EQ(users->retry.base_delay, std::chrono::milliseconds(100));
  const auto* random = p.find_source("random");
  ASSERT_NE(random, nullptr);
  EXPECT_EQ(random->auth.kind, extract::AuthConfig::Kind::kBearer);
  EXPECT_EQ(random->auth.token_env, "RANDOM_TOKEN");
  EXPECT_EQ(random->records_path, "results");
  EXPECT_EQ(random->pagination.kind, extract::PaginationConfig::Kind::kNextField);
  EXPECT_EQ(random->pagination.max_pages, 3);
  EXPECT_EQ(p.timezone_for_source("users"), "Europe/Paris");
  EXPECT_EQ(p.timezone_for_source("random"), "America/New_York");  // its own overrides the schedule's
}

TEST(ConfigPipeline, TheExampleIsValid) {
  Pipeline p =
      load_pipeline(std::string(SLUICE_FIXTURES_DIR) + "/../../examples/jsonplaceholder/pipeline.yaml");
  EXPECT_EQ(p.schedules.at(0).expression, "cron(00 10 * * ? *)");
  EXPECT_EQ(p.schedules.at(0).timezone, "Europe/Paris");
  EXPECT_EQ(p.sources.size(), 4u);
  EXPECT_EQ(p.find_source("users")->to, "s3://sluice-demo/raw/users/jsonplaceholder_users_{date}.json");
  // The near-real-time part: the randomuser source into the stream, the delivery, the catalog.
  EXPECT_EQ(p.find_source("random-users")->to, "stream://GETrandomUserAPI");
  ASSERT_EQ(p.streams.size(), 1u);
  EXPECT_EQ(p.streams[0].name, "GETrandomUserAPI");
  ASSERT_EQ(p.deliveries.size(), 1u);
  EXPECT_EQ(p.deliveries[0].bucket, "sluice-demo");
  EXPECT_EQ(p.deliveries[0].prefix, "raw/random_users/");
  EXPECT_EQ(p.deliveries[0].buffer_interval, std::chrono::seconds(60));
  EXPECT_EQ(p.crawlers.at(0).database, "my_glue_database");
  EXPECT_EQ(p.query.output_bucket, "sluice-demo");
  EXPECT_EQ(p.query.output_prefix, "athena/results/");
}

TEST(ConfigPipeline, StreamsDeliveriesAndCrawlerMistakes) {
  const std::string yaml = R"(buckets: [lake]
sources:
  s:
    url: http://127.0.0.1/x
    to: stream://missing
streams:
  events: {shards: 100, fsync: sometimes}
deliveries:
  d:
    stream: nope
    to: s3://lake/x/!{bad:y}/
    buffer: {size: 500MiB, interval: 1h}
    compression: brotli
crawlers:
  c:
    database: My-DB
    targets: [s3://other/p/]
)";
  try {
    parse_pipeline(yaml, "p.yaml");
    FAIL();
  } catch (const ConfigError& e) {
    const std::string all = e.what();
    EXPECT_THAT(all, HasSubstr("streams.events.shards: expected an integer from 1 to 64, got 100"));
    EXPECT_THAT(all, HasSubstr("streams.events.fsync: expected one of always, interval, never"));
    EXPECT_THAT(all, HasSubstr("deliveries.d.stream: no stream named \"nope\""));
    EXPECT_THAT(all, HasSubstr("deliveries.d.to: unknown expression !{bad:y}"));
    EXPECT_THAT(all, HasSubstr("deliveries.d.buffer.size: expected a size from 1048576 to 134217728 bytes"));
    EXPECT_THAT(
        all, HasSubstr("deliveries.d.buffer.interval: duration \"1h\" is longer than the maximum of 900s"));
    EXPECT_THAT(all, HasSubstr("deliveries.d.compression: expected one of none, gzip, zstd"));
    EXPECT_THAT(all, HasSubstr("crawlers.c.database: database names use lower-case letters"));
    EXPECT_THAT(all, HasSubstr("crawlers.c.targets[0]: bucket \"other\" is not declared"));
    EXPECT_THAT(all, HasSubstr("sources.s.to: no stream named \"missing\" is declared under streams:"));
  }
}

TEST(ConfigPipeline, ReportsEveryProblemWithLineColumnAndPath) {
  const std::string yaml = R"(buckets: [raw]
schedules:
  daily:
    expresion: cron(0 10 * * ? *)
    targets: [users, missing]
    catch_up: sometimes
sources:
  users:
    url: ftp://example.com/users
    timeout: {total: five}
    to: s3://undeclared/raw/{date}.json
)";
  auto errors = errors_of(yaml);
  std::vector<std::string> lines;
  for (const auto& d : errors) lines.push_back(d.to_string());
  EXPECT_THAT(
      lines,
      ::testing::Contains(HasSubstr(
          "p.yaml:4:5: schedules.daily.expresion: unknown key \"expresion\"; did you mean \"expression\"?")));
  EXPECT_THAT(lines, ::testing::Contains(
                         HasSubstr("schedules.daily.expression: missing required key \"expression\"")));
  EXPECT_THAT(lines, ::testing::Contains(HasSubstr(
                         "p.yaml:5:22: schedules.daily.targets[1]: no source or crawler named \"missing\"")));
  EXPECT_THAT(
      lines,
      ::testing::Contains(HasSubstr(
          "p.yaml:6:15: schedules.daily.catch_up: expected one of none, latest, all, got \"sometimes\"")));
  EXPECT_THAT(lines, ::testing::Contains(
                         HasSubstr("p.yaml:9:10: sources.users.url: expected an http:// or https:// URL")));
  EXPECT_THAT(lines, ::testing::Contains(
                         HasSubstr("p.yaml:10:22: sources.users.timeout.total: expected a duration")));
  EXPECT_THAT(lines,
              ::testing::Contains(HasSubstr("p.yaml:11:9: sources.users.to: writes to bucket \"undeclared\", "
                                            "which is not declared under buckets: (declared: raw)")));
  EXPECT_EQ(errors.size(), 7u) << ::testing::PrintToString(lines);
}

TEST(ConfigPipeline, BadCronPointsAtTheOffendingField) {
  const std::string yaml = R"(buckets: [raw]
schedules:
  s:
    expression: cron(61 10 * * ? *)
    targets: [a]
sources:
  a:
    url: http://127.0.0.1/a
    to: s3://raw/a.json
)";
  auto errors = errors_of(yaml);
  ASSERT_EQ(errors.size(), 1u);
  EXPECT_EQ(errors[0].line, 4);
  EXPECT_EQ(errors[0].column, 17 + 5);  // "cron(" is 5 characters before the minutes field
  EXPECT_EQ(errors[0].path, "schedules.s.expression");
  EXPECT_THAT(errors[0].message, HasSubstr("61"));
}

TEST(ConfigPipeline, BadTimezoneAndTemplateField) {
  const std::string yaml = R"(buckets: [raw]
schedules:
  s:
    expression: rate(5 minutes)
    timezone: Mars/Olympus
    targets: a
sources:
  a:
    url: http://127.0.0.1/a
    to: s3://raw/{month}.json
)";
  auto errors = errors_of(yaml);
  std::vector<std::string> lines;
  for (const auto& d : errors) lines.push_back(d.to_string());
  EXPECT_THAT(lines, ::testing::Contains(
                         HasSubstr("p.yaml:5:15: schedules.s.timezone: unknown time zone \"Mars/Olympus\"")));
  EXPECT_THAT(lines, ::testing::Contains(HasSubstr("p.yaml:10:9: sources.a.to:")));
  EXPECT_EQ(errors.size(), 2u) << ::testing::PrintToString(lines);
}

TEST(ConfigPipeline, WrongTypesAndYamlSyntax) {
  auto errors = errors_of("buckets: raw\nsources: [1, 2]\n");
  ASSERT_EQ(errors.size(), 2u);
  EXPECT_EQ(errors[0].to_string(), "p.yaml:1:10: buckets: expected a list of bucket names, got \"raw\"");
  EXPECT_EQ(errors[1].to_string(), "p.yaml:2:10: sources: expected a mapping, got a list");

  errors = errors_of("sources:\n  a: [unclosed\n");
  ASSERT_EQ(errors.size(), 1u);
  EXPECT_THAT(errors[0].message, HasSubstr("YAML syntax error"));
  EXPECT_GT(errors[0].line, 0);
}

TEST(ConfigPipeline, InvalidBucketNamesAndDuplicates) {
  auto errors = errors_of("buckets: [Bad_Bucket, ok-bucket, ok-bucket]\n");
  ASSERT_EQ(errors.size(), 2u);
  EXPECT_EQ(errors[0].path, "buckets[0]");
  EXPECT_EQ(errors[1].message, "bucket \"ok-bucket\" is declared twice");
}

TEST(ConfigPipeline, NamesArePlainAndDistinct) {
  auto errors = errors_of(
      "buckets: [raw]\n"
      "schedules:\n"
      "  users: {expression: rate(1 day), targets: [users]}\n"
      "sources:\n"
      "  users: {url: http://127.0.0.1/u, to: s3://raw/u.json}\n"
      "  \"bad name\": {url: http://127.0.0.1/u, to: s3://raw/u.json}\n");
  ASSERT_EQ(errors.size(), 2u);
  EXPECT_EQ(
      errors[0].to_string(),
      "p.yaml:6:3: sources.bad name: source names use letters, digits, '_', '-' and '.', got \"bad name\"");
  EXPECT_EQ(errors[1].to_string(),
            "p.yaml:3:3: schedules.users: a source is also named \"users\"; schedules, sources and crawlers "
            "need distinct names");
}

TEST(ConfigPipeline, Processors) {
  Pipeline p = parse_pipeline(R"(buckets: [raw, out]
processors:
  users:
    input: {bucket: raw, prefix: raw/users/, suffix: .json, format: json}
    steps:
      - flatten: {separator: "__"}
      - filter: "id < 5"
      - select: [id, name]
      - rename: {name: full_name}
      - cast: {id: VARCHAR}
      - sql: SELECT * FROM input ORDER BY id
    output: {bucket: out, key: "processed/users/dt={date}/{basename}.parquet", format: parquet}
)",
                              "p.yaml");
  ASSERT_EQ(p.processors.size(), 1u);
  const auto& proc = p.processors[0];
  EXPECT_EQ(proc.bucket, "raw");
  EXPECT_EQ(proc.prefix, "raw/users/");
  EXPECT_EQ(proc.suffix, ".json");
  EXPECT_EQ(proc.input_format, process::InputFormat::kJsonArray);
  ASSERT_EQ(proc.steps.size(), 6u);
  EXPECT_EQ(proc.steps[0].separator, "__");
  EXPECT_EQ(proc.steps[1].expression, "id < 5");
  EXPECT_EQ(proc.steps[2].columns, (std::vector<std::string>{"id", "name"}));
  EXPECT_EQ(proc.steps[3].mapping.at(0).second, "full_name");
  EXPECT_EQ(proc.steps[4].kind, process::Step::Kind::kCast);
  EXPECT_EQ(proc.steps[5].kind, process::Step::Kind::kSql);
  EXPECT_EQ(proc.output_bucket, "out");
  EXPECT_EQ(proc.output_format, process::OutputFormat::kParquet);
  EXPECT_EQ(proc.error_prefix, "errors/users/");
  const auto& example =
      load_pipeline(std::string(SLUICE_FIXTURES_DIR) + "/../../examples/jsonplaceholder/pipeline.yaml");
  EXPECT_EQ(example.find_processor("users")->output_key, "processed/users/processed_{name}");
}

TEST(ConfigPipeline, ProcessorMistakes) {
  auto errors = errors_of(R"(buckets: [raw]
processors:
  loop:
    input: {bucket: raw, prefix: raw/}
    steps: [{explode: x}, {filter: ""}]
    output: {key: "raw/again/{name}", format: avro}
  nobucket:
    input: {bucket: missing}
    output: {key: "x/{month}"}
)");
  std::vector<std::string> lines;
  for (const auto& d : errors) lines.push_back(d.to_string());
  EXPECT_THAT(lines, ::testing::Contains(HasSubstr(
                         "p.yaml:5:14: processors.loop.steps[0].explode: unknown step \"explode\"")));
  EXPECT_THAT(lines, ::testing::Contains(
                         HasSubstr("processors.loop.steps[1].filter: expected a SQL boolean expression")));
  EXPECT_THAT(lines, ::testing::Contains(HasSubstr(
                         "processors.loop.output.key: the output key starts with the input prefix")));
  EXPECT_THAT(lines,
              ::testing::Contains(HasSubstr(
                  "processors.loop.output.format: expected one of jsonl, parquet, csv, got \"avro\"")));
  EXPECT_THAT(lines, ::testing::Contains(
                         HasSubstr("processors.nobucket.input.bucket: bucket \"missing\" is not declared")));
  EXPECT_THAT(lines, ::testing::Contains(HasSubstr("processors.nobucket.output.key: unknown field {month}")));
  // An empty prefix and no suffix take every object of the bucket: its own output too.
  EXPECT_THAT(
      lines,
      ::testing::Contains(HasSubstr(
          "p.yaml:9:19: processors.nobucket.output.key: the output key starts with the input prefix \"\"")));
  EXPECT_EQ(errors.size(), 7u) << ::testing::PrintToString(lines);
}

TEST(ConfigPipeline, MissingFileIsOneClearLine) {
  try {
    load_pipeline("/nonexistent/pipeline.yaml");
    FAIL();
  } catch (const ConfigError& e) {
    EXPECT_THAT(std::string(e.what()), HasSubstr("/nonexistent/pipeline.yaml"));
    EXPECT_EQ(std::string(e.what()).find('\n'), std::string::npos);
  }
}

TEST(ConfigPipeline, HostileFilesAreRefusedQuicklyWithOneProblem) {
  // Over the 1 MiB cap: refused before YAML parses it, from a string and from a file.
  std::string huge = "buckets: [raw-bucket]\n# " + std::string(1 << 20, 'x') + "\n";
  auto errors = errors_of(huge);
  ASSERT_EQ(errors.size(), 1u);
  EXPECT_THAT(errors[0].to_string(), HasSubstr("the limit is 1 MiB"));
  testing_util::TempDir dir;
  {
    std::ofstream out(dir.path() / "big.yaml");
    out << huge;
  }
  try {
    load_pipeline(dir.path() / "big.yaml");
    FAIL();
  } catch (const ConfigError& e) {
    EXPECT_THAT(std::string(e.what()), HasSubstr("big.yaml:1:1: the pipeline file is"));
  }
  // Nesting 100,000 levels deep: a YAML error, not a crash of the parser's stack.
  errors = errors_of("buckets: " + std::string(100000, '[') + std::string(100000, ']') + "\n");
  ASSERT_EQ(errors.size(), 1u);
  EXPECT_THAT(errors[0].message, HasSubstr("YAML"));
  // A thousand mistakes (YAML aliases can repeat one a million times): the problems stop at a page.
  std::string many = "buckets:\n";
  for (int i = 0; i < 1000; ++i) many += "  - Bad_Bucket_" + std::to_string(i) + "\n";
  errors = errors_of(many);
  ASSERT_EQ(errors.size(), 101u);
  EXPECT_THAT(errors.back().message, HasSubstr("too many problems; stopped after 100"));
}

TEST(ConfigPipeline, ServerCredentials) {
  auto p = parse_pipeline("server: {host: 0.0.0.0, port: 9000, auth: {token_env: SLUICE_TOKEN}}\n", "p.yaml");
  EXPECT_EQ(p.server.host, "0.0.0.0");
  EXPECT_EQ(p.server.token_env, "SLUICE_TOKEN");
  try {
    parse_pipeline("server: {auth: {token_env: \"not a name\", password: x}}\n", "p.yaml");
    FAIL();
  } catch (const ConfigError& e) {
    EXPECT_THAT(std::string(e.what()),
                HasSubstr("server.auth.token_env: expected an environment variable name"));
    EXPECT_THAT(std::string(e.what()), HasSubstr("server.auth.password: unknown key"));
  }
}

}  // namespace
}  // namespace sluice::config
