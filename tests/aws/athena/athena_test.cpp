// The Athena wire API through Router::serve: a real query engine over a local object store and a
// crawled catalog, queries run by a QueryQueue.
#include "aws/athena/athena.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <chrono>
#include <memory>
#include <nlohmann/json.hpp>
#include <thread>

#include "catalog/crawler.h"
#include "catalog/metastore_catalog.h"
#include "metastore/metastore.h"
#include "query/engine.h"
#include "query/query_log.h"
#include "query/query_queue.h"
#include "server/error_shapes.h"
#include "server/router.h"
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

// Five users as JSON Lines; the test knows its own bytes (the size Athena reports as scanned).
std::string users_jsonl() {
  std::string out;
  const char* names[] = {"Ann", "Bob", "Cy", "Di", "Ed"};
  for (int i = 0; i < 5; ++i)
    out += "{\"id\": " + std::to_string(i + 1) + ", \"name\": \"" + names[i] + "\"}\n";
  return out;
}

class AthenaApi : public ::testing::Test {
 protected:
  explicit AthenaApi(query::QueueConfig queue_config = {})
      : db_(dir_.path() / "metastore.db"),
        store_(dir_.path() / "objects", {"lake", "results"}, nullptr),
        catalog_(db_),
        log_(db_),
        engine_(query::QueryConfig{.database = "db", .output_bucket = "results", .output_prefix = "athena/"},
                catalog_, store_, log_) {
    store_.put("lake", "tables/users/part-0.json", users_jsonl());
    catalog::Crawler crawler({.name = "c", .database = "db", .targets = {{"lake", "tables/"}}}, store_,
                             catalog_);
    crawler.crawl();
    queue_ = std::make_shared<query::QueryQueue>(engine_, queue_config);
    auto& group = router_.group({.name = "athena", .errors = server::aws_json_errors()});
    add_athena_routes(
        group, AthenaBackend{.engine = &engine_,
                             .catalog = &catalog_,
                             .queue = queue_,
                             .record = [this](const std::string& id) { return log_.get(id); },
                             .history = [this](int limit) { return log_.list(limit); },
                             .has_bucket = [this](const std::string& b) { return store_.has_bucket(b); }});
  }

  Reply call(const std::string& operation, const nlohmann::json& body) {
    server::HttpRequest r;
    r.method = "POST";
    r.target = r.path = r.raw_path = "/";
    r.headers["X-Amz-Target"] = "AmazonAthena." + operation;
    r.headers["Content-Type"] = "application/x-amz-json-1.1";
    r.body = body.dump();
    const auto response = router_.serve(r);
    return {response.status, response.body.empty() ? nlohmann::json() : nlohmann::json::parse(response.body)};
  }

  std::string start(const std::string& sql, nlohmann::json extra = nlohmann::json::object()) {
    extra["QueryString"] = sql;
    const auto reply = call("StartQueryExecution", extra);
    EXPECT_EQ(reply.status, 200) << reply.body.dump();
    return reply.body.value("QueryExecutionId", "");
  }

