// The Glue Data Catalog wire API through Router::serve: a catalog crawled from a local object store,
// and crawlers whose runs the test controls.
#include "aws/glue/glue.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <fstream>
#include <map>
#include <nlohmann/json.hpp>

#include "catalog/crawler.h"
#include "catalog/metastore_catalog.h"
#include "common/error.h"
#include "metastore/metastore.h"
#include "server/error_shapes.h"
#include "server/router.h"
#include "sql/duckdb.h"
#include "storage/local_object_store.h"
#include "tests/common/temp_dir.h"

namespace sluice::aws {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

struct Reply {
  int status = 0;
  nlohmann::json body;
};

class GlueApi : public ::testing::Test {
 protected:
  GlueApi()
      : db_(dir_.path() / "metastore.db"), store_(dir_.path() / "objects", {"lake"}, nullptr), catalog_(db_) {
    store_.put("lake", "processed/users/a.json", "{\"id\": 1, \"Name\": \"Ann\", \"geo\": {\"lat\": 1.5}}\n");
    store_.put("lake", "processed/events/dt=2026-11-24/a.json", "{\"n\": 1}\n");
    store_.put("lake", "processed/events/dt=2026-11-25/b.json", "{\"n\": 2}\n");
    store_.put("lake", "processed/events/dt=2026-11-26/c.json", "{\"n\": 3}\n");
    store_.put("lake", "processed/sheet/a.csv", "x,y\n1,two\n");
    parquet("processed/pq/a.parquet", "SELECT 1::BIGINT AS id, 'x' AS label");
    config_ = {.name = "processed", .database = "my_db", .targets = {{"lake", "processed/"}}};
    catalog::Crawler(config_, store_, catalog_).crawl();

    GlueBackend backend{.catalog = &catalog_, .crawlers = {{config_, "cron(00 10 * * ? *)"}}};
    backend.crawlers.push_back({{.name = "idle", .database = "my_db", .targets = {{"lake", "other/"}}}, ""});
    backend.start_crawl = [this](const std::string& name) {
      if (running_.count(name)) return false;
      running_[name] = from_epoch_ms(1000);
      return true;
    };
    backend.crawl_started = [this](const std::string& name) -> std::optional<TimePoint> {
      const auto it = running_.find(name);
      return it == running_.end() ? std::nullopt : std::optional<TimePoint>(it->second);
    };
    backend.crawls = [this](const std::string& name, int) {
      return name == "processed" ? history_ : std::vector<CrawlRecord>{};
    };
    add_glue_routes(router_.group({.name = "glue", .errors = server::aws_json_errors()}), std::move(backend));
  }

  void parquet(const std::string& key, const std::string& select) {
    const auto path = dir_.path() / "scratch.parquet";
    {
      sql::Database db;
      sql::Connection c(db);
      c.execute("COPY (" + select + ") TO " + sql::quote_literal(path.string()) + " (FORMAT parquet)");
    }
    std::ifstream in(path, std::ios::binary);
    store_.put("lake", key, std::string(std::istreambuf_iterator<char>(in), {}));
  }

  Reply call(const std::string& operation, const nlohmann::json& body) {
    server::HttpRequest r;
    r.method = "POST";
    r.target = r.path = r.raw_path = "/";
    r.headers["X-Amz-Target"] = "AWSGlue." + operation;
    r.body = body.dump();
    const auto response = router_.serve(r);
    return {response.status, nlohmann::json::parse(response.body)};
  }

