// Checking steps before data arrives (check_steps, parse_only_problems, infer_input_shape), and user
// SQL with comments, trailing newlines and semicolons.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "tests/common/expect_error.h"
#include "tests/process/helpers.h"

namespace sluice::process {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using namespace test_support;

std::vector<sql::Column> users_shape() {
  return {{.name = "id", .type = "BIGINT"},
          {.name = "name", .type = "VARCHAR"},
          {.name = "address",
           .type = "STRUCT(city VARCHAR, geo STRUCT(lat VARCHAR))",
           .is_struct = true,
           .fields = {{.name = "city", .type = "VARCHAR"},
                      {.name = "geo",
                       .type = "STRUCT(lat VARCHAR)",
                       .is_struct = true,
                       .fields = {{.name = "lat", .type = "VARCHAR"}}}}}};
}

TEST(ProcessCheck, ASyntaxErrorIsAProblemAtItsStep) {
  const auto c = config_with({flatten(), filter("id <<< 5 AND (")});
  const auto problems = check_steps(c, users_shape());
  ASSERT_EQ(problems.size(), 1u);
  EXPECT_EQ(problems[0].step_index, 1u);
  EXPECT_THAT(problems[0].message, HasSubstr("step 2 (filter): Parser Error"));
  EXPECT_EQ(problems[0].message.find('\n'), std::string::npos);  // one line

  const auto parsed = parse_only_problems(c);
  ASSERT_EQ(parsed.size(), 1u);
  EXPECT_EQ(parsed[0].step_index, 1u);
  EXPECT_THAT(parsed[0].message, HasSubstr("Parser Error"));
}

TEST(ProcessCheck, AnUnknownColumnIsAProblemNamingIt) {
  const auto c = config_with(
      {flatten(), filter("id < 5"), Step{.kind = Step::Kind::kSelect, .columns = {"id", "nope"}}});
  const auto problems = check_steps(c, users_shape());
  ASSERT_EQ(problems.size(), 1u);
  EXPECT_EQ(problems[0].step_index, 2u);
  EXPECT_THAT(problems[0].message, HasSubstr("\"nope\""));
  EXPECT_TRUE(parse_only_problems(c).empty());  // no syntax error in it
}

TEST(ProcessCheck, AValidChainHasNoProblems) {
  const auto c = config_with({flatten(), filter("id < 5"),
                              Step{.kind = Step::Kind::kSelect, .columns = {"id", "address_geo_lat"}},
                              Step{.kind = Step::Kind::kRename, .mapping = {{"address_geo_lat", "lat"}}},
                              Step{.kind = Step::Kind::kCast, .mapping = {{"lat", "DOUBLE"}}},
                              sql_step("WITH top AS (SELECT * FROM input ORDER BY id) SELECT * FROM top;")});
  EXPECT_TRUE(check_steps(c, users_shape()).empty());
  EXPECT_TRUE(parse_only_problems(c).empty());
  // The same over the shape a first flatten reads (already flat): the flatten changes nothing.
  auto flat_shape = infer_input_shape(R"([{"id":1,"name":"x","address":{"city":"c","geo":{"lat":"1"}}}])",
                                      "in/x.json", InputFormat::kAuto, 10, "_");
  EXPECT_TRUE(check_steps(c, flat_shape).empty());
}

TEST(ProcessCheck, UnknownCastTypesAndSecondStatementsAreFoundWithoutAShape) {
  const auto c = config_with({Step{.kind = Step::Kind::kCast, .mapping = {{"id", "NOTATYPE"}}},
                              sql_step("SELECT * FROM input; DROP TABLE input")});
  const auto problems = parse_only_problems(c);
  ASSERT_EQ(problems.size(), 2u);
  EXPECT_EQ(problems[0].step_index, 0u);
  EXPECT_THAT(problems[0].message, HasSubstr("NOTATYPE"));
  EXPECT_EQ(problems[1].step_index, 1u);
}

TEST(ProcessCheck, CommentsNewlinesAndSemicolonsEndingUserSqlWork) {
  const auto c =
      config_with({flatten(), filter("id < 3 -- only the first two\n\n"),
                   sql_step("SELECT id, address_city FROM input -- keep two columns\n;\n-- done")});
  EXPECT_TRUE(check_steps(c, users_shape()).empty());
  EXPECT_TRUE(parse_only_problems(c).empty());
  testing_util::TempDir dir;
  const auto out = transform(
      c,
      R"([{"id":1,"address":{"city":"a"}},{"id":2,"address":{"city":"b"}},{"id":3,"address":{"city":"c"}}])",
      "in/x.json", dir.path());
  EXPECT_EQ(out.bytes, "{\"id\":1,\"address_city\":\"a\"}\n{\"id\":2,\"address_city\":\"b\"}\n");
  // A ';' inside a string or comment is not the statement's end.
  const auto quoted = config_with({sql_step("SELECT id, 'a;b' AS s FROM input /* ; */ ;")});
  EXPECT_EQ(transform(quoted, R"([{"id":1}])", "in/x.json", dir.path()).bytes, "{\"id\":1,\"s\":\"a;b\"}\n");
}

TEST(ProcessCheck, InferInputShapeIsWhatTheReaderLoads) {
  const std::string sample =
      "{\"id\":1,\"tags\":[\"a\"],\"geo\":{\"lat\":1.5}}\n{\"id\":2,\"x\":\"s\"}\n{\"id\":3.5}\n";
  std::vector<std::string> described;
  for (const auto& column : infer_input_shape(sample, "in/x.json", InputFormat::kAuto, 100))
    described.push_back(column.name + " " + column.type);
  EXPECT_THAT(described,
              ElementsAre("id DOUBLE", "tags VARCHAR[]", "geo STRUCT(\"lat\" DOUBLE)", "x VARCHAR"));
  // A sample: only the first records count.
  described.clear();
  for (const auto& column : infer_input_shape(sample, "in/x.json", InputFormat::kAuto, 1, "_"))
    described.push_back(column.name + " " + column.type);
  EXPECT_THAT(described, ElementsAre("id BIGINT", "tags VARCHAR[]", "geo_lat DOUBLE"));
  // CSV through DuckDB's read_csv, as transform reads it.
  described.clear();
  for (const auto& column : infer_input_shape("a,b\n1,x\n", "in/x.csv", InputFormat::kAuto, 10))
    described.push_back(column.name + " " + column.type);
  EXPECT_THAT(described, ElementsAre("a BIGINT", "b VARCHAR"));
  EXPECT_TRUE(testing_util::fails_with<ProcessError>(
      [&] { infer_input_shape("[{\"a\":1,\"A\":2}]", "in/x.json", InputFormat::kAuto, 10); },
      "\"a\" and \"A\" both become column \"a\""));
}

}  // namespace
}  // namespace sluice::process
