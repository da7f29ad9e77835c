#include "sql/duckdb.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <chrono>
#include <thread>

#include "common/fs.h"
#include "tests/common/expect_error.h"
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
  // Each is refused for the confinement's own reason (reading, writing, the locked setting, loading).
  const std::vector<std::pair<std::string, std::string>> hostile = {
      {"SELECT * FROM read_csv('/etc/passwd')", "Permission Error: Cannot access file \"/etc/passwd\""},
      {"COPY (SELECT 1) TO '/tmp/sluice-escape.csv'",
       "Permission Error: Cannot access file \"/tmp/sluice-escape.csv\""},
      {"SET enable_external_access = true",
       "Cannot change configuration option \"enable_external_access\" - the configuration has been locked"},
      {"INSTALL httpfs", "Permission Error"},
      {"LOAD httpfs", "Permission Error: Loading external extensions is disabled"},
      {"SELECT * FROM read_text('/proc/self/environ')",
       "Permission Error: Cannot access file \"/proc/self/environ\""}};
  for (const auto& [statement, why] : hostile) {
    SCOPED_TRACE(statement);
    EXPECT_TRUE(testing_util::fails_with<Error>([&] { c.execute(statement); }, why));
  }
  EXPECT_FALSE(std::filesystem::exists("/tmp/sluice-escape.csv"));
}

// Every value of one row of `sql`, through query().
std::vector<std::optional<std::string>> first_row(Connection& c, const std::string& sql) {
  auto r = c.query(sql);
  if (r.row_count() == 0) return {};
  return r.rows()[0];
}

TEST(SqlDuckdb, NestedAndOtherValuesAreDuckdbsText) {
  Database db;
  Connection c(db);
  auto row = first_row(c,
                       "SELECT {'a': 1, 'b': 'x'} AS s, [1, 2, NULL] AS l, MAP {'k': 1} AS m, "
                       "[{'p': [1]}] AS deep, NULL::INTEGER[] AS none, 1.5::DOUBLE AS d, "
                       "DATE '2024-01-02' AS day, 12.30::DECIMAL(5, 2) AS dec, true AS yes, "
                       "(-7)::TINYINT AS tiny, 18446744073709551615::UBIGINT AS big");
  ASSERT_EQ(row.size(), 11u);
  EXPECT_EQ(row[0], "{'a': 1, 'b': x}");
  EXPECT_EQ(row[1], "[1, 2, NULL]");
  EXPECT_EQ(row[2], "{k=1}");
  EXPECT_EQ(row[3], "[{'p': [1]}]");
  EXPECT_FALSE(row[4].has_value());
  EXPECT_EQ(row[5], "1.5");
  EXPECT_EQ(row[6], "2024-01-02");
  EXPECT_EQ(row[7], "12.30");
  EXPECT_EQ(row[8], "true");
  EXPECT_EQ(row[9], "-7");
  EXPECT_EQ(row[10], "18446744073709551615");
  // The same text as DuckDB's own VARCHAR cast, column by column.
  auto cast = first_row(c,
                        "SELECT CAST({'a': 1, 'b': 'x'} AS VARCHAR), CAST([1, 2, NULL] AS VARCHAR), "
                        "CAST(MAP {'k': 1} AS VARCHAR)");
  EXPECT_EQ(cast[0], row[0]);
  EXPECT_EQ(cast[1], row[1]);
  EXPECT_EQ(cast[2], row[2]);
  // Column names and kinds are those of the statement, duplicates kept.
  auto r = c.query("SELECT 1 AS a, [2] AS a");
  ASSERT_EQ(r.columns().size(), 2u);
  EXPECT_EQ(r.columns()[1].name, "a");
  EXPECT_EQ(r.columns()[1].type, "LIST");
}

TEST(SqlDuckdb, CommentsAndSemicolonsAfterTheStatement) {
  Database db;
  Connection c(db);
  for (const std::string sql :
       {"SELECT 1 AS v -- c", "SELECT 1 AS v;\n", "SELECT 1 AS v; -- c\n",
        "-- a\nSELECT -- b\n 1 AS v -- c\n;", "/* a */ SELECT 1 AS v /* b */",
        "SELECT [1][1] AS v -- a list, so it runs through query()", "SELECT {'v': 1}.v AS v;\n-- end"}) {
    SCOPED_TRACE(sql);
    auto r = c.query(sql);
    ASSERT_EQ(r.row_count(), 1u);
    EXPECT_EQ(r.value(0, 0), "1");
    EXPECT_EQ(r.columns()[0].name, "v");
    EXPECT_EQ(c.describe(sql)[0].name, "v");
  }
  EXPECT_EQ(c.describe("SELECT [1] AS l -- c")[0].type, "INTEGER[]");
  EXPECT_EQ(c.query("SELECT [1, 2] AS l; -- c\n").value(0, 0), "[1, 2]");
  EXPECT_TRUE(testing_util::fails_with<Error>([&] { c.query("SELECT 1; SELECT 2"); },
                                              "Cannot prepare multiple statements"));
  EXPECT_TRUE(testing_util::fails_with<Error>([&] { c.query(std::string("SELECT 1 -- \0 hidden", 20)); },
                                              "holds a NUL byte at offset 12"));
}

