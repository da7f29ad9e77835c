#include "process/processor.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <sstream>

#include "common/fs.h"
#include "tests/common/expect_error.h"
#include "tests/common/temp_dir.h"
#include "tests/process/helpers.h"

namespace sluice::process {
namespace {

using ::testing::HasSubstr;
using json = nlohmann::ordered_json;

std::string users_json() {
  return json::parse(fs::read_file(std::string(SLUICE_FIXTURES_DIR) + "/jsonplaceholder/db.json"))["users"]
      .dump(2);
}

std::vector<json> lines_of(const std::string& jsonl) {
  std::vector<json> out;
  std::istringstream in(jsonl);
  for (std::string line; std::getline(in, line);)
    if (!line.empty()) out.push_back(json::parse(line));
  return out;
}

ProcessorConfig original() {
  ProcessorConfig c;
  c.name = "users";
  c.bucket = "raw";
  c.prefix = "raw/users/";
  c.output_key = "processed/users/processed_{name}";
  c.steps = {Step{.kind = Step::Kind::kFlatten}, Step{.kind = Step::Kind::kFilter, .expression = "id < 5"}};
  return c;
}

class ProcessTransform : public ::testing::Test {
 protected:
  TransformOutput run(const ProcessorConfig& c, std::string_view input,
                      std::string_view key = "raw/users/u.json") {
    return transform(c, input, key, dir_.path());
  }
  testing_util::TempDir dir_;
};

TEST_F(ProcessTransform, TheOriginalProcessorFlattensAndFilters) {
  auto out = run(original(), users_json());
  EXPECT_EQ(out.records, 4u);
  auto rows = lines_of(out.bytes);
  ASSERT_EQ(rows.size(), 4u);
  const std::vector<std::string> expected_keys = {"id",
                                                  "name",
                                                  "username",
                                                  "email",
                                                  "address_street",
                                                  "address_suite",
                                                  "address_city",
                                                  "address_zipcode",
                                                  "address_geo_lat",
                                                  "address_geo_lng",
                                                  "phone",
                                                  "website",
                                                  "company_name",
                                                  "company_catchPhrase",
                                                  "company_bs"};
  auto users = json::parse(users_json());
  for (size_t i = 0; i < rows.size(); ++i) {
    std::vector<std::string> keys;
    for (auto& [k, v] : rows[i].items()) keys.push_back(k);
    EXPECT_EQ(keys, expected_keys);
    EXPECT_EQ(rows[i]["id"], users[i]["id"]);
    EXPECT_EQ(rows[i]["address_geo_lat"], users[i]["address"]["geo"]["lat"]);
    EXPECT_EQ(rows[i]["company_catchPhrase"], users[i]["company"]["catchPhrase"]);
  }
  EXPECT_THAT(out.sql, HasSubstr("WHERE (id < 5\n)"));
  // The scratch folder is gone.
  EXPECT_TRUE(std::filesystem::is_empty(dir_.path()));
}

TEST_F(ProcessTransform, JsonLinesAndGzipAndCsvInputs) {
  auto c = original();
  c.steps = {Step{.kind = Step::Kind::kFilter, .expression = "a > 1"}};
  EXPECT_EQ(run(c, "{\"a\": 1}\n{\"a\": 2}\n{\"a\": 3}\n").records, 2u);
  // gzip of "[{\"a\":2}]" (made with gzip -n).
  const unsigned char gz[] = {0x1f, 0x8b, 0x08, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x03,
                              0x8b, 0xae, 0x56, 0x4a, 0x54, 0xb2, 0x32, 0xaa, 0x8d, 0x05,
                              0x00, 0x24, 0xcd, 0x8d, 0xf0, 0x09, 0x00, 0x00, 0x00};
  EXPECT_EQ(
      run(c, std::string_view(reinterpret_cast<const char*>(gz), sizeof(gz)), "raw/users/u.json.gz").records,
      1u);
  EXPECT_EQ(run(c, "a,b\n1,x\n2,y\n5,z\n", "raw/users/u.csv").records, 2u);
}

TEST_F(ProcessTransform, SelectRenameCastAndSql) {
  auto c = original();
  c.steps = {Step{.kind = Step::Kind::kFlatten},
             Step{.kind = Step::Kind::kSelect, .columns = {"id", "address_city", "address_geo_lat"}},
             Step{.kind = Step::Kind::kRename, .mapping = {{"address_city", "city"}}},
             Step{.kind = Step::Kind::kCast, .mapping = {{"address_geo_lat", "DOUBLE"}}},
             Step{.kind = Step::Kind::kSql,
                  .expression = "SELECT id, city, address_geo_lat AS lat FROM input WHERE id = 1"}};
  auto rows = lines_of(run(c, users_json()).bytes);
  ASSERT_EQ(rows.size(), 1u);
  EXPECT_EQ(rows[0].dump(), R"({"id":1,"city":"Gwenborough","lat":-37.3159})");
}

TEST_F(ProcessTransform, ParquetAndCsvOutputs) {
  auto c = original();
  c.output_format = OutputFormat::kParquet;
  auto parquet = run(c, users_json());
  EXPECT_EQ(parquet.records, 4u);
  EXPECT_EQ(parquet.bytes.substr(0, 4), "PAR1");
  // Read it back through DuckDB: the same rows.
  auto r = test_support::query_parquet(parquet.bytes, "SELECT id, company_catchPhrase FROM p ORDER BY id");
  ASSERT_EQ(r.row_count(), 4u);
  EXPECT_EQ(r.value(3, 0), "4");
  EXPECT_EQ(r.value(0, 1), "Multi-layered client-server neural-net");
  c.output_format = OutputFormat::kCsv;
  auto csv = run(c, users_json());
  EXPECT_EQ(
      csv.bytes.substr(0, csv.bytes.find('\n')),
      "id,name,username,email,address_street,address_suite,address_city,address_zipcode,address_geo_lat,"
      "address_geo_lng,phone,website,company_name,company_catchPhrase,company_bs");
}

TEST_F(ProcessTransform, FlattenNameClashNamesBothPaths) {
  auto c = original();
  c.steps = {Step{.kind = Step::Kind::kFlatten}};
  try {
    run(c, R"([{"address_city": "x", "address": {"city": "y"}}])");
    FAIL();
  } catch (const ProcessError& e) {
    EXPECT_THAT(std::string(e.what()),
                HasSubstr("\"address_city\" and \"address.city\" both become column \"address_city\""));
  }
}

TEST_F(ProcessTransform, BadInputsAreProcessErrorsNamingTheObject) {
  try {
    run(original(), "[{\"id\": 1}, {\"id\": ");
    FAIL();
  } catch (const ProcessError& e) {
    EXPECT_THAT(std::string(e.what()), HasSubstr("process users: s3://raw/raw/users/u.json: "));
  }
  auto c = original();
  c.steps = {Step{.kind = Step::Kind::kCast, .mapping = {{"name", "INTEGER"}}}};
  EXPECT_TRUE(testing_util::fails_with<ProcessError>(
      [&] { run(c, users_json()); }, "Conversion Error: Could not convert string 'Leanne Graham'"));
  c.steps = {Step{.kind = Step::Kind::kFilter, .expression = "nope > 1"}};
  EXPECT_TRUE(testing_util::fails_with<ProcessError>(
      [&] { run(c, users_json()); }, "step 1 (filter): Binder Error: Referenced column \"nope\""));
}

TEST(ProcessKeys, MatchingAndOutputKeys) {
  auto c = original();
  c.suffix = ".json";
  EXPECT_TRUE(matches(c, "raw", "raw/users/a.json"));
  EXPECT_FALSE(matches(c, "raw", "raw/posts/a.json"));
  EXPECT_FALSE(matches(c, "raw", "raw/users/a.csv"));
  EXPECT_FALSE(matches(c, "other", "raw/users/a.json"));
  const TimePoint t = *parse_iso8601_utc("2026-11-24T23:59:00Z");
  EXPECT_EQ(output_key(c, "raw/users/jsonplaceholder_users_2026-11-24.json", t),
            "processed/users/processed_jsonplaceholder_users_2026-11-24.json");
  c.output_key = "processed/users/dt={date}/{basename}.parquet";
  EXPECT_EQ(output_key(c, "raw/users/u.json.gz", t), "processed/users/dt=2026-11-24/u.parquet");
  EXPECT_THAT(validate_output_key("x/{month}"), HasSubstr("unknown field {month}"));
  EXPECT_EQ(validate_output_key("processed/{name}"), "");
}

}  // namespace
}  // namespace sluice::process
