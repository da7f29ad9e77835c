// sluice export terraform: the example pipeline as AWS resources. The golden file was reviewed
// against the AWS provider's documentation (attribute names and shapes); the other tests check,
// independently of it, that every reference resolves, that every IAM statement names only the
// example's own buckets, prefixes and streams, that the original project's layout comes out, that
// defaults stay defaults and that what AWS cannot do is reported.
#include "export/terraform.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <regex>
#include <set>
#include <sstream>

#include "common/error.h"

namespace sluice::terraform {
namespace {

using nlohmann::json;
using ::testing::Contains;
using ::testing::HasSubstr;

const std::filesystem::path kExample = SLUICE_SOURCE_DIR "/examples/jsonplaceholder/pipeline.yaml";
const std::filesystem::path kGolden = SLUICE_SOURCE_DIR "/tests/export/golden/jsonplaceholder.tf.json";

Export export_example() { return export_pipeline(config::load_pipeline(kExample)); }

Export export_text(const std::string& yaml) {
  return export_pipeline(config::parse_pipeline(yaml, "p.yaml"));
}

void collect_strings(const json& value, std::vector<std::string>& out) {
  if (value.is_string()) out.push_back(value.get<std::string>());
  if (value.is_structured())
    for (const auto& item : value) collect_strings(item, out);
}

// The problems with the references of `doc`: every ${...} must be var.NAME, data.TYPE.NAME.ATTR or
// TYPE.NAME.ATTR declared in it, and every depends_on entry a declared TYPE.NAME.
std::vector<std::string> unresolved_references(const json& doc) {
  std::vector<std::string> strings, problems;
  collect_strings(doc, strings);
  static const std::regex kInterpolation(R"(\$\{([^}]*)\})");
  static const std::regex kVar(R"(var\.([A-Za-z0-9_-]+))");
  static const std::regex kData(R"(data\.([a-z0-9_]+)\.([A-Za-z0-9_-]+)\.[a-z_]+)");
  static const std::regex kResource(R"(([a-z0-9_]+)\.([A-Za-z0-9_-]+)\.[a-z_]+)");
  auto declared = [&](const char* block, const std::string& type, const std::string& name) {
    return doc.contains(block) && doc[block].contains(type) && doc[block][type].contains(name);
  };
  for (const auto& text : strings) {
    for (std::sregex_iterator it(text.begin(), text.end(), kInterpolation), end; it != end; ++it) {
      const std::string inner = (*it)[1];
      std::smatch m;
      const bool ok = std::regex_match(inner, m, kVar)        ? doc["variable"].contains(m[1].str())
                      : std::regex_match(inner, m, kData)     ? declared("data", m[1], m[2])
                      : std::regex_match(inner, m, kResource) ? declared("resource", m[1], m[2])
                                                              : false;
      if (!ok) problems.push_back(inner);
    }
  }
  for (const auto& [type, resources] : doc["resource"].items())
    for (const auto& [name, body] : resources.items())
      for (const auto& dep : body.value("depends_on", json::array())) {
        const std::string d = dep.get<std::string>();
        const size_t dot = d.find('.');
        if (dot == std::string::npos || !declared("resource", d.substr(0, dot), d.substr(dot + 1)))
          problems.push_back(type + "." + name + " depends_on " + d);
      }
  return problems;
}

// Role label -> action -> resources, from the aws_iam_role_policy documents.
std::map<std::string, std::map<std::string, std::set<std::string>>> policies(const json& doc) {
  std::map<std::string, std::map<std::string, std::set<std::string>>> out;
  for (const auto& [label, body] : doc["resource"]["aws_iam_role_policy"].items()) {
    const json policy = json::parse(body["policy"].get<std::string>());
    for (const auto& statement : policy["Statement"]) {
      EXPECT_EQ(statement["Effect"], "Allow") << label;
      for (const auto& action : statement["Action"])
        for (const auto& resource : statement["Resource"])
          out[label][action.get<std::string>()].insert(resource.get<std::string>());
    }
  }
  return out;
}

TEST(TerraformExport, ExampleMatchesTheGoldenFile) {
  const std::string rendered = render(export_example().document);
  if (const char* update = std::getenv("SLUICE_UPDATE_GOLDEN"); update && std::string(update) == "1") {
    std::ofstream(kGolden, std::ios::binary) << rendered;
    GTEST_SKIP() << "rewrote " << kGolden;
  }
  std::ifstream in(kGolden, std::ios::binary);
  ASSERT_TRUE(in) << "missing " << kGolden << " (run with SLUICE_UPDATE_GOLDEN=1, then review it)";
  std::stringstream golden;
  golden << in.rdbuf();
  EXPECT_EQ(rendered, golden.str()) << "the export differs from " << kGolden;
}

TEST(TerraformExport, EveryReferenceInTheExampleResolves) {
  const json doc = export_example().document;
  EXPECT_THAT(unresolved_references(doc), ::testing::IsEmpty());
  // The check itself finds what is missing.
  json broken = doc;
  broken["resource"]["aws_lambda_function"].erase("source_users");
  broken["resource"]["aws_s3_bucket_notification"]["sluice-demo"]["depends_on"].push_back(
      "aws_lambda_permission.nope");
  EXPECT_THAT(unresolved_references(broken), Contains("aws_lambda_function.source_users.arn"));
  EXPECT_THAT(unresolved_references(broken),
              Contains("aws_s3_bucket_notification.sluice-demo depends_on aws_lambda_permission.nope"));
}

// What the example's file says each part may touch, written out by hand from pipeline.yaml.
bool allowed_s3_object(const std::string& pattern) {
  for (const char* prefix :
       {"raw/users/", "raw/posts/", "raw/comments/", "raw/random_users/", "processed/users/",
        "processed/posts/", "processed/comments/", "processed/random_users/", "processed/", "errors/users/",
        "errors/posts/", "errors/comments/", "errors/random-users-flatten/",
        "delivery-errors/random-users-to-s3/"})
    if (pattern.rfind(prefix, 0) == 0) return true;
  return false;
}

TEST(TerraformExport, EveryPolicyNamesOnlyTheExampleResources) {
  const json doc = export_example().document;
  const auto all = policies(doc);
  ASSERT_FALSE(all.empty());
  for (const auto& [role, actions] : all)
    for (const auto& [action, resources] : actions)
      for (const auto& r : resources) {
        SCOPED_TRACE(role + " " + action + " " + r);
        EXPECT_NE(r, "*");
        if (r.rfind("${", 0) == 0) {
          EXPECT_TRUE(r.rfind("${aws_kinesis_stream.GETrandomUserAPI.", 0) == 0 ||
                      r.rfind("${aws_lambda_function.source_", 0) == 0);
        } else if (r.rfind("arn:aws:s3:::", 0) == 0) {
          const std::string rest = r.substr(13);
          EXPECT_TRUE(rest == "sluice-demo" ||
                      (rest.rfind("sluice-demo/", 0) == 0 && allowed_s3_object(rest.substr(12))));
        } else if (r.rfind("arn:aws:logs:", 0) == 0) {
          EXPECT_THAT(
              r, ::testing::MatchesRegex(R"(arn:aws:logs:\*:\*:log-group:/aws[-/a-z]*/[A-Za-z0-9_./-]*:\*)"));
          EXPECT_EQ(action.rfind("logs:", 0), 0u);
        } else if (r.rfind("arn:aws:glue:", 0) == 0) {
          EXPECT_TRUE(r.ends_with(":catalog") || r.ends_with(":database/my_glue_database") ||
                      r.ends_with(":table/my_glue_database/*"));
        } else {
          ADD_FAILURE() << "unexpected resource";
        }
      }
}

TEST(TerraformExport, EachFunctionMayTouchOnlyItsOwnPrefixesAndStream) {
  const auto all = policies(export_example().document);
  auto s3_and_kinesis = [&](const std::string& role) {
    std::map<std::string, std::set<std::string>> out;
    for (const auto& [action, resources] : all.at(role))
      if (action.rfind("logs:", 0) != 0) out[action] = resources;
    return out;
  };
  using Actions = std::map<std::string, std::set<std::string>>;
  EXPECT_EQ(s3_and_kinesis("source_users"),
            (Actions{{"s3:PutObject", {"arn:aws:s3:::sluice-demo/raw/users/jsonplaceholder_users_*"}}}));
  EXPECT_EQ(s3_and_kinesis("source_random-users"),
            (Actions{{"kinesis:PutRecord", {"${aws_kinesis_stream.GETrandomUserAPI.arn}"}},
                     {"kinesis:PutRecords", {"${aws_kinesis_stream.GETrandomUserAPI.arn}"}}}));
  EXPECT_EQ(s3_and_kinesis("processor_users"),
            (Actions{{"s3:GetObject", {"arn:aws:s3:::sluice-demo/raw/users/*.json"}},
                     {"s3:PutObject",
                      {"arn:aws:s3:::sluice-demo/processed/users/processed_*",
                       "arn:aws:s3:::sluice-demo/errors/users/*"}}}));
  EXPECT_EQ(all.at("source_users").at("logs:PutLogEvents"),
            (std::set<std::string>{"arn:aws:logs:*:*:log-group:/aws/lambda/sluice-source-users:*"}));
  // Firehose: its stream, its prefix and its error prefix only.
  const auto& firehose = all.at("delivery_random-users-to-s3");
  EXPECT_EQ(firehose.at("kinesis:GetRecords"),
            (std::set<std::string>{"${aws_kinesis_stream.GETrandomUserAPI.arn}"}));
  EXPECT_EQ(firehose.at("s3:PutObject"),
            (std::set<std::string>{"arn:aws:s3:::sluice-demo/raw/random_users/*",
                                   "arn:aws:s3:::sluice-demo/delivery-errors/random-users-to-s3/*"}));
  // The crawler: reads its target prefix only.
  EXPECT_EQ(all.at("crawler_processed").at("s3:GetObject"),
            (std::set<std::string>{"arn:aws:s3:::sluice-demo/processed/*"}));
}

TEST(TerraformExport, TheOriginalProjectsLayoutComesOutOfTheExample) {
  const json doc = export_example().document;
  const json& r = doc["resource"];
  // The daily extract at 10:00 Paris time, through EventBridge Scheduler (a rule is UTC only).
  const json& users = r["aws_scheduler_schedule"]["daily-extract_source_users"];
  EXPECT_EQ(users["schedule_expression"], "cron(00 10 * * ? *)");
  EXPECT_EQ(users["schedule_expression_timezone"], "Europe/Paris");
  EXPECT_EQ(users["target"]["arn"], "${aws_lambda_function.source_users.arn}");
  EXPECT_EQ(r["aws_scheduler_schedule"].size(), 3u);  // users, posts, comments
  // The minutely poll is UTC: a plain EventBridge rule.
  EXPECT_EQ(r["aws_cloudwatch_event_rule"]["random-users-poll"]["schedule_expression"], "rate(1 minute)");
  // The raw/users key prefix, to the users processor.
  json users_notification;
  for (const auto& entry : r["aws_s3_bucket_notification"]["sluice-demo"]["lambda_function"])
    if (entry["lambda_function_arn"] == "${aws_lambda_function.processor_users.arn}")
      users_notification = entry;
  EXPECT_EQ(users_notification["filter_prefix"], "raw/users/");
  EXPECT_EQ(users_notification["filter_suffix"], ".json");
  EXPECT_EQ(users_notification["events"], json({"s3:ObjectCreated:*"}));
  // The Glue database and crawler, and Athena's result location.
  EXPECT_EQ(r["aws_glue_catalog_database"]["my_glue_database"]["name"], "my_glue_database");
  EXPECT_EQ(r["aws_glue_crawler"]["processed"]["s3_target"],
            json::parse(R"([{"path": "s3://sluice-demo/processed/"}])"));
  EXPECT_EQ(r["aws_athena_workgroup"]["sluice"]["configuration"]["result_configuration"]["output_location"],
            "s3://sluice-demo/athena/results/");
  // Kinesis and Firehose as written: one shard; 1 MiB or 60 s into raw/random_users/.
  EXPECT_EQ(r["aws_kinesis_stream"]["GETrandomUserAPI"]["shard_count"], 1);
  EXPECT_FALSE(r["aws_kinesis_stream"]["GETrandomUserAPI"].contains("retention_period"));  // not written
  const json& s3 =
      r["aws_kinesis_firehose_delivery_stream"]["random-users-to-s3"]["extended_s3_configuration"];
  EXPECT_EQ(s3["prefix"], "raw/random_users/");
  EXPECT_EQ(s3["buffering_size"], 1);
  EXPECT_EQ(s3["buffering_interval"], 60);
  EXPECT_FALSE(s3.contains("compression_format"));  // not written
  // sluice itself is each function.
  const json& fn = r["aws_lambda_function"]["processor_users"];
  EXPECT_EQ(fn["runtime"], "provided.al2023");
  EXPECT_EQ(fn["handler"], "sluice");
  EXPECT_EQ(fn["filename"], "${var.lambda_package}");
  EXPECT_EQ(doc["variable"]["lambda_package"]["default"], "sluice-lambda.zip");
  EXPECT_EQ(fn["environment"]["variables"]["SLUICE_ENTRY"], "processors.users");
  EXPECT_EQ(r["aws_lambda_function"].size(), 8u);  // 4 sources, 4 processors
}

const char* kPlain = R"(buckets: [raw]
streams:
  events:
sources:
  users:
    url: https://example.com/users
    to: stream://events
deliveries:
  events-to-s3:
    stream: events
    to: s3://raw/events/
)";

TEST(TerraformExport, DefaultsStayDefaultsAndAPlainPipelineHasNoWarnings) {
  const Export out = export_text(kPlain);
  EXPECT_THAT(out.warnings, ::testing::IsEmpty());
  const json& r = out.document["resource"];
  EXPECT_FALSE(r["aws_kinesis_stream"]["events"].contains("retention_period"));
  const json& s3 = r["aws_kinesis_firehose_delivery_stream"]["events-to-s3"]["extended_s3_configuration"];
  for (const char* key :
       {"buffering_size", "buffering_interval", "compression_format", "error_output_prefix"})
    EXPECT_FALSE(s3.contains(key)) << key;
  EXPECT_FALSE(r.contains("aws_athena_workgroup"));  // query: not written
  EXPECT_THAT(unresolved_references(out.document), ::testing::IsEmpty());
}

TEST(TerraformExport, FeaturesWithoutAnAwsEquivalentAreReported) {
  const Export out = export_text(R"(buckets: [raw]
server: {port: 9870}
streams:
  events: {fsync: interval, retention: 88200s}
sources:
  users:
    url: https://example.com/users
    retry: {max_attempts: 3}
    auth: {type: bearer, token_env: USERS_TOKEN}
    to: stream://events
deliveries:
  events-to-s3: {stream: events, to: s3://raw/events/, compression: zstd}
)");
  auto reported = [&](const std::string& path) {
    return std::any_of(out.warnings.begin(), out.warnings.end(),
                       [&](const std::string& w) { return w.rfind(path + ": ", 0) == 0; });
  };
  for (const char* path : {"server", "streams.events.fsync", "sources.users.retry", "sources.users.auth",
                           "deliveries.events-to-s3.compression"})
    EXPECT_TRUE(reported(path)) << path;
  EXPECT_THAT(out.warnings, Contains(HasSubstr("USERS_TOKEN")));
  // Retention: Kinesis keeps whole hours; 88200 s (24.5 h) is rounded up, and said.
  EXPECT_TRUE(reported("streams.events.retention"));
  EXPECT_EQ(out.document["resource"]["aws_kinesis_stream"]["events"]["retention_period"], 25);
  EXPECT_FALSE(out.document["resource"]["aws_kinesis_firehose_delivery_stream"]["events-to-s3"]
                           ["extended_s3_configuration"]
                               .contains("compression_format"));
}

TEST(TerraformExport, TheExampleReportsWhatItCannotExport) {
  const Export out = export_example();
  for (const char* what : {"schedules.daily-extract.catch_up: ", "dashboards.jsonplaceholder: ",
                           "crawlers.processed.on_change: ", "server: "})
    EXPECT_THAT(out.warnings, Contains(HasSubstr(what))) << what;
}

TEST(TerraformExport, DynamicPartitioningAndDelimiterBecomeFirehoseProcessors) {
  const Export out = export_text(R"(buckets: [raw]
streams: {events: }
deliveries:
  by-user:
    stream: events
    to: s3://raw/events/user=!{partitionKeyFromQuery:user.id}/
    buffer: {size: 64MiB}
)");
  const json& s3 = out.document["resource"]["aws_kinesis_firehose_delivery_stream"]["by-user"]
                               ["extended_s3_configuration"];
  EXPECT_EQ(s3["prefix"], "events/user=!{partitionKeyFromQuery:user_id}/");
  EXPECT_EQ(s3["dynamic_partitioning_configuration"]["enabled"], true);
  EXPECT_THAT(s3["error_output_prefix"].get<std::string>(), HasSubstr("delivery-errors/by-user/"));
  const json& processors = s3["processing_configuration"]["processors"];
  ASSERT_EQ(processors.size(), 2u);
  EXPECT_EQ(processors[0]["type"], "MetadataExtraction");
  EXPECT_EQ(processors[0]["parameters"][0]["parameter_value"], "{user_id: .user.id}");
  EXPECT_EQ(processors[1]["type"], "AppendDelimiterToRecord");
  EXPECT_EQ(processors[1]["parameters"][0]["parameter_value"], "\\n");
  EXPECT_EQ(s3["buffering_size"], 64);
  EXPECT_THAT(out.warnings, ::testing::IsEmpty());
  // The policy covers the fixed part of the prefix.
  EXPECT_EQ(policies(out.document).at("delivery_by-user").at("s3:PutObject"),
            (std::set<std::string>{"arn:aws:s3:::raw/events/user=*",
                                   "arn:aws:s3:::raw/delivery-errors/by-user/*"}));
}

TEST(TerraformExport, ARuleTakesAtMostFiveTargets) {
  std::string yaml =
      "buckets: [raw]\nschedules:\n  often: {expression: rate(5 minutes), targets: [s1, s2, s3, s4, "
      "s5, s6]}\nsources:\n";
  for (int i = 1; i <= 6; ++i)
    yaml += "  s" + std::to_string(i) + ": {url: https://example.com/, to: s3://raw/s" + std::to_string(i) +
            ".json}\n";
  const Export out = export_text(yaml);
  const json& r = out.document["resource"];
  ASSERT_EQ(r["aws_cloudwatch_event_rule"].size(), 2u);
  EXPECT_EQ(r["aws_cloudwatch_event_rule"]["often-2"]["schedule_expression"], "rate(5 minutes)");
  EXPECT_EQ(r["aws_cloudwatch_event_target"].size(), 6u);
  EXPECT_EQ(r["aws_cloudwatch_event_target"]["often-2_source_s6"]["rule"],
            "${aws_cloudwatch_event_rule.often-2.name}");
  EXPECT_THAT(unresolved_references(out.document), ::testing::IsEmpty());
  // Exact object key: no wildcard.
  EXPECT_EQ(policies(out.document).at("source_s1").at("s3:PutObject"),
            (std::set<std::string>{"arn:aws:s3:::raw/s1.json"}));
}

TEST(TerraformExport, CrawlerSchedulesAndOverlappingNotificationsAreHandled) {
  const Export out = export_text(R"yaml(buckets: [raw]
schedules:
  nightly: {expression: "cron(0 2 * * ? *)", timezone: UTC, targets: [crawl]}
  often: {expression: rate(5 minutes), targets: [crawl]}
crawlers:
  crawl: {database: db, targets: [s3://raw/out/], on_change: false}
processors:
  all: {input: {bucket: raw, prefix: in/}, steps: [flatten], output: {key: "out/a/{name}"}}
  users: {input: {bucket: raw, prefix: in/users/, suffix: .json}, steps: [flatten], output: {key: "out/u/{name}"}}
)yaml");
  const json& r = out.document["resource"];
  // Glue runs the crawler on its own UTC cron; no rule is made for a schedule without a function.
  EXPECT_EQ(r["aws_glue_crawler"]["crawl"]["schedule"], "cron(0 2 * * ? *)");
  EXPECT_FALSE(r.contains("aws_cloudwatch_event_rule"));
  EXPECT_THAT(out.warnings, Contains(HasSubstr("schedules.often.targets (crawl): ")));
  EXPECT_THAT(out.warnings,
              Contains(HasSubstr("processors.users: its S3 notification filter overlaps that of "
                                 "processors.all")));
  EXPECT_EQ(out.warnings.size(), 2u);
}

TEST(TerraformExport, NamesAwsWouldRefuseAreErrorsNamingTheEntry) {
  const std::string long_name(70, 'a');
  try {
    export_text("buckets: [raw]\nsources:\n  " + long_name +
                ": {url: https://e.com/, to: s3://raw/a.json}\n");
    ADD_FAILURE() << "a 70-character name was exported";
  } catch (const Error& e) {
    EXPECT_THAT(e.what(), HasSubstr("sources." + long_name));
    EXPECT_THAT(e.what(), HasSubstr("64"));
  }
  // "a.b" and "a-b" are distinct in sluice, one name in AWS.
  EXPECT_THROW(export_text("buckets: [raw]\nsources:\n  a.b: {url: https://e.com/, to: s3://raw/1.json}\n"
                           "  a-b: {url: https://e.com/, to: s3://raw/2.json}\n"),
               Error);
}

TEST(TerraformExport, WritesMainTfJsonInTheDirectory) {
  const std::filesystem::path dir = std::filesystem::path(::testing::TempDir()) / "tf-export-test" / "out";
  std::filesystem::remove_all(dir.parent_path());
  const auto pipeline = config::parse_pipeline(kPlain, "p.yaml");
  EXPECT_THAT(write_terraform(pipeline, dir), ::testing::IsEmpty());
  std::ifstream in(dir / "main.tf.json");
  std::stringstream text;
  text << in.rdbuf();
  EXPECT_EQ(json::parse(text.str()), export_pipeline(pipeline).document);
  std::filesystem::remove_all(dir.parent_path());
}

// The CLI: `sluice export terraform PIPELINE DIR` writes the same document and lists what it did not
// export on stderr. Needs the sluice binary (built with the tests by `make test`).
TEST(TerraformExport, CliWritesTheDocumentAndPrintsTheWarnings) {
  if (!std::filesystem::exists(SLUICE_BINARY)) GTEST_SKIP() << "no sluice binary at " << SLUICE_BINARY;
  const std::filesystem::path dir = std::filesystem::path(::testing::TempDir()) / "tf-export-cli";
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  const std::string command = std::string(SLUICE_BINARY) + " export terraform '" + kExample.string() + "' '" +
                              (dir / "out").string() + "' 2>'" + (dir / "stderr").string() + "' >/dev/null";
  ASSERT_EQ(std::system(command.c_str()), 0) << command;
  auto read = [](const std::filesystem::path& path) {
    std::ifstream in(path, std::ios::binary);
    std::stringstream text;
    text << in.rdbuf();
    return text.str();
  };
  EXPECT_EQ(read(dir / "out" / "main.tf.json"), render(export_example().document));
  const std::string err = read(dir / "stderr");
  EXPECT_THAT(err, HasSubstr("warning: dashboards.jsonplaceholder: "));
  EXPECT_THAT(err, HasSubstr("warning: schedules.daily-extract.catch_up: "));
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace sluice::terraform
