#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <fstream>
#include <nlohmann/json.hpp>

#include "catalog/crawler.h"
#include "catalog/metastore_catalog.h"
#include "catalog/schema.h"
#include "common/compress.h"
#include "common/error.h"
#include "metastore/event_queue.h"
#include "metastore/metastore.h"
#include "sql/duckdb.h"
#include "storage/local_object_store.h"
#include "tests/catalog/column_names.h"
#include "tests/common/expect_error.h"
#include "tests/common/temp_dir.h"

namespace sluice::catalog {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

TEST(CatalogSchema, InfersGlueTypesFromJsonInSourceOrder) {
  const auto columns = infer_json(
      R"([{"id": 1, "Big": 5000000000, "ratio": 0.5, "name": "a", "ok": true, "nothing": null,
           "geo": {"lat": "1.5", "Lng": 2}, "tags": ["x", "y"]},
          {"id": 2, "extra": 1}])",
      false);
  EXPECT_THAT(names(columns),
              ElementsAre("id", "big", "ratio", "name", "ok", "nothing", "geo", "tags", "extra"));
  EXPECT_THAT(types(columns), ElementsAre("int", "bigint", "double", "string", "boolean", "string",
                                          "struct<lat:string,lng:int>", "array<string>", "int"));
  EXPECT_EQ(columns[1].source, "Big");  // the key as in the data, for reading it back
  EXPECT_EQ(duckdb_type(columns[6].type), "STRUCT(\"lat\" VARCHAR, \"Lng\" INTEGER)");
  EXPECT_EQ(duckdb_type(columns[7].type), "VARCHAR[]");
}

TEST(CatalogSchema, JsonLinesAndErrors) {
  auto columns = infer_json("{\"a\": 1}\n{\"a\": 2.5, \"b\": \"x\"}\n", true);
  EXPECT_THAT(types(columns), ElementsAre("double", "string"));
  EXPECT_TRUE(testing_util::fails_with<Error>([&] { infer_json("{\"a\": 1}\n{\"a\": ", true); },
                                              "an incomplete record"));
  try {
    infer_json("[1, 2]", false);
    FAIL();
  } catch (const Error& e) {
    EXPECT_THAT(std::string(e.what()), HasSubstr("record 0 is not a JSON object"));
  }
}

TEST(CatalogSchema, WideningLadderAndConflicts) {
  using K = Type::Kind;
  bool conflict = false;
  EXPECT_EQ(glue_type(widen(Type::of(K::kInt), Type::of(K::kBigint), &conflict)), "bigint");
  EXPECT_EQ(glue_type(widen(Type::of(K::kBigint), Type::of(K::kDouble), &conflict)), "double");
  EXPECT_EQ(glue_type(widen(Type::of(K::kDouble), Type::of(K::kString), &conflict)), "string");
  EXPECT_EQ(glue_type(widen(Type::of(K::kBoolean), Type::of(K::kInt), &conflict)), "string");
  EXPECT_EQ(glue_type(widen(Type::of(K::kNull), Type::of(K::kInt), &conflict)), "int");
  EXPECT_FALSE(conflict);
  Type object = Type::of(K::kStruct);
  object.fields.push_back({"a", "a", Type::of(K::kInt)});
  EXPECT_EQ(glue_type(widen(object, Type::of(K::kInt), &conflict)), "string");
  EXPECT_TRUE(conflict);

  std::vector<Column> v1 = {{"id", "id", Type::of(K::kInt)}, {"name", "name", Type::of(K::kString)}};
  std::vector<Column> v2 = {{"id", "id", Type::of(K::kDouble)}, {"email", "email", Type::of(K::kString)}};
  auto merged = merge(v1, v2, "f2");
  EXPECT_THAT(names(merged.columns), ElementsAre("id", "name", "email"));
  EXPECT_THAT(merged.changes, ElementsAre("widened column id: int -> double", "added column email (string)"));
  EXPECT_TRUE(merged.conflicts.empty());
  auto clash = merge(v1, {{"id", "id", object}}, "s3://b/k");
  EXPECT_THAT(clash.conflicts,
              ElementsAre(HasSubstr("column id is int in the table but struct<a:int> in s3://b/k")));
}