  testing_util::TempDir dir_;
  metastore::Metastore db_;
  storage::LocalObjectStore store_;
  catalog::MetastoreCatalog catalog_;
  catalog::CrawlerConfig config_;
  std::map<std::string, TimePoint> running_;
  std::vector<CrawlRecord> history_;
  server::Router router_;
};

std::vector<std::string> names(const nlohmann::json& list) {
  std::vector<std::string> out;
  for (const auto& item : list) out.push_back(item["Name"]);
  return out;
}

TEST_F(GlueApi, TablesAsAGlueCrawlerDescribesThemPerFormat) {
  const auto reply = call("GetTables", {{"DatabaseName", "my_db"}});
  ASSERT_EQ(reply.status, 200) << reply.body.dump();
  EXPECT_THAT(names(reply.body["TableList"]), ElementsAre("events", "pq", "sheet", "users"));

  const auto users = call("GetTable", {{"DatabaseName", "my_db"}, {"Name", "users"}}).body["Table"];
  const auto& sd = users["StorageDescriptor"];
  EXPECT_EQ(sd["Location"], "s3://lake/processed/users/");
  EXPECT_EQ(sd["InputFormat"], "org.apache.hadoop.mapred.TextInputFormat");
  EXPECT_EQ(sd["OutputFormat"], "org.apache.hadoop.hive.ql.io.HiveIgnoreKeyTextOutputFormat");
  EXPECT_EQ(sd["SerdeInfo"]["SerializationLibrary"], "org.openx.data.jsonserde.JsonSerDe");
  EXPECT_EQ(sd["SerdeInfo"]["Parameters"]["paths"], "geo,id,name");
  EXPECT_EQ(sd["Columns"],
            nlohmann::json::parse(R"([{"Name": "id", "Type": "int"}, {"Name": "name", "Type": "string"},
                                                      {"Name": "geo", "Type": "struct<lat:double>"}])"));
  EXPECT_EQ(users["Parameters"]["classification"], "json");
  EXPECT_EQ(users["TableType"], "EXTERNAL_TABLE");
  EXPECT_TRUE(users["CreateTime"].is_number());
  EXPECT_EQ(users["PartitionKeys"], nlohmann::json::array());

  const auto pq = call("GetTable", {{"DatabaseName", "my_db"}, {"Name", "pq"}}).body["Table"];
  EXPECT_EQ(pq["StorageDescriptor"]["InputFormat"],
            "org.apache.hadoop.hive.ql.io.parquet.MapredParquetInputFormat");
  EXPECT_EQ(pq["StorageDescriptor"]["OutputFormat"],
            "org.apache.hadoop.hive.ql.io.parquet.MapredParquetOutputFormat");
  EXPECT_EQ(pq["StorageDescriptor"]["SerdeInfo"]["SerializationLibrary"],
            "org.apache.hadoop.hive.ql.io.parquet.serde.ParquetHiveSerDe");
  EXPECT_EQ(pq["Parameters"]["classification"], "parquet");

  const auto sheet = call("GetTable", {{"DatabaseName", "my_db"}, {"Name", "sheet"}}).body["Table"];
  EXPECT_EQ(sheet["StorageDescriptor"]["SerdeInfo"]["SerializationLibrary"],
            "org.apache.hadoop.hive.serde2.lazy.LazySimpleSerDe");
  EXPECT_EQ(sheet["StorageDescriptor"]["SerdeInfo"]["Parameters"]["field.delim"], ",");
  EXPECT_EQ(sheet["Parameters"]["classification"], "csv");

  const auto events = call("GetTable", {{"DatabaseName", "my_db"}, {"Name", "events"}}).body["Table"];
  EXPECT_EQ(events["PartitionKeys"], nlohmann::json::parse(R"([{"Name": "dt", "Type": "string"}])"));
}

TEST_F(GlueApi, TablesFilteredAndPaged) {
  EXPECT_THAT(names(call("GetTables", {{"DatabaseName", "my_db"}, {"Expression", "u*"}}).body["TableList"]),
              ElementsAre("users"));
  EXPECT_THAT(
      names(call("GetTables", {{"DatabaseName", "my_db"}, {"Expression", "pq|sheet"}}).body["TableList"]),
      ElementsAre("pq", "sheet"));
  std::vector<std::string> all;
  nlohmann::json request = {{"DatabaseName", "my_db"}, {"MaxResults", 3}};
  for (int pages = 0; pages < 5; ++pages) {
    const auto page = call("GetTables", request);
    for (const auto& n : names(page.body["TableList"])) all.push_back(n);
    if (!page.body.contains("NextToken")) break;
    request["NextToken"] = page.body["NextToken"];
  }
  EXPECT_THAT(all, ElementsAre("events", "pq", "sheet", "users"));
  EXPECT_THAT(
      names(call("GetTables", {{"DatabaseName", "my_db"}, {"Expression", "S.eet|*Q"}}).body["TableList"]),
      ElementsAre("pq", "sheet"));
  EXPECT_THAT(names(call("GetTables", {{"DatabaseName", "my_db"}, {"Expression", "use"}}).body["TableList"]),
              ElementsAre());
  // A pattern that would make a backtracking regular expression engine take forever.
  const std::string hostile = "*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*b";
  EXPECT_THAT(
      names(call("GetTables", {{"DatabaseName", "my_db"}, {"Expression", hostile}}).body["TableList"]),
      ElementsAre());
}

TEST_F(GlueApi, MissingThingsAndBadInput) {
  const auto db = call("GetTables", {{"DatabaseName", "nope"}});
  EXPECT_EQ(db.status, 400);
  EXPECT_EQ(db.body["__type"], "EntityNotFoundException");
  EXPECT_EQ(call("GetTable", {{"DatabaseName", "my_db"}, {"Name", "nope"}}).body["__type"],
            "EntityNotFoundException");
  EXPECT_EQ(call("GetDatabase", {{"Name", "nope"}}).body["__type"], "EntityNotFoundException");
  EXPECT_EQ(call("GetCrawler", {{"Name", "nope"}}).body["__type"], "EntityNotFoundException");
  EXPECT_EQ(call("StartCrawler", {{"Name", "nope"}}).body["__type"], "EntityNotFoundException");
  EXPECT_EQ(call("GetTable", {{"DatabaseName", "my_db"}}).body["__type"], "InvalidInputException");
  EXPECT_EQ(call("GetTables", {{"DatabaseName", "my_db"}, {"MaxResults", 101}}).body["__type"],
            "InvalidInputException");
}

TEST_F(GlueApi, DatabasesCreatedOnceAndListed) {
  EXPECT_EQ(call("GetDatabase", {{"Name", "my_db"}}).body["Database"]["Name"], "my_db");
  EXPECT_EQ(call("CreateDatabase", {{"DatabaseInput", {{"Name", "Extra"}}}}).status, 200);
  const auto again = call("CreateDatabase", {{"DatabaseInput", {{"Name", "extra"}}}});
  EXPECT_EQ(again.status, 400);
  EXPECT_EQ(again.body["__type"], "AlreadyExistsException");
  EXPECT_EQ(call("CreateDatabase", nlohmann::json::object()).body["__type"], "InvalidInputException");
  auto page = call("GetDatabases", {{"MaxResults", 1}});
  EXPECT_THAT(names(page.body["DatabaseList"]), ElementsAre("extra"));
  page = call("GetDatabases", {{"MaxResults", 1}, {"NextToken", page.body["NextToken"]}});
  EXPECT_THAT(names(page.body["DatabaseList"]), ElementsAre("my_db"));
  EXPECT_FALSE(page.body.contains("NextToken"));
}

TEST_F(GlueApi, PartitionsWithExpressionsAndPages) {
  auto values = [](const nlohmann::json& reply) {
    std::vector<std::string> out;
    for (const auto& p : reply["Partitions"]) out.push_back(p["Values"][0]);
    return out;
  };
  const auto all = call("GetPartitions", {{"DatabaseName", "my_db"}, {"TableName", "events"}});
  ASSERT_EQ(all.status, 200) << all.body.dump();
  EXPECT_THAT(values(all.body), ElementsAre("2026-11-24", "2026-11-25", "2026-11-26"));
  EXPECT_EQ(all.body["Partitions"][0]["StorageDescriptor"]["Location"],
            "s3://lake/processed/events/dt=2026-11-24/");
  EXPECT_THAT(
      values(call("GetPartitions",
                  {{"DatabaseName", "my_db"}, {"TableName", "events"}, {"Expression", "dt >= '2026-11-25'"}})
                 .body),
      ElementsAre("2026-11-25", "2026-11-26"));
  EXPECT_THAT(values(call("GetPartitions",
                          {{"DatabaseName", "my_db"},
                           {"TableName", "events"},
                           {"Expression", "dt IN ('2026-11-24', '2026-11-26') AND dt <> '2026-11-24'"}})
                         .body),
              ElementsAre("2026-11-26"));
  const auto bad =
      call("GetPartitions", {{"DatabaseName", "my_db"}, {"TableName", "events"}, {"Expression", "x = 1"}});
  EXPECT_EQ(bad.body["__type"], "InvalidInputException");
  const auto first =
      call("GetPartitions", {{"DatabaseName", "my_db"}, {"TableName", "events"}, {"MaxResults", 2}});
  EXPECT_THAT(values(first.body), ElementsAre("2026-11-24", "2026-11-25"));
  const auto second = call("GetPartitions", {{"DatabaseName", "my_db"},
                                             {"TableName", "events"},
                                             {"MaxResults", 2},
                                             {"NextToken", first.body["NextToken"]}});
  EXPECT_THAT(values(second.body), ElementsAre("2026-11-26"));
  EXPECT_FALSE(second.body.contains("NextToken"));
}

TEST_F(GlueApi, CrawlersStateLastCrawlScheduleAndStart) {
  history_ = {{"failed", "boom", from_epoch_ms(5000), from_epoch_ms(9000)},
              {"succeeded", "", from_epoch_ms(1000), from_epoch_ms(2000)}};
  auto crawler = call("GetCrawler", {{"Name", "processed"}}).body["Crawler"];
  EXPECT_EQ(crawler["State"], "READY");
  EXPECT_EQ(crawler["DatabaseName"], "my_db");
  EXPECT_EQ(crawler["Targets"]["S3Targets"][0]["Path"], "s3://lake/processed/");
  EXPECT_EQ(crawler["Schedule"]["ScheduleExpression"], "cron(00 10 * * ? *)");
  EXPECT_EQ(crawler["LastCrawl"]["Status"], "FAILED");
  EXPECT_EQ(crawler["LastCrawl"]["ErrorMessage"], "boom");
  EXPECT_EQ(crawler["LastCrawl"]["StartTime"], 5.0);

  EXPECT_EQ(call("StartCrawler", {{"Name", "processed"}}).status, 200);
  EXPECT_EQ(call("GetCrawler", {{"Name", "processed"}}).body["Crawler"]["State"], "RUNNING");
  const auto again = call("StartCrawler", {{"Name", "processed"}});
  EXPECT_EQ(again.status, 400);
  EXPECT_EQ(again.body["__type"], "CrawlerRunningException");

  const auto list = call("GetCrawlers", {{"MaxResults", 1}});
  EXPECT_THAT(names(list.body["Crawlers"]), ElementsAre("processed"));
  EXPECT_THAT(names(call("GetCrawlers", {{"NextToken", list.body["NextToken"]}}).body["Crawlers"]),
              ElementsAre("idle"));
  EXPECT_FALSE(call("GetCrawler", {{"Name", "idle"}}).body["Crawler"].contains("Schedule"));

  const auto metrics = call("GetCrawlerMetrics", {{"CrawlerNameList", {"processed"}}});
  ASSERT_EQ(metrics.body["CrawlerMetricsList"].size(), 1u);
  const auto& m = metrics.body["CrawlerMetricsList"][0];
  EXPECT_EQ(m["CrawlerName"], "processed");
  EXPECT_EQ(m["LastRuntimeSeconds"], 4.0);
  EXPECT_EQ(m["TablesCreated"], 4);
  EXPECT_EQ(m["StillEstimating"], true);
}

TEST(GluePartitionExpression, ComparisonsInBetweenAndErrors) {
  const std::vector<std::string> keys = {"year", "dt"};
  EXPECT_TRUE(partition_matches("", keys, {"2026", "a"}));
  EXPECT_TRUE(partition_matches("year = 2026", keys, {"2026", "a"}));
  EXPECT_TRUE(partition_matches("year > 900", keys, {"2026", "a"}));  // numerically, not as text
  EXPECT_FALSE(partition_matches("year > '900'", keys, {"2026", "a"}));
  EXPECT_TRUE(partition_matches("dt BETWEEN 'a' AND 'b' and year != 1", keys, {"2026", "a"}));
  EXPECT_FALSE(partition_matches("dt = 'it''s'", keys, {"2026", "its"}));
  EXPECT_TRUE(partition_matches("dt = 'it''s'", keys, {"2026", "it's"}));
  for (const char* bad : {"zz = 1", "dt =", "dt = 'open", "dt IN ('a'", "dt ~ 1", "dt = 'a' OR dt = 'b'"})
    EXPECT_THROW(partition_matches(bad, keys, {"2026", "a"}), Error) << bad;
}

}  // namespace
}  // namespace sluice::aws