TEST(SqlDuckdb, StreamHandsEveryRowInOrderChunkByChunk) {
  Database db;
  Connection c(db);
  size_t chunks = 0;
  int64_t expected = 0;
  bool in_order = true;
  auto columns =
      c.stream("SELECT range AS n, [range] AS l FROM range(5000) ORDER BY n", [&](const Chunk& chunk) {
        ++chunks;
        ASSERT_EQ(chunk.column_count(), 2u);
        for (size_t r = 0; r < chunk.row_count(); ++r, ++expected) {
          in_order = in_order && chunk.value(r, 0) == std::to_string(expected) &&
                     chunk.value(r, 1) == "[" + std::to_string(expected) + "]";
        }
      });
  EXPECT_EQ(expected, 5000);
  EXPECT_TRUE(in_order);
  EXPECT_GE(chunks, 3u);  // 2048 rows at most per chunk
  ASSERT_EQ(columns.size(), 2u);
  EXPECT_EQ(columns[0].name, "n");
}

TEST(SqlDuckdb, CallbackErrorStopsTheStatementAndTheConnectionStaysUsable) {
  Database db;
  Connection c(db);
  size_t calls = 0;
  EXPECT_TRUE(testing_util::fails_with<Error>(
      [&] {
        c.stream("SELECT * FROM range(1000000)", [&](const Chunk&) {
          if (++calls == 2) throw Error("enough");
        });
      },
      "enough"));
  EXPECT_EQ(calls, 2u);
  EXPECT_EQ(c.query("SELECT 40 + 2").value(0, 0), "42");
}

TEST(SqlDuckdb, InterruptFromAnotherThreadStopsALongStatement) {
  Database db({.threads = 1});
  Connection c(db);
  const auto started = std::chrono::steady_clock::now();
  std::thread interrupter([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(300));
    c.interrupt();
  });
  std::string error;
  try {
    c.query("SELECT count(*) FROM range(100000000000)");
  } catch (const Error& e) {
    error = e.what();
  }
  interrupter.join();
  EXPECT_THAT(error, HasSubstr("Interrupted"));
  EXPECT_LT(std::chrono::steady_clock::now() - started, std::chrono::seconds(10));
  EXPECT_EQ(c.query("SELECT 1").value(0, 0), "1");  // the next statement runs
}

TEST(SqlDuckdb, ConfinedDatabaseReadsBackItsLockedSettings) {
  testing_util::TempDir inside;
  Database db({.allowed_directories = {inside.path().string()}});
  Connection c(db);
  auto row =
      first_row(c,
                "SELECT current_setting('enable_external_access'), current_setting('lock_configuration'), "
                "current_setting('allowed_directories'), current_setting('autoload_known_extensions'), "
                "current_setting('autoinstall_known_extensions')");
  ASSERT_EQ(row.size(), 5u);
  EXPECT_EQ(row[0], "false");
  EXPECT_EQ(row[1], "true");
  EXPECT_EQ(row[2], "[" + inside.path().string() + "/]");  // and not DuckDB's default ".tmp/"
  EXPECT_EQ(row[3], "false");
  EXPECT_EQ(row[4], "false");
  EXPECT_TRUE(testing_util::fails_with<Error>(
      [&] { c.execute("SET lock_configuration = false"); },
      "Cannot change configuration option \"lock_configuration\" - the configuration has been locked"));
  EXPECT_TRUE(testing_util::fails_with<Error>(
      [&] { c.execute("RESET enable_external_access"); },
      "Cannot change configuration option \"enable_external_access\" - the configuration has been locked"));
  EXPECT_EQ(first_row(c, "SELECT current_setting('enable_external_access')")[0], "false");
}

TEST(SqlDuckdb, Quoting) {
  EXPECT_EQ(quote_identifier("a\"b"), "\"a\"\"b\"");
  EXPECT_EQ(quote_literal("it's"), "'it''s'");
}

}  // namespace
}  // namespace sluice::sql
