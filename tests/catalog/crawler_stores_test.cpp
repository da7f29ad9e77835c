// The crawler over every object store: the same crawl, the same assertions, on the local store (its
// own files) and on the in-memory store (no local files: DuckDB reads cached copies).
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <fstream>

#include "catalog/crawler.h"
#include "catalog/metastore_catalog.h"
#include "catalog/schema.h"
#include "common/compress.h"
#include "metastore/event_queue.h"
#include "metastore/metastore.h"
#include "sql/duckdb.h"
#include "tests/catalog/column_names.h"
#include "tests/common/memory_object_store.h"
#include "tests/common/temp_dir.h"

namespace sluice::catalog {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

// The bytes of a Parquet file holding what `select` gives, written by DuckDB outside any store.
std::string parquet_bytes(const std::filesystem::path& scratch, const std::string& select) {
  const auto path = scratch / "scratch.parquet";
  sql::Database db;
  sql::Connection c(db);
  c.execute("COPY (" + select + ") TO " + sql::quote_literal(path.string()) + " (FORMAT parquet)");
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

template <typename Kind>
class CrawlerOnEveryStore : public ::testing::Test {
 protected:
  CrawlerOnEveryStore()
      : db_(dir_.path() / "metastore.db"),
        events_(db_),
        store_(Kind::make(dir_.path(), {"lake"}, &events_)),
        catalog_(db_) {}

  CrawlerConfig config() {
    return CrawlerConfig{.name = "c", .database = "my_glue_database", .targets = {{"lake", "processed/"}}};
  }

  testing_util::TempDir dir_;
  metastore::Metastore db_;
  metastore::EventQueue events_;
  std::unique_ptr<storage::ObjectStore> store_;
  MetastoreCatalog catalog_;
};

using StoreKinds = ::testing::Types<testing_util::LocalStoreKind, testing_util::MemoryStoreKind>;
TYPED_TEST_SUITE(CrawlerOnEveryStore, StoreKinds, testing_util::StoreKindNames);

TYPED_TEST(CrawlerOnEveryStore, CrawlsJsonCsvAndParquetIntoTables) {
  storage::ObjectStore& store = *this->store_;
  store.put("lake", "processed/users/a.json", "{\"id\": 1, \"company_catchPhrase\": \"x\"}\n");
  store.put("lake", "processed/arrays/b.json", "[{\"id\": 7, \"name\": {\"first\": \"A\"}}]");
  store.put("lake", "processed/gz/c.json.gz", compress::gzip("{\"n\": 1.5}\n"));
  store.put("lake", "processed/csv/d.csv", "k,v\n1,a\n2,b\n");
  store.put("lake", "processed/csvgz/d.csv.gz", compress::gzip("k,v,w\n1,a,2.5\n"));
  store.put("lake", "processed/pq/e.parquet",
            parquet_bytes(this->dir_.path(), "SELECT 1::BIGINT AS Id, 'x' AS Label"));
  // Parquet known by its magic bytes, without the extension.
  store.put("lake", "processed/magic/f.bin", parquet_bytes(this->dir_.path(), "SELECT 2.5::DOUBLE AS ratio"));
  store.put("lake", "processed/users/_SUCCESS", "");

  Crawler crawler(this->config(), store, this->catalog_);
  auto report = crawler.crawl();
  EXPECT_TRUE(report.warnings.empty()) << report.warnings.front();
  EXPECT_EQ(report.files_scanned, 7u);
  EXPECT_THAT(report.tables_created,
              ElementsAre("my_glue_database.arrays", "my_glue_database.csv", "my_glue_database.csvgz",
                          "my_glue_database.gz", "my_glue_database.magic", "my_glue_database.pq",
                          "my_glue_database.users"));
  const auto table = [&](const std::string& name) { return *this->catalog_.table("my_glue_database", name); };
  EXPECT_EQ(table("users").format, FileFormat::kJsonLines);
  EXPECT_THAT(names(table("users").columns), ElementsAre("id", "company_catchphrase"));
  EXPECT_EQ(table("arrays").format, FileFormat::kJsonArray);
  EXPECT_THAT(types(table("arrays").columns), ElementsAre("int", "struct<first:string>"));
  EXPECT_THAT(types(table("gz").columns), ElementsAre("double"));
  EXPECT_EQ(table("csv").format, FileFormat::kCsv);
  EXPECT_THAT(names(table("csv").columns), ElementsAre("k", "v"));
  EXPECT_EQ(table("csvgz").format, FileFormat::kCsv);
  EXPECT_THAT(types(table("csvgz").columns), ElementsAre("bigint", "string", "double"));
  EXPECT_EQ(table("pq").format, FileFormat::kParquet);
  EXPECT_THAT(names(table("pq").columns), ElementsAre("id", "label"));
  EXPECT_THAT(types(table("pq").columns), ElementsAre("bigint", "string"));
  EXPECT_EQ(table("magic").format, FileFormat::kParquet);
  EXPECT_THAT(types(table("magic").columns), ElementsAre("double"));

  auto again = crawler.crawl();
  EXPECT_EQ(again.files_scanned, 0u);
  EXPECT_EQ(again.files_unchanged, 7u);
}

TYPED_TEST(CrawlerOnEveryStore, PartitionsAndIncrementalCrawlsOfNewAndRemovedObjects) {
  storage::ObjectStore& store = *this->store_;
  store.put("lake", "processed/events/dt=2026-11-24/a.csv", "x\n1\n");
  store.put("lake", "processed/events/dt=2026-11-25/b.csv", "x\n2\n");
  Crawler crawler(this->config(), store, this->catalog_);
  EXPECT_EQ(crawler.crawl().partitions_added, 2u);
  EXPECT_THAT(this->catalog_.table("my_glue_database", "events")->partition_keys, ElementsAre("dt"));

  store.put("lake", "processed/events/dt=2026-11-26/c.csv", "x,y\n3,extra\n");
  auto added = crawler.crawl_objects({{"lake", "processed/events/dt=2026-11-26/c.csv"}});
  EXPECT_EQ(added.files_scanned, 1u);
  EXPECT_EQ(added.partitions_added, 1u);
  EXPECT_THAT(added.tables_updated, ElementsAre("my_glue_database.events"));
  EXPECT_THAT(names(this->catalog_.table("my_glue_database", "events")->columns), ElementsAre("x", "y"));

  store.remove("lake", "processed/events/dt=2026-11-24/a.csv");
  auto removed = crawler.crawl_objects({{"lake", "processed/events/dt=2026-11-24/a.csv"}});
  EXPECT_EQ(removed.files_removed, 1u);
  auto parts = this->catalog_.partitions("my_glue_database", "events");
  ASSERT_EQ(parts.size(), 2u);
  EXPECT_THAT(parts[0].values, ElementsAre("2026-11-25"));

  // A file DuckDB cannot read is a warning naming the object; the crawl goes on.
  store.put("lake", "processed/events/dt=2026-11-27/bad.parquet", "PAR1 but not Parquet at all");
  auto bad = crawler.crawl();
  ASSERT_EQ(bad.warnings.size(), 1u);
  EXPECT_THAT(bad.warnings[0], HasSubstr("s3://lake/processed/events/dt=2026-11-27/bad.parquet left out"));
}

// A store without local files: the crawler read its Parquet and CSV through cached copies, fetched
// once each, and a replaced object is read again.
TEST(CrawlerOnMemoryStore, ParquetAndCsvAreReadThroughTheCacheAndRereadWhenReplaced) {
  testing_util::TempDir dir;
  metastore::Metastore db(dir.path() / "metastore.db");
  MetastoreCatalog catalog(db);
  testing_util::MemoryObjectStore store({"lake"}, nullptr, dir.path() / "cache");
  store.put("lake", "processed/pq/e.parquet", parquet_bytes(dir.path(), "SELECT 1 AS a"));
  store.put("lake", "processed/csv/d.csv", "k\n1\n");
  Crawler crawler({.name = "c", .database = "d", .targets = {{"lake", "processed/"}}}, store, catalog);
  crawler.crawl();
  EXPECT_EQ(store.cache().stats().fetches, 2u);
  store.put("lake", "processed/pq/e.parquet", parquet_bytes(dir.path(), "SELECT 1 AS a, 'b' AS b"));
  auto report = crawler.crawl();
  EXPECT_EQ(report.files_scanned, 1u);
  EXPECT_EQ(store.cache().stats().fetches, 3u);
  EXPECT_THAT(names(catalog.table("d", "pq")->columns), ElementsAre("a", "b"));
}

}  // namespace
}  // namespace sluice::catalog
