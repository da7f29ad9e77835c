#include "dashboard/dashboard_service.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "catalog/crawler.h"
#include "catalog/metastore_catalog.h"
#include "config/pipeline.h"
#include "dashboard/check.h"
#include "dashboard/result_cache.h"
#include "metastore/event_queue.h"
#include "metastore/metastore.h"
#include "query/engine.h"
#include "query/query_log.h"
#include "storage/local_object_store.h"
#include "tests/common/expect_error.h"
#include "tests/common/temp_dir.h"

namespace sluice::dashboard {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using testing_util::fails_with;

const char* kPipeline = R"(buckets: [lake]
crawlers:
  c: {database: db, targets: [s3://lake/processed/]}
dashboards:
  d:
    parameters:
      country: {type: dropdown, values: "SELECT country FROM users ORDER BY country", default: ""}
    sheets:
      - title: s
        visuals:
          by_country:
            type: bar
            sql: |
              SELECT country, count(*) AS users FROM users
              WHERE {{country}} = '' OR country = {{country}} GROUP BY 1 ORDER BY 2 DESC, 1
            fields: {x: country, y: users}
            alerts:
              - {name: crowded, condition: "users > 1"}
          wrong_field:
            type: kpi
            sql: "SELECT count(*) AS n FROM users"
            fields: {value: total}
          every_second:
            type: kpi
            sql: "SELECT count(*) AS n FROM users"
            fields: {value: n}
            refresh: 2s
            alerts:
              - {name: empty, condition: "n < 1"}
)";

class DashboardServiceTest : public ::testing::Test {
 protected:
  DashboardServiceTest()
      : pipeline_(config::parse_pipeline(kPipeline, "p.yaml")),
        db_(dir_.path() / "metastore.db"),
        events_(db_),
        store_(dir_.path() / "objects", {"lake"}, &events_),
        catalog_(db_),
        log_(db_),
        engine_(query::QueryConfig{.database = "db", .output_bucket = "lake", .output_prefix = "results/"},
                catalog_, store_, log_),
        service_(
            pipeline_.dashboards, "db", catalog_,
            [this](const std::string& sql, const query::RunOptions& o) {
              ++queries_;
              return engine_.run(sql, o);
            },
            [this](const AlertEvent& e) {
              alerts_.push_back(e.visual + "/" + e.alert->name + "=" +
                                std::string(to_string(e.status.state)));
            }) {}

  void add_users(const std::string& key, const std::string& lines) {
    store_.put("lake", "processed/users/" + key, lines);
    catalog::Crawler crawler({.name = "c", .database = "db", .targets = {{"lake", "processed/"}}}, store_,
                             catalog_);
    crawler.crawl();
  }
  const DashboardConfig& d() { return pipeline_.dashboards.at(0); }

  testing_util::TempDir dir_;
  config::Pipeline pipeline_;
  metastore::Metastore db_;
  metastore::EventQueue events_;
  storage::LocalObjectStore store_;
  catalog::MetastoreCatalog catalog_;
  query::QueryLog log_;
  query::QueryEngine engine_;
  int queries_ = 0;
  std::vector<std::string> alerts_;
  DashboardService service_;
};

TEST_F(DashboardServiceTest, AVisualsDataFollowsTheParametersAndItsAlertsTheDefaults) {
  add_users("a.jsonl",
            "{\"id\":1,\"country\":\"FR\"}\n{\"id\":2,\"country\":\"FR\"}\n{\"id\":3,\"country\":\"ES\"}\n");
  const auto* v = d().visual("by_country");
  auto all = service_.visual_data(d(), *v, nullptr, nullptr);
  EXPECT_THAT(all.result.columns, ElementsAre("country", "users"));
  ASSERT_EQ(all.result.rows.size(), 2u);
  EXPECT_EQ(all.result.rows[0][1], "2");        // FR first: the alert reads the first row
  EXPECT_EQ(all.alerts[0]["state"], "firing");  // FR has 2 > 1
  EXPECT_THAT(alerts_, ElementsAre("by_country/crowded=firing"));

  // With a parameter the result is filtered; the alert is not evaluated on a filtered view.
  auto spain = service_.visual_data(d(), *v, {{"country", "ES"}}, nullptr);
  ASSERT_EQ(spain.result.rows.size(), 1u);
  EXPECT_EQ(spain.result.rows[0][0], "ES");
  EXPECT_EQ(spain.alerts[0]["state"], "firing");
  EXPECT_EQ(alerts_.size(), 1u);
  // A hostile value stays a value: no row, no error.
  EXPECT_TRUE(service_.visual_data(d(), *v, {{"country", "x' OR 1=1 --"}}, nullptr).result.rows.empty());
  EXPECT_TRUE(fails_with(
      [&] {
        service_.visual_data(d(), *v, {{"nobody", "x"}}, nullptr);
      },
      "dashboard \"d\" has no parameter \"nobody\""));
  EXPECT_TRUE(fails_with<VisualProblem>(
      [&] { service_.visual_data(d(), *d().visual("wrong_field"), nullptr, nullptr); },
      "field \"value\" maps to column \"total\", which the query does not return "
      "(it returns: n)"));
  EXPECT_THAT(service_.parameter_values(d(), *d().parameter("country"), nullptr), ElementsAre("ES", "FR"));
}

TEST_F(DashboardServiceTest, TheDefinitionNamesEachVisualsTablesAndTheirVersionsMoveWithNewData) {
  // Before any crawl the table is already watched (version 0): the page must not miss its first data.
  EXPECT_EQ(service_.definition_json(d())["sheets"][0]["visuals"][0]["tables"],
            nlohmann::json::array({"db.users"}));
  EXPECT_EQ(service_.versions_json(d())["tables"]["db.users"], 0);
  add_users("a.jsonl", "{\"id\":1,\"country\":\"FR\"}\n");
  const auto definition = service_.definition_json(d());
  const auto& visual = definition["sheets"][0]["visuals"][0];
  EXPECT_EQ(visual["tables"], nlohmann::json::array({"db.users"}));
  EXPECT_EQ(visual["parameters"], nlohmann::json::array({"country"}));
  EXPECT_EQ(visual["alerts"][0]["state"], "unknown");
  EXPECT_EQ(definition["parameters"][0]["type"], "dropdown");
  const auto before = service_.versions_json(d())["tables"]["db.users"].get<int64_t>();
  std::this_thread::sleep_for(std::chrono::milliseconds(5));
  add_users("b.jsonl", "{\"id\":2,\"country\":\"ES\"}\n");
  EXPECT_GT(service_.versions_json(d())["tables"]["db.users"].get<int64_t>(), before);
}

TEST_F(DashboardServiceTest, TheAlertLoopRunsAVisualOnlyWhenItsRefreshIsDue) {
  add_users("a.jsonl", "{\"id\":1,\"country\":\"FR\"}\n");
  const TimePoint t0 = now_ms();
  EXPECT_EQ(service_.evaluate_due(t0, nullptr), 2u);  // both visuals with alerts, first time
  EXPECT_THAT(alerts_, ElementsAre("by_country/crowded=ok", "every_second/empty=ok"));
  EXPECT_EQ(service_.evaluate_due(t0 + std::chrono::seconds(1), nullptr), 0u);
  EXPECT_EQ(service_.evaluate_due(t0 + std::chrono::seconds(2), nullptr), 1u);  // the 2 s interval
  add_users("b.jsonl", "{\"id\":2,\"country\":\"FR\"}\n");                      // on_change: new data
  EXPECT_EQ(service_.evaluate_due(t0 + std::chrono::seconds(3), nullptr), 1u);
  EXPECT_EQ(alerts_.back(), "by_country/crowded=firing");
}

TEST_F(DashboardServiceTest, AResultIsReusedUntilATableItReadsChangesUnlessAskedFresh) {
  add_users("a.jsonl", "{\"id\":1,\"country\":\"FR\"}\n");
  const auto* v = d().visual("by_country");
  const auto first = service_.visual_data(d(), *v, nullptr, nullptr);
  const int ran = queries_;
  const auto again = service_.visual_data(d(), *v, nullptr, nullptr);
  EXPECT_EQ(queries_, ran);                                 // from the cache
  EXPECT_EQ(again.result.query_id, first.result.query_id);  // its CSV is the same saved result
  service_.visual_data(d(), *v, {{"country", "FR"}}, nullptr);
  EXPECT_EQ(queries_, ran + 1);  // other parameters, another query
  service_.visual_data(d(), *v, nullptr, nullptr, /*fresh=*/true);
  EXPECT_EQ(queries_, ran + 2);
  std::this_thread::sleep_for(std::chrono::milliseconds(5));
  add_users("b.jsonl", "{\"id\":2,\"country\":\"FR\"}\n");
  const auto after = service_.visual_data(d(), *v, nullptr, nullptr);
  EXPECT_EQ(queries_, ran + 3);  // the table moved
  EXPECT_EQ(after.result.rows[0][1], "2");
  // An interval visual (its SQL may read now()) always runs.
  service_.visual_data(d(), *d().visual("every_second"), nullptr, nullptr);
  service_.visual_data(d(), *d().visual("every_second"), nullptr, nullptr);
  EXPECT_EQ(queries_, ran + 5);
}

TEST(ResultCache, EvictsTheLeastRecentlyUsedAndDropsStaleEntries) {
  ResultCache cache(40'000);
  query::QueryResult r;
  r.columns = {"v"};
  r.rows.assign(50, {std::string(20, 'x')});  // ~3 KB each
  cache.put("a", {{"t", 1}}, r);
  cache.put("b", {{"t", 1}}, r);
  EXPECT_TRUE(cache.find("a", {{"t", 1}}));
  EXPECT_FALSE(cache.find("b", {{"t", 2}}));  // stale: dropped
  EXPECT_FALSE(cache.find("b", {{"t", 1}}));
  for (int i = 0; i < 20; ++i) cache.put("k" + std::to_string(i), {}, r);
  EXPECT_LE(cache.bytes(), 40'000u);
  EXPECT_FALSE(cache.find("a", {{"t", 1}}));  // evicted, the oldest
  EXPECT_TRUE(cache.find("k19", {}));
  r.rows.assign(500, {std::string(20, 'x')});  // over a quarter of the cache: not kept
  cache.put("big", {}, r);
  EXPECT_FALSE(cache.find("big", {}));
}

TEST_F(DashboardServiceTest, ValidateBindsEveryVisualAgainstTheCatalogAtItsPlace) {
  const auto unbound = check_dashboards(pipeline_.dashboards, nullptr, "db");
  EXPECT_TRUE(unbound.empty()) << unbound.front().to_string();  // parses; nothing to bind against
  add_users("a.jsonl", "{\"id\":1,\"country\":\"FR\"}\n");
  auto problems = check_dashboards(pipeline_.dashboards, &catalog_, "db");
  ASSERT_EQ(problems.size(), 1u);
  EXPECT_THAT(problems[0].to_string(),
              HasSubstr("p.yaml:22:29: dashboards.d.sheets[0].visuals.wrong_field.fields.value"));
  EXPECT_THAT(problems[0].message, HasSubstr("(it returns: n)"));

  auto bad = config::parse_pipeline(R"(dashboards:
  d:
    sheets:
      - title: s
        visuals:
          v: {type: table, sql: "SELECT nope FROM users"}
          w: {type: table, sql: "SELECT * FROM absent"}
          x: {type: table, sql: "SELEC 1"}
)",
                                    "q.yaml");
  problems = check_dashboards(bad.dashboards, &catalog_, "db");
  ASSERT_EQ(problems.size(), 3u);
  EXPECT_THAT(problems[0].to_string(), HasSubstr("q.yaml:6:33: dashboards.d.sheets[0].visuals.v.sql"));
  EXPECT_THAT(problems[0].message, HasSubstr("\"nope\" not found"));
  EXPECT_THAT(problems[1].message, HasSubstr("absent does not exist"));
  EXPECT_THAT(problems[1].message, HasSubstr("(catalogued in db: users)"));
  EXPECT_THAT(problems[2].message, HasSubstr("syntax error"));
  EXPECT_EQ(check_dashboards(bad.dashboards, nullptr, "db").size(), 1u);  // only the syntax error
}

}  // namespace
}  // namespace sluice::dashboard
