#include "dashboard/sql_template.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "sql/duckdb.h"
#include "tests/common/expect_error.h"

namespace sluice::dashboard {
namespace {

using testing_util::fails_with;

std::vector<ParameterConfig> parameters() {
  return {{.name = "user", .type = ParameterType::kText},
          {.name = "n", .type = ParameterType::kNumber, .default_value = "3"},
          {.name = "period", .type = ParameterType::kDateRange, .default_value = "all"}};
}

std::map<std::string, ParameterValue> values(const std::string& user, const std::string& n = "3") {
  auto v = defaults(parameters(), now_ms());
  v["user"].text = user;
  v["n"].text = n;
  return v;
}

// What DuckDB answers for the rendered SQL: the proof that the value stayed a value.
std::string run(const std::string& sql) {
  sql::Database db;
  sql::Connection c(db);
  auto r = c.query(sql);
  return r.value(0, 0).value_or("NULL");
}

TEST(SqlTemplate, AValueIsAlwaysALiteralNeverSql) {
  const std::string sql = "SELECT {{user}} AS u";
  for (const std::string hostile : {"x' OR '1'='1", "'; DROP TABLE t; --", "\\' ; SELECT 1 --", "Léa García"})
    EXPECT_EQ(run(render(sql, parameters(), values(hostile))), hostile) << hostile;
  // A number is parenthesised: `x -{{n}}` cannot turn into a comment.
  EXPECT_EQ(run(render("SELECT 10 -{{n}}", parameters(), values("", "-5"))), "15");
  EXPECT_EQ(render("SELECT {{n}}", parameters(), values("", "1e3")), "SELECT (1e3)");
}

TEST(SqlTemplate, ADateRangeGivesTimestampsAndOnlyItsTwoEnds) {
  auto v = values("");
  v["period"] = value_from_json(parameters()[2], nlohmann::json{{"start", "2026-11-01T00:00:00Z"},
                                                                {"end", "2026-11-24T12:30:00.500Z"}});
  EXPECT_EQ(render("WHERE t BETWEEN {{period.start}} AND {{ period.end }}", parameters(), v),
            "WHERE t BETWEEN TIMESTAMP '2026-11-01 00:00:00.000' AND TIMESTAMP '2026-11-24 12:30:00.500'");
  EXPECT_TRUE(fails_with([&] { render("{{period}}", parameters(), v); }, "is a date range"));
  EXPECT_TRUE(fails_with([&] { render("{{user.start}}", parameters(), v); }, "only a date range"));
  const auto week = default_value({.name = "p", .type = ParameterType::kDateRange, .default_value = "7d"},
                                  from_epoch_ms(8 * 86'400'000LL));
  EXPECT_EQ(to_epoch_ms(week.start), 86'400'000LL);
}

TEST(SqlTemplate, BadValuesAndPlaceholdersAreRefusedWithTheReason) {
  const auto& p = parameters();
  EXPECT_TRUE(fails_with([&] { value_from_json(p[1], "1; DROP TABLE t"); }, "expected a number"));
  EXPECT_TRUE(fails_with([&] { value_from_json(p[1], "nan"); }, "expected a number"));
  EXPECT_TRUE(fails_with([&] { value_from_json(p[0], 5); }, "expected a string"));
  EXPECT_TRUE(fails_with([&] { value_from_json(p[0], std::string(5000, 'a')); }, "over the limit of 4096"));
  EXPECT_TRUE(fails_with([&] { value_from_json(p[0], std::string("a\0b", 3)); }, "NUL"));
  EXPECT_TRUE(fails_with(
      [&] {
        value_from_json(p[2], nlohmann::json{{"start", "yesterday"}, {"end", "now"}});
      },
      "as 2026-11-24T12:00:00.000Z"));
  EXPECT_TRUE(fails_with(
      [&] {
        value_from_json(p[2],
                        nlohmann::json{{"start", "2026-11-02T00:00:00Z"}, {"end", "2026-11-01T00:00:00Z"}});
      },
      "the end is before the start"));
  EXPECT_TRUE(fails_with([&] { placeholders("SELECT {{user"); }, "has no closing"));
  EXPECT_TRUE(fails_with([&] { placeholders("SELECT {{1x}}"); }, "is not a parameter"));
  EXPECT_TRUE(fails_with([&] { placeholders("SELECT '{{user}}'"); }, "inside quotes"));
  // A placeholder in a comment is not one; "{{" in a quoted identifier is a name.
  EXPECT_TRUE(placeholders("SELECT 1 -- {{user}}\n").empty());
  EXPECT_TRUE(placeholders("SELECT 1 AS \"{{x}}\"").empty());
}

}  // namespace
}  // namespace sluice::dashboard