TEST(CatalogSchema, DuckdbTypeNamesRoundTrip) {
  EXPECT_EQ(glue_type(from_duckdb_type("BIGINT")), "bigint");
  EXPECT_EQ(glue_type(from_duckdb_type("VARCHAR[]")), "array<string>");
  EXPECT_EQ(glue_type(from_duckdb_type("STRUCT(lat VARCHAR, \"Lng Lat\" DOUBLE)[]")),
            "array<struct<lat:string,lng lat:double>>");
  EXPECT_EQ(glue_type(from_duckdb_type("DECIMAL(18,3)")), "decimal(18,3)");
  EXPECT_EQ(glue_type(from_duckdb_type("TIMESTAMP WITH TIME ZONE")), "timestamp");
  EXPECT_EQ(glue_type(from_duckdb_type("MAP(VARCHAR, INTEGER)")), "string");
  auto nested = from_duckdb_type("STRUCT(a STRUCT(b INTEGER[]), c DATE)");
  EXPECT_EQ(to_json({{"x", "x", nested}}).dump(),
            to_json(columns_from_json(to_json({{"x", "x", nested}}))).dump());
}

TEST(CatalogNames, GlueTableNames) {
  EXPECT_EQ(glue_table_name("Random-Users.v2"), "random_users_v2");
  EXPECT_EQ(glue_table_name("users"), "users");
}

class CatalogCrawler : public ::testing::Test {
 protected:
  CatalogCrawler()
      : db_(dir_.path() / "metastore.db"),
        events_(db_),
        store_(dir_.path() / "objects", {"lake"}, &events_),
        catalog_(db_) {}

  CrawlerConfig config(std::vector<CrawlerTarget> targets = {{"lake", "processed/"}}) {
    return CrawlerConfig{.name = "c", .database = "my_glue_database", .targets = std::move(targets)};
  }
  void parquet(const std::string& key, const std::string& select) {
    const auto path = dir_.path() / "scratch.parquet";
    sql::Database db;
    sql::Connection c(db);
    c.execute("COPY (" + select + ") TO " + sql::quote_literal(path.string()) + " (FORMAT parquet)");
    store_.put("lake", key, fs_read(path));
  }
  static std::string fs_read(const std::filesystem::path& p) {
    std::ifstream in(p, std::ios::binary);
    return std::string(std::istreambuf_iterator<char>(in), {});
  }

  testing_util::TempDir dir_;
  metastore::Metastore db_;
  metastore::EventQueue events_;
  storage::LocalObjectStore store_;
  MetastoreCatalog catalog_;
};

TEST_F(CatalogCrawler, OneTablePerFolderWithFormatsAndLowerCasedColumns) {
  store_.put("lake", "processed/users/a.json", "{\"id\": 1, \"company_catchPhrase\": \"x\"}\n");
  store_.put("lake", "processed/Random-Users/b.json", "[{\"id\": 7, \"name\": {\"first\": \"A\"}}]");
  store_.put("lake", "processed/gz/c.json.gz", compress::gzip("{\"n\": 1.5}\n"));
  store_.put("lake", "processed/csv/d.csv", "k,v\n1,a\n2,b\n");
  parquet("processed/pq/e.parquet", "SELECT 1::BIGINT AS Id, 'x' AS Label");
  store_.put("lake", "processed/users/_SUCCESS", "");
  store_.put("lake", "processed/users/.hidden.json", "not json");
  store_.put("lake", "raw/users/ignored.json", "{\"id\": 1}\n");

  Crawler crawler(config(), store_, catalog_);
  auto report = crawler.crawl();
  EXPECT_TRUE(report.warnings.empty()) << report.warnings.front();
  EXPECT_EQ(report.files_scanned, 5u);
  EXPECT_THAT(report.tables_created,
              ElementsAre("my_glue_database.csv", "my_glue_database.gz", "my_glue_database.pq",
                          "my_glue_database.random_users", "my_glue_database.users"));
  EXPECT_THAT(catalog_.databases(), ElementsAre("my_glue_database"));

  auto users = catalog_.table("my_glue_database", "users");
  ASSERT_TRUE(users);
  EXPECT_EQ(users->location(), "s3://lake/processed/users/");
  EXPECT_THAT(names(users->columns), ElementsAre("id", "company_catchphrase"));
  EXPECT_EQ(users->columns[1].source, "company_catchPhrase");
  EXPECT_EQ(users->format, FileFormat::kJsonLines);
  EXPECT_EQ(catalog_.files("my_glue_database", "users").size(), 1u);  // _SUCCESS and .hidden skipped

  EXPECT_EQ(catalog_.table("my_glue_database", "random_users")->format, FileFormat::kJsonArray);
  EXPECT_THAT(types(catalog_.table("my_glue_database", "random_users")->columns),
              ElementsAre("int", "struct<first:string>"));
  auto gz = catalog_.files("my_glue_database", "gz");
  ASSERT_EQ(gz.size(), 1u);
  EXPECT_TRUE(gz[0].gzip);
  EXPECT_THAT(types(catalog_.table("my_glue_database", "gz")->columns), ElementsAre("double"));
  EXPECT_EQ(catalog_.table("my_glue_database", "csv")->format, FileFormat::kCsv);
  EXPECT_THAT(names(catalog_.table("my_glue_database", "csv")->columns), ElementsAre("k", "v"));
  auto pq = catalog_.table("my_glue_database", "pq");
  EXPECT_EQ(pq->format, FileFormat::kParquet);
  EXPECT_THAT(names(pq->columns), ElementsAre("id", "label"));
  EXPECT_THAT(types(pq->columns), ElementsAre("bigint", "string"));

  // A second crawl reads nothing that did not change and records no new version.
  auto again = crawler.crawl();
  EXPECT_EQ(again.files_scanned, 0u);
  EXPECT_EQ(again.files_unchanged, 5u);
  EXPECT_EQ(catalog_.table("my_glue_database", "users")->version, 1);
}

