#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <fstream>
#include <nlohmann/json.hpp>

#include "catalog/crawler.h"
#include "catalog/metastore_catalog.h"
#include "metastore/event_queue.h"
#include "metastore/metastore.h"
#include "query/engine.h"
#include "query/planner.h"
#include "sql/duckdb.h"
#include "storage/local_object_store.h"
#include "tests/common/temp_dir.h"

namespace sluice::query {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

// The parse tree DuckDB gives for `sql`, as the engine reads it.
nlohmann::json serialize(const std::string& sql) {
  sql::Database db;
  sql::Connection c(db);
  return nlohmann::json::parse(
      *c.query("SELECT json_serialize_sql(" + sql::quote_literal(sql) + ")").value(0, 0));
}

std::vector<TableReference> refs(const std::string& sql) { return analyze(serialize(sql), sql); }

TEST(QueryPlanner, ConditionsOnTheTableThatIsReadDirectly) {
  auto r = refs(
      "SELECT * FROM db.t AS x WHERE x.dt IN ('a', 'b') AND DT BETWEEN 'a' AND 'c' AND 'z' > dt AND id = 3 "
      "AND dt <> 'q'");
  ASSERT_EQ(r.size(), 1u);
  EXPECT_EQ(r[0].schema, "db");
  EXPECT_EQ(r[0].table, "t");
  const std::vector<std::string> keys = {"dt"};
  EXPECT_TRUE(partition_may_match(r[0].conditions, keys, {"a"}));
  EXPECT_TRUE(partition_may_match(r[0].conditions, keys, {"b"}));
  EXPECT_FALSE(partition_may_match(r[0].conditions, keys, {"c"}));  // not IN
  EXPECT_FALSE(partition_may_match(r[0].conditions, keys, {"q"}));

  // OR, joins and subqueries are not pruned; every reference is found.
  auto any = refs("SELECT * FROM t WHERE dt = 'a' OR dt = 'b'");
  EXPECT_TRUE(partition_may_match(any[0].conditions, keys, {"zzz"}));
  auto joined = refs("SELECT * FROM a JOIN b ON a.k = b.k WHERE a.dt = 'x'");
  ASSERT_EQ(joined.size(), 2u);
  EXPECT_TRUE(joined[0].conditions.empty());
  auto nested = refs("WITH c AS (SELECT * FROM s.t WHERE dt = 'x') SELECT * FROM c, (SELECT * FROM u) v");
  std::vector<std::string> tables;
  for (const auto& ref : nested) tables.push_back(ref.schema + "." + ref.table);
  EXPECT_THAT(tables, ::testing::UnorderedElementsAre("s.t", ".c", ".u"));
  // A number is not compared as text: no pruning on it.
  EXPECT_TRUE(partition_may_match(refs("SELECT * FROM t WHERE dt = 3")[0].conditions, keys, {"03"}));
}

TEST(QueryPlanner, OnlyOneSelectIsAllowed) {
  auto refused = [](const std::string& sql) {
    try {
      refs(sql);
    } catch (const QueryRefused& e) {
      return std::string(e.what());
    }
    return std::string("accepted");
  };
  EXPECT_THAT(refused("COPY (SELECT 1) TO '/tmp/x.csv'"), HasSubstr("only SELECT queries can run"));
  EXPECT_THAT(refused("ATTACH '/tmp/x.db'"), HasSubstr("got ATTACH"));
  EXPECT_THAT(refused("INSTALL httpfs"), HasSubstr("got INSTALL"));
  EXPECT_THAT(refused("LOAD httpfs"), HasSubstr("got LOAD"));
  EXPECT_THAT(refused("PRAGMA version"), HasSubstr("got PRAGMA"));
  EXPECT_THAT(refused("SET threads = 1"), HasSubstr("got SET"));
  EXPECT_THAT(refused("CREATE TABLE x AS SELECT 1"), HasSubstr("got CREATE"));
  EXPECT_THAT(refused("SELECT 1; DROP TABLE x"), HasSubstr("only SELECT"));
  EXPECT_THAT(refused("SELECT 1; SELECT 2"), HasSubstr("one statement per query"));
  EXPECT_THAT(refused("SELEC 1"), HasSubstr("Parser Error: syntax error at or near \"SELEC\""));
  EXPECT_EQ(refused("SELECT 1"), "accepted");
}

TEST(QueryCsv, AthenaFormat) {
  EXPECT_EQ(athena_csv({"id", "say \"hi\""}, {{"1", "a,b"}, {std::nullopt, ""}, {"2", "line\nbreak"}}),
            "\"id\",\"say \"\"hi\"\"\"\n\"1\",\"a,b\"\n,\"\"\n\"2\",\"line\nbreak\"\n");
  const std::string id = new_query_id();
  EXPECT_EQ(id.size(), 36u);
  EXPECT_EQ(id[14], '4');
  EXPECT_NE(id, new_query_id());
}

class QueryEngineTest : public ::testing::Test {
 protected:
  QueryEngineTest()
      : db_(dir_.path() / "metastore.db"),
        events_(db_),
        store_(dir_.path() / "objects", {"lake"}, &events_),
        catalog_(db_),
        log_(db_),
        engine_(
            QueryConfig{
                .database = "my_glue_database", .output_bucket = "lake", .output_prefix = "athena/results/"},
            catalog_, store_, log_) {}

