// The query engine over every object store: the same queries, the same assertions, on the local store
// (DuckDB reads its files in place) and on the in-memory store (no local files: DuckDB reads cached
// copies and is confined to the cache directory).
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <fstream>

#include "catalog/crawler.h"
#include "catalog/metastore_catalog.h"
#include "metastore/event_queue.h"
#include "metastore/metastore.h"
#include "query/engine.h"
#include "sql/duckdb.h"
#include "tests/common/memory_object_store.h"
#include "tests/common/temp_dir.h"

namespace sluice::query {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

// Puts three days of ten events each under processed/events/dt=DAY/part.json.
void put_three_days(storage::ObjectStore& store) {
  for (const std::string day : {"2026-11-23", "2026-11-24", "2026-11-25"}) {
    std::string body;
    for (int i = 0; i < 10; ++i) body += "{\"n\": " + std::to_string(i) + ", \"day\": \"" + day + "\"}\n";
    store.put("lake", "processed/events/dt=" + day + "/part.json", body);
  }
}

template <typename Kind>
class QueryOnEveryStore : public ::testing::Test {
 protected:
  QueryOnEveryStore()
      : db_(dir_.path() / "metastore.db"),
        events_(db_),
        store_(Kind::make(dir_.path(), {"lake"}, &events_)),
        catalog_(db_),
        log_(db_),
        engine_(
            QueryConfig{
                .database = "my_glue_database", .output_bucket = "lake", .output_prefix = "athena/results/"},
            catalog_, *store_, log_) {}

