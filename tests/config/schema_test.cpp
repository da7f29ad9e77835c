#include "config/schema.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <yaml-cpp/yaml.h>

#include <fstream>
#include <regex>
#include <set>
#include <sstream>

#include "config/pipeline.h"
#include "tests/config/json_schema_check.h"

namespace sluice::config {
namespace {

using nlohmann::json;
using ::testing::HasSubstr;
using testing_util::schema_problems;
using testing_util::yaml_to_json;

std::string read_text(const std::string& path) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

std::string example_text() {
  return read_text(std::string(SLUICE_FIXTURES_DIR) + "/../../examples/jsonplaceholder/pipeline.yaml");
}

// Every key of the file at least once, every section at least once: valid for the loader.
#include "tests/config/every_key.inc"

TEST(ConfigSchema, IsDraft2020AndValidatesTheExample) {
  const json schema = pipeline_json_schema();
  EXPECT_EQ(schema.at("$schema"), "https://json-schema.org/draft/2020-12/schema");
  EXPECT_EQ(json::parse(pipeline_json_schema_text()), schema);
  ASSERT_NO_THROW(parse_pipeline(example_text(), "pipeline.yaml"));
  EXPECT_THAT(schema_problems(schema, yaml_to_json(example_text())), ::testing::IsEmpty());
}

TEST(ConfigSchema, AFileWithEveryKeyIsValidForTheSchemaAndTheLoader) {
  ASSERT_NO_THROW(parse_pipeline(kEveryKey, "p.yaml"));
  EXPECT_THAT(schema_problems(pipeline_json_schema(), yaml_to_json(kEveryKey)), ::testing::IsEmpty());
}

TEST(ConfigSchema, RejectsAnUnknownKeyAsTheLoaderDoes) {
  for (const auto& [from, to, pointer] : std::vector<std::tuple<std::string, std::string, std::string>>{
           {"    url: https://jsonplaceholder.typicode.com/users\n",
            "    url: https://jsonplaceholder.typicode.com/users\n    timout: 5s\n", "/sources/users/timout"},
           {"version: 1\n", "version: 1\nworkers: 4\n", "/workers"},
           {"    buffer: {size: 1MiB, interval: 60s}", "    buffer: {size: 1MiB, every: 60s}",
            "/deliveries/random-users-to-s3/buffer/every"}}) {
    std::string text = example_text();
    const auto at = text.find(from);
    ASSERT_NE(at, std::string::npos) << from;
    text.replace(at, from.size(), to);
    const auto problems = schema_problems(pipeline_json_schema(), yaml_to_json(text));
    EXPECT_THAT(problems, ::testing::ElementsAre(HasSubstr(pointer + ": unknown key"))) << pointer;
    EXPECT_THROW(parse_pipeline(text, "pipeline.yaml"), ConfigError) << pointer;
  }
}

// A value the loader refuses for its type, range or spelling, the schema refuses too.
TEST(ConfigSchema, RefusesWrongValuesTheLoaderRefuses) {
  for (const auto& [line, pointer] : std::vector<std::pair<std::string, std::string>>{
           {"streams: {s: {shards: 65}}", "/streams/s/shards"},
           {"streams: {s: {fsync: sometimes}}", "/streams/s/fsync"},
           {"server: {port: 70000}", "/server/port"},
           {"server: {header_timeout: soon}", "/server/header_timeout"},
           {"buckets: [Bad_Bucket]", "/buckets/0"},
           {"crawlers: {c: {database: My-DB, targets: [s3://raw/]}}", "/crawlers/c/database"},
           {"query: {max_sql_bytes: 12 parsecs}", "/query/max_sql_bytes"},
           {"sources: {\"bad name\": {url: http://x, to: s3://raw/x}}", "/sources/bad name"},
           {"processors: {p: {input: {bucket: raw}, output: {key: x}, steps: [{filter: a, sql: b}]}}",
            "/processors/p/steps/0"},
       }) {
    const std::string text = (line.rfind("buckets", 0) == 0 ? "" : "buckets: [raw]\n") + line + "\n";
    EXPECT_THROW(parse_pipeline(text, "p.yaml"), ConfigError) << line;
    const auto problems = schema_problems(pipeline_json_schema(), yaml_to_json(text));
    EXPECT_THAT(problems, ::testing::Contains(HasSubstr(pointer))) << line;
  }
}

// ---- The README's configuration reference names exactly the keys the schema knows ----------------

// Dotted paths of every key the schema declares: "sources.*.retry.max_attempts" ("*" for a name the
// user chooses, "[]" for a list's items).
void schema_paths(const json& schema, const std::string& path, std::set<std::string>& out) {
  if (schema.contains("anyOf"))
    for (const auto& alternative : schema["anyOf"]) schema_paths(alternative, path, out);
  const json properties = schema.value("properties", json::object());
  for (const auto& [key, child] : properties.items()) {
    const std::string p = path.empty() ? key : path + "." + key;
    out.insert(p);
    schema_paths(child, p, out);
  }
  const json patterns = schema.value("patternProperties", json::object());
  for (const auto& [pattern, child] : patterns.items()) schema_paths(child, path + ".*", out);
  if (schema.contains("items")) schema_paths(schema["items"], path + "[]", out);
}

// The same paths for a YAML block of the README, read with the schema: keys under a name the user
// chooses (NAME) become "*"; keys the schema does not know are listed in `unknown`.
void readme_paths(const YAML::Node& node, const json& schema, const std::string& path,
                  std::set<std::string>& out, std::vector<std::string>& unknown) {
  if (schema.contains("anyOf")) {
    for (const auto& alternative : schema["anyOf"])
      if (alternative.value("type", "") == (node.IsMap() ? "object" : "string"))
        readme_paths(node, alternative, path, out, unknown);
    return;
  }
  if (node.IsSequence() && schema.contains("items")) {
    for (const auto& item : node) readme_paths(item, schema["items"], path + "[]", out, unknown);
  }
  if (!node.IsMap() || !schema.contains("additionalProperties") ||
      !schema["additionalProperties"].is_boolean())
    return;  // a scalar, or a mapping of the user's own names (headers, rename, input.schema)
  for (const auto& entry : node) {
    const std::string key = entry.first.Scalar();
    const json properties = schema.value("properties", json::object());
    if (properties.contains(key)) {
      const std::string p = path.empty() ? key : path + "." + key;
      out.insert(p);
      readme_paths(entry.second, properties[key], p, out, unknown);
    } else if (schema.contains("patternProperties")) {
      readme_paths(entry.second, schema["patternProperties"].begin().value(), path + ".*", out, unknown);
    } else {
      unknown.push_back(path.empty() ? key : path + "." + key);
    }
  }
}

// The ```yaml blocks of the README's "Configuration reference" (up to the next level-2 heading).
std::vector<std::string> reference_blocks(const std::string& readme) {
  const auto start = readme.find("## Configuration reference");
  const auto end = readme.find("\n## ", start + 1);
  const std::string section = readme.substr(start, end - start);
  std::vector<std::string> blocks;
  const std::regex block("```yaml\n([\\s\\S]*?)```");
  for (auto it = std::sregex_iterator(section.begin(), section.end(), block); it != std::sregex_iterator();
       ++it)
    blocks.push_back((*it)[1]);
  return blocks;
}

TEST(ConfigSchema, TheReadmeReferenceNamesExactlyTheSchemaKeys) {
  const std::string readme = read_text(std::string(SLUICE_FIXTURES_DIR) + "/../../README.md");
  const auto blocks = reference_blocks(readme);
  ASSERT_GE(blocks.size(), 4u);
  const json schema = pipeline_json_schema();
  std::set<std::string> in_readme, in_schema;
  std::vector<std::string> unknown;
  for (const auto& block : blocks) readme_paths(YAML::Load(block), schema, "", in_readme, unknown);
  schema_paths(schema, "", in_schema);
  EXPECT_THAT(unknown, ::testing::IsEmpty()) << "keys in the README that the schema does not know";
  std::vector<std::string> missing;
  std::set_difference(in_schema.begin(), in_schema.end(), in_readme.begin(), in_readme.end(),
                      std::back_inserter(missing));
  EXPECT_THAT(missing, ::testing::IsEmpty()) << "schema keys that the README's reference does not show";
  EXPECT_TRUE(in_readme.count("sources.*.retry.max_attempts"));  // the walk did reach nested keys
}

}  // namespace
}  // namespace sluice::config