  void crawl() {
    catalog::Crawler crawler(
        {.name = "c", .database = "my_glue_database", .targets = {{"lake", "processed/"}}}, store_, catalog_);
    auto report = crawler.crawl();
    ASSERT_TRUE(report.warnings.empty()) << report.warnings.front();
  }
  std::string failure(const std::string& sql) {
    try {
      engine_.run(sql);
    } catch (const QueryFailed& e) {
      return e.what();
    }
    return "succeeded";
  }

  testing_util::TempDir dir_;
  metastore::Metastore db_;
  metastore::EventQueue events_;
  storage::LocalObjectStore store_;
  catalog::MetastoreCatalog catalog_;
  QueryLog log_;
  QueryEngine engine_;
};

TEST_F(QueryEngineTest, TablesAreViewsWithCataloguedTypesAndLowerCasedNames) {
  store_.put("lake", "processed/users/a.json",
             "{\"id\": 2, \"company_catchPhrase\": \"b\", \"geo\": {\"Lat\": \"1\"}}\n"
             "{\"id\": 1, \"company_catchPhrase\": \"a\", \"geo\": {\"Lat\": \"2\"}}\n");
  crawl();
  auto r = engine_.run("SELECT * FROM my_glue_database.users ORDER BY id");
  EXPECT_THAT(r.columns, ElementsAre("id", "company_catchphrase", "geo"));
  EXPECT_THAT(r.types, ElementsAre("INTEGER", "VARCHAR", "STRUCT(Lat VARCHAR)"));
  ASSERT_EQ(r.rows.size(), 2u);
  EXPECT_EQ(*r.rows[0][1], "a");
  EXPECT_EQ(*engine_.run("SELECT geo.lat FROM users WHERE id = 2").rows[0][0], "1");  // bare name, default db
  EXPECT_EQ(r.bytes_scanned, store_.head("lake", "processed/users/a.json")->size);

  // Saved as Athena does, and in the history.
  EXPECT_EQ(r.output, "s3://lake/athena/results/" + r.query_id + ".csv");
  EXPECT_EQ(
      store_.get("lake", "athena/results/" + r.query_id + ".csv"),
      "\"id\",\"company_catchphrase\",\"geo\"\n\"1\",\"a\",\"{'Lat': 2}\"\n\"2\",\"b\",\"{'Lat': 1}\"\n");
  auto record = log_.get(r.query_id);
  ASSERT_TRUE(record);
  EXPECT_EQ(record->state, "SUCCEEDED");
  EXPECT_EQ(record->rows, 2u);
  EXPECT_EQ(record->output, r.output);
  EXPECT_EQ(record->sql, "SELECT * FROM my_glue_database.users ORDER BY id");
}

TEST_F(QueryEngineTest, PartitionFiltersPruneFiles) {
  for (const std::string day : {"2026-11-23", "2026-11-24", "2026-11-25"}) {
    std::string body;
    for (int i = 0; i < 10; ++i) body += "{\"n\": " + std::to_string(i) + ", \"day\": \"" + day + "\"}\n";
    store_.put("lake", "processed/events/dt=" + day + "/part.json", body);
  }
  crawl();
  const uint64_t one = store_.head("lake", "processed/events/dt=2026-11-24/part.json")->size;
  auto all = engine_.run("SELECT count(*) FROM events");
  EXPECT_EQ(*all.rows[0][0], "30");
  EXPECT_EQ(all.bytes_scanned, 3 * one);
  auto pruned = engine_.run("SELECT count(*), min(day), max(dt) FROM events WHERE dt = '2026-11-24'");
  EXPECT_EQ(*pruned.rows[0][0], "10");
  EXPECT_EQ(*pruned.rows[0][1], "2026-11-24");
  EXPECT_EQ(*pruned.rows[0][2], "2026-11-24");
  EXPECT_EQ(pruned.bytes_scanned, one);
  auto range = engine_.run("SELECT count(*) FROM events WHERE dt >= '2026-11-24' AND n < 5");
  EXPECT_EQ(*range.rows[0][0], "10");
  EXPECT_EQ(range.bytes_scanned, 2 * one);
  auto none = engine_.run("SELECT count(*) FROM events WHERE dt = '1999-01-01'");
  EXPECT_EQ(*none.rows[0][0], "0");
  EXPECT_EQ(none.bytes_scanned, 0u);
  // A condition pruning cannot use still gives the right answer, reading everything.
  auto expression = engine_.run("SELECT count(*) FROM events WHERE substr(dt, 9, 2) = '25'");
  EXPECT_EQ(*expression.rows[0][0], "10");
  EXPECT_EQ(expression.bytes_scanned, 3 * one);
}

TEST_F(QueryEngineTest, SchemaEvolutionBothVersionsQueryable) {
  store_.put("lake", "processed/users/v1.json", "{\"id\": 1, \"name\": \"a\"}\n");
  crawl();
  store_.put("lake", "processed/users/v2.json", "{\"id\": 2.5, \"name\": \"b\", \"email\": \"b@x\"}\n");
  crawl();
  EXPECT_EQ(catalog_.table("my_glue_database", "users")->version, 2);
  auto r = engine_.run("SELECT id, name, email FROM users ORDER BY id");
  EXPECT_THAT(r.types, ElementsAre("DOUBLE", "VARCHAR", "VARCHAR"));
  ASSERT_EQ(r.rows.size(), 2u);
  EXPECT_EQ(*r.rows[0][0], "1.0");
  EXPECT_FALSE(r.rows[0][2].has_value());  // the old file has no email
  EXPECT_EQ(*r.rows[1][2], "b@x");
}

TEST_F(QueryEngineTest, ParquetAndCsvTablesByName) {
  {
    const auto path = dir_.path() / "x.parquet";
    sql::Database db;
    sql::Connection c(db);
    c.execute("COPY (SELECT 1::INTEGER AS Id, 'p' AS Label) TO " + sql::quote_literal(path.string()) +
              " (FORMAT parquet)");
    std::ifstream in(path, std::ios::binary);
    store_.put("lake", "processed/pq/dt=1/a.parquet", std::string(std::istreambuf_iterator<char>(in), {}));
    c.execute("COPY (SELECT 2::BIGINT AS id, 'q' AS label, 3.5::DOUBLE AS extra) TO " +
              sql::quote_literal(path.string()) + " (FORMAT parquet)");
    std::ifstream in2(path, std::ios::binary);
    store_.put("lake", "processed/pq/dt=2/b.parquet", std::string(std::istreambuf_iterator<char>(in2), {}));
  }
  store_.put("lake", "processed/csv/a.csv", "k,v\n1,x\n2,y\n");
  crawl();
  auto r = engine_.run("SELECT id, label, extra, dt FROM pq ORDER BY id");
  EXPECT_THAT(r.types, ElementsAre("BIGINT", "VARCHAR", "DOUBLE", "VARCHAR"));
  ASSERT_EQ(r.rows.size(), 2u);
  EXPECT_FALSE(r.rows[0][2].has_value());
  EXPECT_EQ(*r.rows[1][3], "2");
  EXPECT_EQ(*engine_.run("SELECT sum(k) FROM csv").rows[0][0], "3");
}

TEST_F(QueryEngineTest, HostileSqlIsRefusedAndRecorded) {
  store_.put("lake", "processed/users/a.json", "{\"id\": 1}\n");
  crawl();
  EXPECT_THAT(failure("SELECT * FROM read_csv('/etc/passwd')"), HasSubstr("Permission Error"));
  EXPECT_THAT(failure("SELECT * FROM read_text('" + (dir_.path() / "metastore.db").string() + "')"),
              HasSubstr("Permission Error"));
  EXPECT_THAT(failure("COPY (SELECT 1) TO '" + (dir_.path() / "out.csv").string() + "'"),
              HasSubstr("got COPY"));
  EXPECT_FALSE(std::filesystem::exists(dir_.path() / "out.csv"));
  EXPECT_THAT(failure("ATTACH '" + (dir_.path() / "x.db").string() + "' AS x"), HasSubstr("got ATTACH"));
  EXPECT_THAT(failure("INSTALL httpfs"), HasSubstr("got INSTALL"));
  EXPECT_THAT(failure("LOAD httpfs"), HasSubstr("got LOAD"));
  EXPECT_THAT(failure("PRAGMA enable_profiling"), HasSubstr("got PRAGMA"));
  EXPECT_THAT(failure("SET enable_external_access = true"), HasSubstr("got SET"));
  EXPECT_THAT(failure("SELECT * FROM query('SET enable_external_access = true')"),
              ::testing::Not("succeeded"));
  EXPECT_THAT(failure("SELECT current_setting('lock_configuration')"), "succeeded");
  EXPECT_THAT(failure("SELEC 1"), HasSubstr("Parser Error"));
  EXPECT_THAT(failure("SELECT nope FROM users"),
              HasSubstr("Binder Error: Referenced column \"nope\" not found"));
  const std::string unknown = failure("SELECT * FROM no_such_table");
  EXPECT_THAT(unknown, HasSubstr("Table with name no_such_table does not exist"));
  EXPECT_EQ(unknown.find('\n'), std::string::npos);  // one line
  auto history = log_.list(20);
  ASSERT_GE(history.size(), 12u);
  EXPECT_EQ(history[0].state, "FAILED");
  EXPECT_THAT(history[0].error, HasSubstr("no_such_table"));
  EXPECT_EQ(history[2].state, "FAILED");
  EXPECT_THAT(history[2].error, HasSubstr("Parser Error"));
}

}  // namespace
}  // namespace sluice::query