  // The query's execution once it has left QUEUED and RUNNING (within a generous 30 s).
  nlohmann::json finished(const std::string& id) {
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
    for (;;) {
      const auto reply = call("GetQueryExecution", {{"QueryExecutionId", id}});
      EXPECT_EQ(reply.status, 200) << reply.body.dump();
      const auto& execution = reply.body["QueryExecution"];
      const std::string state = execution["Status"]["State"];
      if ((state != "QUEUED" && state != "RUNNING") || std::chrono::steady_clock::now() > deadline)
        return execution;
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
  }

  // The values of a page's rows (null for a NULL).
  static std::vector<std::vector<std::string>> values(const nlohmann::json& page) {
    std::vector<std::vector<std::string>> out;
    for (const auto& row : page["ResultSet"]["Rows"]) {
      auto& values = out.emplace_back();
      for (const auto& datum : row["Data"]) values.push_back(datum.value("VarCharValue", "<null>"));
    }
    return out;
  }

  testing_util::TempDir dir_;
  metastore::Metastore db_;
  storage::LocalObjectStore store_;
  catalog::MetastoreCatalog catalog_;
  query::QueryLog log_;
  query::QueryEngine engine_;
  std::shared_ptr<query::QueryQueue> queue_;
  server::Router router_;
};

TEST_F(AthenaApi, RunsAQueryAsynchronouslyAndAnswersItsResultsHeaderFirst) {
  const std::string id = start("SELECT id, name FROM users WHERE id <= 2 ORDER BY id");
  ASSERT_TRUE(query::is_query_id(id));
  const auto execution = finished(id);
  EXPECT_EQ(execution["Status"]["State"], "SUCCEEDED") << execution.dump();
  EXPECT_EQ(execution["Statistics"]["DataScannedInBytes"], users_jsonl().size());
  EXPECT_EQ(execution["ResultConfiguration"]["OutputLocation"], "s3://results/athena/" + id + ".csv");
  EXPECT_EQ(execution["QueryExecutionContext"]["Database"], "db");
  EXPECT_TRUE(execution["Status"].contains("CompletionDateTime"));
  // The result object is the one the native API writes: Athena CSV.
  EXPECT_EQ(store_.get("results", "athena/" + id + ".csv"),
            "\"id\",\"name\"\n\"1\",\"Ann\"\n\"2\",\"Bob\"\n");

  const auto page = call("GetQueryResults", {{"QueryExecutionId", id}});
  ASSERT_EQ(page.status, 200) << page.body.dump();
  EXPECT_THAT(values(page.body),
              ElementsAre(ElementsAre("id", "name"), ElementsAre("1", "Ann"), ElementsAre("2", "Bob")));
  const auto& columns = page.body["ResultSet"]["ResultSetMetadata"]["ColumnInfo"];
  ASSERT_EQ(columns.size(), 2u);
  EXPECT_EQ(columns[0]["Name"], "id");
  EXPECT_EQ(columns[0]["Type"], "integer");
  EXPECT_EQ(columns[1]["Type"], "varchar");
  EXPECT_FALSE(page.body.contains("NextToken"));
  EXPECT_EQ(page.body["UpdateCount"], 0);
}

TEST_F(AthenaApi, PagesWithMaxResultsCountingTheHeaderRow) {
  const std::string id = start("SELECT id FROM users ORDER BY id");
  ASSERT_EQ(finished(id)["Status"]["State"], "SUCCEEDED");
  std::vector<std::vector<std::string>> all;
  std::vector<size_t> sizes;
  nlohmann::json request = {{"QueryExecutionId", id}, {"MaxResults", 2}};
  for (int pages = 0; pages < 10; ++pages) {
    const auto page = call("GetQueryResults", request);
    ASSERT_EQ(page.status, 200) << page.body.dump();
    const auto rows = values(page.body);
    sizes.push_back(rows.size());
    all.insert(all.end(), rows.begin(), rows.end());
    if (!page.body.contains("NextToken")) break;
    request["NextToken"] = page.body["NextToken"];
  }
  EXPECT_THAT(sizes, ElementsAre(2u, 2u, 2u));  // header + 1, 2, 2
  EXPECT_THAT(all, ElementsAre(ElementsAre("id"), ElementsAre("1"), ElementsAre("2"), ElementsAre("3"),
                               ElementsAre("4"), ElementsAre("5")));
  // MaxResults 1: the header alone, then the rows.
  const auto header = call("GetQueryResults", {{"QueryExecutionId", id}, {"MaxResults", 1}});
  EXPECT_THAT(values(header.body), ElementsAre(ElementsAre("id")));
  const auto next =
      call("GetQueryResults", {{"QueryExecutionId", id}, {"NextToken", header.body["NextToken"]}});
  EXPECT_EQ(values(next.body).size(), 5u);
  const auto bad = call("GetQueryResults", {{"QueryExecutionId", id}, {"NextToken", "r7"}});
  EXPECT_EQ(bad.body["__type"], "InvalidRequestException");
  EXPECT_EQ(call("GetQueryResults", {{"QueryExecutionId", id}, {"MaxResults", 1001}}).status, 400);
}

TEST_F(AthenaApi, OutputLocationIsWhereTheResultGoesAndMustNameABucket) {
  const std::string id =
      start("SELECT 1 AS one", {{"ResultConfiguration", {{"OutputLocation", "s3://lake/out"}}}});
  const auto execution = finished(id);
  EXPECT_EQ(execution["ResultConfiguration"]["OutputLocation"], "s3://lake/out/" + id + ".csv");
  EXPECT_EQ(store_.get("lake", "out/" + id + ".csv"), "\"one\"\n\"1\"\n");

  const auto refused =
      call("StartQueryExecution",
           {{"QueryString", "SELECT 1"}, {"ResultConfiguration", {{"OutputLocation", "s3://nope/x/"}}}});
  EXPECT_EQ(refused.status, 400);
  EXPECT_EQ(refused.body["__type"], "InvalidRequestException");
  EXPECT_EQ(refused.body["AthenaErrorCode"], "INVALID_INPUT");
  EXPECT_THAT(refused.body["message"].get<std::string>(), HasSubstr("nope"));
  const auto group = call("StartQueryExecution", {{"QueryString", "SELECT 1"}, {"WorkGroup", "other"}});
  EXPECT_EQ(group.body["__type"], "InvalidRequestException");
  EXPECT_EQ(call("StartQueryExecution", {{"QueryString", ""}}).body["__type"], "InvalidRequestException");
}

TEST_F(AthenaApi, AFailedQueryHasItsReasonAndNoResults) {
  const std::string id = start("SELECT * FROM no_such_table");
  const auto execution = finished(id);
  EXPECT_EQ(execution["Status"]["State"], "FAILED");
  EXPECT_THAT(execution["Status"]["StateChangeReason"].get<std::string>(), HasSubstr("no_such_table"));
  EXPECT_EQ(execution["Status"]["AthenaError"]["ErrorMessage"], execution["Status"]["StateChangeReason"]);
  const auto results = call("GetQueryResults", {{"QueryExecutionId", id}});
  EXPECT_EQ(results.status, 400);
  EXPECT_EQ(results.body["__type"], "InvalidRequestException");
  EXPECT_THAT(results.body["message"].get<std::string>(), HasSubstr("FAILED"));
}

TEST_F(AthenaApi, UnknownIdsBatchGetAndList) {
  const std::string unknown = query::new_query_id();
  const auto missing = call("GetQueryExecution", {{"QueryExecutionId", unknown}});
  EXPECT_EQ(missing.status, 400);
  EXPECT_EQ(missing.body["__type"], "InvalidRequestException");
  EXPECT_EQ(call("StopQueryExecution", {{"QueryExecutionId", "not-a-uuid"}}).body["__type"],
            "InvalidRequestException");

  std::vector<std::string> ids;
  for (int i = 0; i < 3; ++i) ids.push_back(start("SELECT " + std::to_string(i)));
  for (const auto& id : ids) finished(id);
  const auto batch = call("BatchGetQueryExecution", {{"QueryExecutionIds", {ids[0], unknown}}});
  ASSERT_EQ(batch.status, 200);
  ASSERT_EQ(batch.body["QueryExecutions"].size(), 1u);
  EXPECT_EQ(batch.body["QueryExecutions"][0]["QueryExecutionId"], ids[0]);
  ASSERT_EQ(batch.body["UnprocessedQueryExecutionIds"].size(), 1u);
  EXPECT_EQ(batch.body["UnprocessedQueryExecutionIds"][0]["QueryExecutionId"], unknown);
  EXPECT_EQ(
      call("BatchGetQueryExecution", {{"QueryExecutionIds", std::vector<std::string>(51, unknown)}}).status,
      400);

  std::vector<std::string> listed;
  nlohmann::json request = {{"MaxResults", 2}};
  for (int pages = 0; pages < 5; ++pages) {
    const auto page = call("ListQueryExecutions", request);
    ASSERT_EQ(page.status, 200);
    EXPECT_LE(page.body["QueryExecutionIds"].size(), 2u);
    for (const auto& id : page.body["QueryExecutionIds"]) listed.push_back(id);
    if (!page.body.contains("NextToken")) break;
    request["NextToken"] = page.body["NextToken"];
  }
  EXPECT_THAT(listed, ::testing::UnorderedElementsAreArray(ids));
  EXPECT_EQ(call("ListQueryExecutions", {{"MaxResults", 51}}).status, 400);
}

TEST_F(AthenaApi, ClientRequestTokenMakesStartIdempotent) {
  const std::string token(32, 'a');
  const std::string first = start("SELECT 1", {{"ClientRequestToken", token}});
  EXPECT_EQ(start("SELECT 1", {{"ClientRequestToken", token}}), first);
  const auto changed =
      call("StartQueryExecution", {{"QueryString", "SELECT 2"}, {"ClientRequestToken", token}});
  EXPECT_EQ(changed.status, 400);
  EXPECT_EQ(changed.body["__type"], "InvalidRequestException");
  EXPECT_NE(start("SELECT 1", {{"ClientRequestToken", std::string(32, 'b')}}), first);
}

class AthenaQueue : public AthenaApi {
 protected:
  AthenaQueue() : AthenaApi(query::QueueConfig{.workers = 1, .max_queued = 1}) {}
};

TEST_F(AthenaQueue, QueuedRunningStoppedAndAFullQueueThrottles) {
  // Runs until it is stopped: far too many rows to count in the time of the test.
  const std::string slow = start("SELECT count(*) FROM range(100000000000)");
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (call("GetQueryExecution", {{"QueryExecutionId", slow}}).body["QueryExecution"]["Status"]["State"] !=
             "RUNNING" &&
         std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  const std::string queued = start("SELECT 1");
  EXPECT_EQ(
      call("GetQueryExecution", {{"QueryExecutionId", queued}}).body["QueryExecution"]["Status"]["State"],
      "QUEUED");
  const auto throttled = call("StartQueryExecution", {{"QueryString", "SELECT 2"}});
  EXPECT_EQ(throttled.status, 400);
  EXPECT_EQ(throttled.body["__type"], "TooManyRequestsException");
  EXPECT_EQ(throttled.body["Reason"], "CONCURRENT_QUERY_LIMIT_EXCEEDED");

  const auto listed = call("ListQueryExecutions", nlohmann::json::object());
  EXPECT_THAT(listed.body["QueryExecutionIds"].get<std::vector<std::string>>(), ::testing::Contains(queued));

  EXPECT_EQ(call("StopQueryExecution", {{"QueryExecutionId", queued}}).status, 200);
  const auto stopped_queued = finished(queued);
  EXPECT_EQ(stopped_queued["Status"]["State"], "CANCELLED");
  EXPECT_EQ(call("StopQueryExecution", {{"QueryExecutionId", slow}}).status, 200);
  const auto stopped = finished(slow);
  EXPECT_EQ(stopped["Status"]["State"], "CANCELLED") << stopped.dump();
  EXPECT_THAT(stopped["Status"]["StateChangeReason"].get<std::string>(), HasSubstr("StopQueryExecution"));
  // Stopping a finished query changes nothing.
  EXPECT_EQ(call("StopQueryExecution", {{"QueryExecutionId", slow}}).status, 200);
  EXPECT_EQ(finished(slow)["Status"]["State"], "CANCELLED");
}

TEST_F(AthenaApi, CatalogAndWorkGroupAsAthenaShowsThem) {
  const auto catalogs = call("ListDataCatalogs", nlohmann::json::object());
  EXPECT_EQ(catalogs.body["DataCatalogsSummary"][0]["CatalogName"], "AwsDataCatalog");
  EXPECT_EQ(call("GetDataCatalog", {{"Name", "Other"}}).body["__type"], "InvalidRequestException");
  EXPECT_EQ(call("ListDatabases", {{"CatalogName", "AwsDataCatalog"}}).body["DatabaseList"][0]["Name"], "db");
  EXPECT_EQ(call("GetDatabase", {{"CatalogName", "AwsDataCatalog"}, {"DatabaseName", "nope"}}).body["__type"],
            "MetadataException");

  const auto tables = call("ListTableMetadata", {{"CatalogName", "AwsDataCatalog"}, {"DatabaseName", "db"}});
  ASSERT_EQ(tables.status, 200) << tables.body.dump();
  ASSERT_EQ(tables.body["TableMetadataList"].size(), 1u);
  const auto& users = tables.body["TableMetadataList"][0];
  EXPECT_EQ(users["Name"], "users");
  EXPECT_EQ(users["Columns"],
            nlohmann::json::parse(R"([{"Name": "id", "Type": "int"}, {"Name": "name", "Type": "string"}])"));
  EXPECT_EQ(users["Parameters"]["location"], "s3://lake/tables/users/");
  EXPECT_TRUE(call("ListTableMetadata",
                   {{"CatalogName", "AwsDataCatalog"}, {"DatabaseName", "db"}, {"Expression", "x*"}})
                  .body["TableMetadataList"]
                  .empty());
  EXPECT_EQ(call("GetTableMetadata",
                 {{"CatalogName", "AwsDataCatalog"}, {"DatabaseName", "db"}, {"TableName", "users"}})
                .body["TableMetadata"]["Name"],
            "users");
  EXPECT_EQ(call("GetTableMetadata",
                 {{"CatalogName", "AwsDataCatalog"}, {"DatabaseName", "db"}, {"TableName", "no"}})
                .body["__type"],
            "MetadataException");

  const auto group = call("GetWorkGroup", {{"WorkGroup", "primary"}});
  EXPECT_EQ(group.body["WorkGroup"]["Configuration"]["ResultConfiguration"]["OutputLocation"],
            "s3://results/athena/");
  EXPECT_EQ(call("GetWorkGroup", {{"WorkGroup", "other"}}).body["__type"], "InvalidRequestException");
  EXPECT_EQ(call("ListWorkGroups", nlohmann::json::object()).body["WorkGroups"][0]["Name"], "primary");
}

TEST(AthenaTypes, DuckdbTypesAsAthenaNamesThem) {
  EXPECT_EQ(athena_type("BIGINT"), "bigint");
  EXPECT_EQ(athena_type("INTEGER"), "integer");
  EXPECT_EQ(athena_type("VARCHAR"), "varchar");
  EXPECT_EQ(athena_type("DOUBLE"), "double");
  EXPECT_EQ(athena_type("BOOLEAN"), "boolean");
  EXPECT_EQ(athena_type("DECIMAL(18,3)"), "decimal");
  EXPECT_EQ(athena_type("VARCHAR[]"), "array");
  EXPECT_EQ(athena_type("STRUCT(a INTEGER)"), "row");
  EXPECT_EQ(athena_type("TIMESTAMP WITH TIME ZONE"), "timestamp");
  EXPECT_EQ(athena_type("SOMETHING_NEW"), "varchar");
}

}  // namespace
}  // namespace sluice::aws