TEST_F(CatalogCrawler, HivePartitionsAndPlainFolders) {
  store_.put("lake", "processed/events/dt=2026-11-24/a.json", "{\"x\": 1}\n");
  store_.put("lake", "processed/events/dt=2026-11-25/b.json", "{\"x\": 2}\n");
  store_.put("lake", "processed/events/dt=2026-11-25/c.json", "{\"x\": 3}\n");
  store_.put("lake", "processed/firehose/2026/11/a.json", "{\"y\": 1}\n");
  store_.put("lake", "processed/events/bad/d.json", "{\"x\": 4}\n");  // not a dt= folder
  Crawler crawler(config(), store_, catalog_);
  auto report = crawler.crawl();
  EXPECT_EQ(report.partitions_added, 3u);
  ASSERT_EQ(report.warnings.size(), 1u);
  EXPECT_THAT(report.warnings[0],
              HasSubstr("processed/events/bad/d.json left out of my_glue_database.events"));
  EXPECT_THAT(catalog_.table("my_glue_database", "events")->partition_keys, ElementsAre("dt"));
  auto parts = catalog_.partitions("my_glue_database", "events");
  ASSERT_EQ(parts.size(), 2u);
  EXPECT_THAT(parts[0].values, ElementsAre("2026-11-24"));
  EXPECT_EQ(parts[1].files, 2u);
  EXPECT_EQ(parts[1].location, "s3://lake/processed/events/dt=2026-11-25/");
  EXPECT_THAT(catalog_.table("my_glue_database", "firehose")->partition_keys,
              ElementsAre("partition_0", "partition_1"));
}

TEST_F(CatalogCrawler, SchemaEvolutionIsVersionedAndConflictsAreReported) {
  store_.put("lake", "processed/users/v1.json", "{\"id\": 1, \"name\": \"a\"}\n");
  Crawler crawler(config(), store_, catalog_);
  crawler.crawl();
  store_.put("lake", "processed/users/v2.json", "{\"id\": 2.5, \"name\": \"b\", \"email\": \"e\"}\n");
  auto report = crawler.crawl_objects({{"lake", "processed/users/v2.json"}});
  EXPECT_EQ(report.files_scanned, 1u);
  EXPECT_THAT(report.tables_updated, ElementsAre("my_glue_database.users"));
  auto table = catalog_.table("my_glue_database", "users");
  EXPECT_EQ(table->version, 2);
  EXPECT_THAT(types(table->columns), ElementsAre("double", "string", "string"));
  auto versions = catalog_.versions("my_glue_database", "users");
  ASSERT_EQ(versions.size(), 2u);
  EXPECT_THAT(types(versions[0].columns), ElementsAre("int", "string"));
  EXPECT_THAT(versions[1].changes,
              ElementsAre("widened column id: int -> double", "added column email (string)"));

  // A column that cannot be widened is reported; the crawl goes on.
  store_.put("lake", "processed/users/v3.json", "{\"id\": {\"nested\": true}}\n");
  store_.put("lake", "processed/users/v4.json", "this is not json");
  auto bad = crawler.crawl();
  ASSERT_EQ(bad.warnings.size(), 2u);
  EXPECT_THAT(bad.warnings[0], HasSubstr("processed/users/v4.json left out"));
  EXPECT_THAT(bad.warnings[1], HasSubstr("column id is double in the table but struct<nested:boolean>"));
  EXPECT_EQ(catalog_.files("my_glue_database", "users").size(), 3u);

  // Deleted objects leave the catalog on the next crawl.
  store_.remove("lake", "processed/users/v3.json");
  auto removed = crawler.crawl_objects({{"lake", "processed/users/v3.json"}});
  EXPECT_EQ(removed.files_removed, 1u);
  EXPECT_EQ(catalog_.files("my_glue_database", "users").size(), 2u);
}

}  // namespace
}  // namespace sluice::catalog