  void crawl() {
    catalog::Crawler crawler(
        {.name = "c", .database = "my_glue_database", .targets = {{"lake", "processed/"}}}, *store_,
        catalog_);
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
  std::unique_ptr<storage::ObjectStore> store_;
  catalog::MetastoreCatalog catalog_;
  QueryLog log_;
  QueryEngine engine_;
};

using StoreKinds = ::testing::Types<testing_util::LocalStoreKind, testing_util::MemoryStoreKind>;
TYPED_TEST_SUITE(QueryOnEveryStore, StoreKinds, testing_util::StoreKindNames);

TYPED_TEST(QueryOnEveryStore, PartitionFiltersPruneFilesAndResultsAreAthenaCsv) {
  storage::ObjectStore& store = *this->store_;
  put_three_days(store);
  this->crawl();
  const uint64_t one = store.head("lake", "processed/events/dt=2026-11-24/part.json")->size;
  auto all = this->engine_.run("SELECT count(*) FROM events");
  EXPECT_EQ(*all.rows[0][0], "30");
  EXPECT_EQ(all.bytes_scanned, 3 * one);
  auto pruned =
      this->engine_.run("SELECT dt, n, day FROM events WHERE dt = '2026-11-24' AND n < 2 ORDER BY n");
  EXPECT_EQ(pruned.bytes_scanned, one);
  EXPECT_THAT(pruned.columns, ElementsAre("dt", "n", "day"));
  ASSERT_EQ(pruned.rows.size(), 2u);
  EXPECT_EQ(pruned.rows[1][1], "1");
  EXPECT_EQ(pruned.output, "s3://lake/athena/results/" + pruned.query_id + ".csv");
  EXPECT_EQ(store.get("lake", "athena/results/" + pruned.query_id + ".csv"),
            "\"dt\",\"n\",\"day\"\n"
            "\"2026-11-24\",\"0\",\"2026-11-24\"\n"
            "\"2026-11-24\",\"1\",\"2026-11-24\"\n");
  auto page = this->engine_.read_results(pruned.query_id, "", 1);
  ASSERT_EQ(page.rows.size(), 1u);
  EXPECT_EQ(page.rows[0][1], "0");
  EXPECT_EQ(this->engine_.read_results(pruned.query_id, page.next_token, 5).rows[0][1], "1");
  auto none = this->engine_.run("SELECT count(*) FROM events WHERE dt = '1999-01-01'");
  EXPECT_EQ(*none.rows[0][0], "0");
  EXPECT_EQ(none.bytes_scanned, 0u);
  EXPECT_EQ(this->log_.get(pruned.query_id)->state, "SUCCEEDED");
}

TYPED_TEST(QueryOnEveryStore, ParquetAndCsvTablesByName) {
  storage::ObjectStore& store = *this->store_;
  const auto scratch = this->dir_.path() / "x.parquet";
  {
    sql::Database db;
    sql::Connection c(db);
    c.execute("COPY (SELECT 2::BIGINT AS id, 'q' AS label) TO " + sql::quote_literal(scratch.string()) +
              " (FORMAT parquet)");
  }
  std::ifstream in(scratch, std::ios::binary);
  store.put("lake", "processed/pq/dt=1/a.parquet", std::string(std::istreambuf_iterator<char>(in), {}));
  store.put("lake", "processed/csv/a.csv", "k,v\n1,x\n2,y\n");
  this->crawl();
  auto r = this->engine_.run("SELECT id, label, dt FROM pq");
  EXPECT_THAT(r.types, ElementsAre("BIGINT", "VARCHAR", "VARCHAR"));
  ASSERT_EQ(r.rows.size(), 1u);
  EXPECT_EQ(r.rows[0][1], "q");
  EXPECT_EQ(r.rows[0][2], "1");
  EXPECT_EQ(*this->engine_.run("SELECT sum(k) FROM csv").rows[0][0], "3");
}

TYPED_TEST(QueryOnEveryStore, QueriesAreConfinedToTheDirectoryTheStoreReadsFrom) {
  storage::ObjectStore& store = *this->store_;
  store.put("lake", "processed/users/a.json", "{\"id\": 1}\n");
  this->crawl();
  const auto dirs = store.readable_directories();
  ASSERT_EQ(dirs.size(), 1u);
  auto r = this->engine_.run(
      "SELECT current_setting('allowed_directories'), current_setting('enable_external_access'), "
      "current_setting('lock_configuration')");
  EXPECT_EQ(r.rows[0][0], "[" + dirs[0].string() + "/]");
  EXPECT_EQ(r.rows[0][1], "false");
  EXPECT_EQ(r.rows[0][2], "true");
  EXPECT_THAT(this->failure("SELECT * FROM read_csv('/etc/passwd')"), HasSubstr("Permission Error"));
  EXPECT_THAT(
      this->failure("SELECT * FROM read_text('" + (this->dir_.path() / "metastore.db").string() + "')"),
      HasSubstr("Permission Error"));
  EXPECT_EQ(*this->engine_.run("SELECT count(*) FROM users").rows[0][0], "1");
}

// With a cache smaller than one query's files, the query still reads them all (copies in use are
// never evicted) and the cache shrinks back to its budget when the query ends.
TEST(QueryOnMemoryStore, ACacheSmallerThanTheQueryStillAnswersAndShrinksAfterwards) {
  testing_util::TempDir dir;
  metastore::Metastore db(dir.path() / "metastore.db");
  catalog::MetastoreCatalog catalog(db);
  QueryLog log(db);
  testing_util::MemoryObjectStore store({"lake"}, nullptr, dir.path() / "cache", /*cache_max_bytes=*/100);
  put_three_days(store);
  catalog::Crawler crawler({.name = "c", .database = "d", .targets = {{"lake", "processed/"}}}, store,
                           catalog);
  crawler.crawl();
  QueryEngine engine(QueryConfig{.database = "d"}, catalog, store, log);
  auto r = engine.run("SELECT count(*), count(DISTINCT dt) FROM events");
  EXPECT_EQ(r.rows[0][0], "30");
  EXPECT_EQ(r.rows[0][1], "3");
  EXPECT_LE(store.cache().stats().bytes, 100u);
  EXPECT_EQ(store.cache().stats().entries, 0u);  // each file is larger than the budget
  // A replaced object is read afresh by the next query, as from the local store.
  store.put("lake", "processed/events/dt=2026-11-23/part.json", "{\"n\": 99, \"day\": \"x\"}\n");
  EXPECT_EQ(engine.run("SELECT max(n) FROM events WHERE dt = '2026-11-23'").rows[0][0], "99");
}

}  // namespace
}  // namespace sluice::query
