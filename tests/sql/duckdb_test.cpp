#include "sql/duckdb.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "common/fs.h"
#include "tests/common/temp_dir.h"

namespace sluice::sql {
namespace {

using ::testing::HasSubstr;

TEST(SqlDuckdb, QueryMaterialisesValuesAndNulls) {
  Database db;
  Connection c(db);
  auto r = c.query("SELECT 1 AS a, 'x''y' AS b, NULL::VARCHAR AS c UNION ALL SELECT 2, 'z', 'w' ORDER BY a");
  ASSERT_EQ(r.row_count(), 2u);
  ASSERT_EQ(r.columns().size(), 3u);
  EXPECT_EQ(r.columns()[0].name, "a");
  EXPECT_EQ(r.columns()[0].type, "INTEGER");
  EXPECT_EQ(r.value(0, 1), "x'y");
  EXPECT_FALSE(r.value(0, 2).has_value());
  EXPECT_EQ(r.value(1, 2), "w");
}

TEST(SqlDuckdb, ErrorsCarryDuckdbsMessage) {
  Database db;
  Connection c(db);
  try {
    c.query("SELECT nope FROM (SELECT 1 AS a)");
    FAIL();
  } catch (const Error& e) {
    EXPECT_THAT(std::string(e.what()), HasSubstr("nope"));
  }
}

TEST(SqlDuckdb, DescribeKeepsStructFieldOrder) {
  testing_util::TempDir dir;
  fs::write_file_atomic(
      dir.path() / "u.json",
      R"([{"id": 1, "address": {"street": "s", "geo": {"lat": "1", "lng": "2"}}, "tags": ["a"]}])");
  Database db;
  Connection c(db);
  auto columns =
      c.describe("SELECT * FROM read_json(" + quote_literal((dir.path() / "u.json").string()) + ")");
  ASSERT_EQ(columns.size(), 3u);
  EXPECT_EQ(columns[0].type, "BIGINT");
  ASSERT_TRUE(columns[1].is_struct);
  ASSERT_EQ(columns[1].fields.size(), 2u);
  EXPECT_EQ(columns[1].fields[0].name, "street");
  EXPECT_EQ(columns[1].fields[1].name, "geo");
  EXPECT_EQ(columns[1].fields[1].fields[1].name, "lng");
  EXPECT_EQ(columns[2].type, "VARCHAR[]");
}

TEST(SqlDuckdb, ConfinedDatabaseTouchesOnlyItsDirectories) {
  testing_util::TempDir inside;
  fs::write_file_atomic(inside.path() / "in.json", R"([{"a": 1}, {"a": 2}])");
  Database db({.allowed_directories = {inside.path().string()}});
  Connection c(db);
  EXPECT_EQ(
      c.query("SELECT count(*) FROM read_json(" + quote_literal((inside.path() / "in.json").string()) + ")")
          .value(0, 0),
      "2");
  c.execute("COPY (SELECT 1 AS a) TO " + quote_literal((inside.path() / "out.json").string()) +
            " (FORMAT json)");
  EXPECT_EQ(fs::read_file(inside.path() / "out.json"), "{\"a\":1}\n");
  for (const std::string hostile :
       {"SELECT * FROM read_csv('/etc/passwd')", "COPY (SELECT 1) TO '/tmp/sluice-escape.csv'",
        "SET enable_external_access = true", "INSTALL httpfs", "LOAD httpfs",
        "SELECT * FROM read_text('/proc/self/environ')"}) {
    SCOPED_TRACE(hostile);
    EXPECT_THROW(c.execute(hostile), Error);
  }
  EXPECT_FALSE(std::filesystem::exists("/tmp/sluice-escape.csv"));
}

TEST(SqlDuckdb, Quoting) {
  EXPECT_EQ(quote_identifier("a\"b"), "\"a\"\"b\"");
  EXPECT_EQ(quote_literal("it's"), "'it''s'");
}

}  // namespace
}  // namespace sluice::sql
