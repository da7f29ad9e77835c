// The JSON reader and the JSON Lines writer through transform: no key loses its value, no value its
// type or digits, nested values keep their shape.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "tests/common/expect_error.h"
#include "tests/process/helpers.h"

namespace sluice::process {
namespace {

using ::testing::AllOf;
using ::testing::HasSubstr;
using ::testing::Not;
using namespace test_support;

class ProcessReader : public ::testing::Test {
 protected:
  TransformOutput run(const ProcessorConfig& c, std::string_view input, std::string_view key = "in/x.json") {
    return transform(c, input, key, dir_.path());
  }
  // The ProcessError's message for `input`; fails the test when there is none.
  std::string error_of(const ProcessorConfig& c, std::string_view input, std::string_view key = "in/x.json") {
    try {
      run(c, input, key);
    } catch (const ProcessError& e) {
      return e.what();
    }
    ADD_FAILURE() << "no ProcessError for " << input;
    return "";
  }
  testing_util::TempDir dir_;
};

TEST_F(ProcessReader, KeysThatDifferOnlyInCaseAreAnErrorNamingBothAndTheRecord) {
  const auto c = config_with({});
  EXPECT_THAT(error_of(c, "{\"id\":1,\"a\":1,\"A\":2}\n"),
              AllOf(HasSubstr("process p: s3://raw/in/x.json: line 1: "), HasSubstr("\"a\" and \"A\"")));
  // The same in a JSON array names the record; in a later record, that record.
  EXPECT_THAT(error_of(c, R"([{"id":1,"a":1},{"id":2,"A":2}])"),
              AllOf(HasSubstr("record 2: "), HasSubstr("\"a\" and \"A\"")));
  // JSON Lines count lines, blank ones included.
  EXPECT_THAT(error_of(c, "{\"a\":1}\n\n{\"A\":2}\n"), HasSubstr("line 3: "));
  // Inside a struct (no flatten) too: DuckDB struct field names ignore case as well.
  EXPECT_THAT(error_of(c, R"([{"s":{"x":1,"X":2}}])"), AllOf(HasSubstr("\"s.x\""), HasSubstr("\"s.X\"")));
}

TEST_F(ProcessReader, FlattenCollisionsAreErrorsNamingBothPaths) {
  const auto c = config_with({flatten()});
  EXPECT_THAT(error_of(c, R"([{"a":{"b":1},"a_b":2}])"),
              AllOf(HasSubstr("record 1: "), HasSubstr("\"a.b\" and \"a_b\" both become column \"a_b\"")));
  // Across records and letter case.
  EXPECT_THAT(error_of(c, "{\"a\":{\"B\":1}}\n{\"A_b\":2}\n"),
              AllOf(HasSubstr("line 2: "), HasSubstr("\"a.B\" and \"A_b\"")));
  // The SQL flatten (not the first step) follows the same rule.
  const auto later = config_with({filter("true"), flatten()});
  EXPECT_THAT(error_of(later, R"([{"s":{"a":1},"S_A":2}])"),
              AllOf(HasSubstr("\"s.a\""), HasSubstr("\"S_A\"")));
}

TEST_F(ProcessReader, EmptyControlAndRepeatedKeysAreErrors) {
  const auto c = config_with({});
  EXPECT_THAT(error_of(c, R"([{"id":1,"":1}])"), AllOf(HasSubstr("record 1: "), HasSubstr("empty key")));
  EXPECT_THAT(error_of(c, R"([{"id":1,"a\u0000b":1}])"),
              AllOf(HasSubstr("\"a\\u0000b\""), HasSubstr("control character")));
  EXPECT_THAT(error_of(c, R"([{"id":1,"tab\there":1}])"), HasSubstr("control character"));
  EXPECT_THAT(error_of(c, R"([{"id":1,"a":1,"a":2}])"), HasSubstr("\"a\" appears twice"));
  EXPECT_THAT(error_of(config_with({flatten()}), R"([{"o":{"":1}}])"), HasSubstr("empty key"));
}

TEST_F(ProcessReader, StringsStayStringsAndNumbersKeepTheirDigits) {
  const std::string input =
      R"([{"id":1,"d":"2024-01-01","big":9007199254740993,"max":18446744073709551615,"f":0.1,"e":-37.3159,)"
      R"("huge":123456789012345678901234567890,"t":true}])";
  const auto out = run(config_with({}), input);
  const auto lines = raw_lines_of(out.bytes);
  ASSERT_EQ(lines.size(), 1u);
  EXPECT_THAT(lines[0], HasSubstr("\"d\":\"2024-01-01\""));
  EXPECT_THAT(lines[0], HasSubstr("\"big\":9007199254740993,"));
  EXPECT_THAT(lines[0], HasSubstr("\"max\":18446744073709551615,"));
  EXPECT_THAT(lines[0],
              HasSubstr("\"huge\":\"123456789012345678901234567890\""));  // beyond 64 bits: its text
  EXPECT_THAT(lines[0], HasSubstr("\"t\":true"));
  const auto row = json::parse(lines[0]);
  EXPECT_EQ(row["f"].get<double>(), 0.1);
  EXPECT_EQ(row["e"].get<double>(), -37.3159);

  auto parquet = config_with({}, OutputFormat::kParquet);
  const auto back = query_parquet(run(parquet, input).bytes,
                                  "SELECT typeof(d), d, big::VARCHAR, max::VARCHAR, typeof(max), f = 0.1, "
                                  "e = -37.3159, huge FROM p");
  ASSERT_EQ(back.row_count(), 1u);
  EXPECT_EQ(back.value(0, 0), "VARCHAR");
  EXPECT_EQ(back.value(0, 1), "2024-01-01");
  EXPECT_EQ(back.value(0, 2), "9007199254740993");
  EXPECT_EQ(back.value(0, 3), "18446744073709551615");
  EXPECT_EQ(back.value(0, 4), "UBIGINT");
  EXPECT_EQ(back.value(0, 5), "true");
  EXPECT_EQ(back.value(0, 6), "true");
  EXPECT_EQ(back.value(0, 7), "123456789012345678901234567890");
}

TEST_F(ProcessReader, MixedTypesWidenWithoutChangingAValue) {
  // int + double -> DOUBLE; a number and a string -> the text as written; an integer a DOUBLE would
  // round, mixed with doubles -> its text.
  const std::string input =
      "{\"n\":1,\"s\":1.50,\"r\":9007199254740993}\n{\"n\":2.5,\"s\":\"x\",\"r\":0.5}\n{\"n\":null}\n";
  const auto rows = lines_of(run(config_with({}), input).bytes);
  ASSERT_EQ(rows.size(), 3u);
  EXPECT_EQ(rows[0]["n"], 1.0);
  EXPECT_TRUE(rows[0]["n"].is_number_float());
  EXPECT_EQ(rows[1]["n"], 2.5);
  EXPECT_TRUE(rows[2]["n"].is_null());
  EXPECT_EQ(rows[0]["s"], "1.50");
  EXPECT_EQ(rows[1]["s"], "x");
  EXPECT_EQ(rows[0]["r"], "9007199254740993");
  EXPECT_EQ(rows[1]["r"], "0.5");
  EXPECT_TRUE(rows[2]["s"].is_null());  // missing: null
}

TEST_F(ProcessReader, ListsAndStructsKeepTheirShapeInJsonLinesAndParquet) {
  const std::string input =
      R"([{"id":1,"tags":["a","b"],"geo":{"lat":1.5,"pos":{"x":1,"y":[1,2]}},"mixed":[1,"a",{"k":1}]},)"
      R"({"id":2,"tags":[],"geo":{"lat":2.5},"mixed":null}])";
  const auto rows = lines_of(run(config_with({}), input).bytes);
  ASSERT_EQ(rows.size(), 2u);
  EXPECT_EQ(rows[0]["tags"], json::parse(R"(["a","b"])"));
  EXPECT_EQ(rows[0]["geo"], json::parse(R"({"lat":1.5,"pos":{"x":1,"y":[1,2]}})"));
  EXPECT_EQ(rows[0]["mixed"], json::parse(R"(["1","a","{\"k\":1}"])"));  // elements widened to text
  EXPECT_EQ(rows[1]["tags"], json::array());
  EXPECT_EQ(rows[1]["geo"], json::parse(R"({"lat":2.5,"pos":null})"));

  // Flattening while reading flattens objects, not lists (objects inside lists stay structs).
  const auto flat = lines_of(run(config_with({flatten()}), input).bytes);
  ASSERT_EQ(flat.size(), 2u);
  EXPECT_EQ(flat[0]["geo_pos_y"], json::parse("[1,2]"));
  EXPECT_EQ(flat[0]["geo_pos_x"], 1);
  EXPECT_TRUE(flat[1]["geo_pos_x"].is_null());

  const auto back =
      query_parquet(run(config_with({}, OutputFormat::kParquet), input).bytes,
                    "SELECT typeof(tags), typeof(geo), tags[2], geo.pos.y[2] FROM p ORDER BY id");
  ASSERT_EQ(back.row_count(), 2u);
  EXPECT_EQ(back.value(0, 0), "VARCHAR[]");
  EXPECT_EQ(back.value(0, 1), "STRUCT(lat DOUBLE, pos STRUCT(x BIGINT, y BIGINT[]))");
  EXPECT_EQ(back.value(0, 2), "b");
  EXPECT_EQ(back.value(0, 3), "2");
}

TEST_F(ProcessReader, JsonLinesOutputEscapesLikeJson) {
  const json record = {
      {"s", "quote \" backslash \\ slash / newline \n tab \t bell \x07 del \x7f e\xcc\x81 \xf0\x9f\x98\x80"},
      {"n", -0.0},
      {"i", -9223372036854775807LL - 1},
      {"x", 1e300},
      {"z", nullptr}};
  const auto out = run(config_with({}), "[" + record.dump() + "]");
  const auto lines = raw_lines_of(out.bytes);
  ASSERT_EQ(lines.size(), 1u);
  EXPECT_THAT(lines[0], HasSubstr(R"(\u0007)"));
  EXPECT_THAT(lines[0], Not(HasSubstr(R"(\/)")));
  const auto row = json::parse(lines[0]);
  EXPECT_EQ(row["s"], record["s"]);
  EXPECT_EQ(row["i"], record["i"]);
  EXPECT_EQ(row["x"].get<double>(), 1e300);
  EXPECT_TRUE(row["z"].is_null());
  EXPECT_TRUE(std::signbit(row["n"].get<double>()));
}

TEST_F(ProcessReader, TypesTheWriterDoesNotRenderGoThroughDuckDbsCopy) {
  auto c = config_with({Step{.kind = Step::Kind::kCast, .mapping = {{"d", "DATE"}, {"m", "DECIMAL(10,2)"}}}});
  const auto rows = lines_of(run(c, R"([{"d":"2024-01-31","m":"12.50"}])").bytes);
  ASSERT_EQ(rows.size(), 1u);
  EXPECT_EQ(rows[0]["d"], "2024-01-31");
  EXPECT_EQ(rows[0]["m"], 12.5);
}

TEST_F(ProcessReader, EmptyInputsGiveNoRows) {
  EXPECT_EQ(run(config_with({filter("id < 5")}), "[]").records, 0u);
  const auto out = run(config_with({}), "\n\n");
  EXPECT_EQ(out.records, 0u);
  EXPECT_EQ(out.bytes, "");
  EXPECT_TRUE(testing_util::fails_with<ProcessError>(
      [&] { run(config_with({}), "[{}, {}]"); },
      "the records have no keys"));  // records without any key: no columns
}

}  // namespace
}  // namespace sluice::process
