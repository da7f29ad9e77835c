// The console's dashboards API and the pipeline graph over HTTP, on a running Daemon: definitions,
// a visual's data with parameters, errors shown in the visual, versions that move with new data, the
// graph of the pipeline, and alerts reaching the run history and a webhook.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <condition_variable>
#include <mutex>
#include <nlohmann/json.hpp>

#include "daemon/daemon.h"
#include "server/http_server.h"
#include "server/router.h"
#include "tests/common/http.h"
#include "tests/common/temp_dir.h"

namespace sluice::daemon {
namespace {

using ::testing::HasSubstr;
using testing_util::http_request;

// Receives webhook POSTs on loopback and keeps their bodies.
class WebhookReceiver {
 public:
  WebhookReceiver() {
    server::Router router;
    router.group({.name = "hooks", .path_prefix = "/"})
        .route("POST", "/hook", [this](const server::RouteRequest& r) {
          {
            std::lock_guard lock(mutex_);
            bodies_.push_back(nlohmann::json::parse(r.http.body));
          }
          cv_.notify_all();
          return server::HttpResponse{.status = 204};
        });
    server::HttpServerOptions options;
    options.port = 0;
    server_ = std::make_unique<server::HttpServer>(options, std::move(router));
    server_->start();
  }
  std::string url() const { return "http://127.0.0.1:" + std::to_string(server_->port()) + "/hook"; }
  // The first `n` bodies, waiting up to 20 s for them.
  std::vector<nlohmann::json> wait_for(size_t n) {
    std::unique_lock lock(mutex_);
    cv_.wait_for(lock, std::chrono::seconds(20), [&] { return bodies_.size() >= n; });
    return bodies_;
  }

 private:
  std::mutex mutex_;
  std::condition_variable cv_;
  std::vector<nlohmann::json> bodies_;
  std::unique_ptr<server::HttpServer> server_;
};

std::string pipeline_yaml(const std::string& webhook) {
  return R"(server: {port: 0}
buckets: [lake]
crawlers:
  c: {database: db, targets: [s3://lake/processed/], on_change: true}
dashboards:
  ops:
    title: Operations <b>
    parameters:
      status: {type: text}
    sheets:
      - title: Runs
        visuals:
          by_status:
            type: bar
            sql: |
              SELECT status, count(*) AS n FROM jobs WHERE {{status}} = '' OR status = {{status}}
              GROUP BY 1 ORDER BY 1
            fields: {x: status, y: n}
            drill: {parameter: status, field: x}
          failed:
            type: kpi
            sql: SELECT count(*) FILTER (WHERE status = 'failed') AS failed_runs FROM jobs
            fields: {value: failed_runs}
            alerts:
              - {name: any-failed, condition: "failed_runs > 0", webhook: ")" +
         webhook + R"("}
          broken:
            type: table
            sql: SELECT nope FROM jobs
)";
}

class DashboardsApi : public ::testing::Test {
 protected:
  void SetUp() override {
    auto p = config::parse_pipeline(pipeline_yaml(hooks_.url()), dir_.path() / "p.yaml");
    p.data_dir = dir_.path() / "data";
    daemon_ = std::make_unique<Daemon>(std::move(p));
  }
  void add_jobs(const std::string& key, const std::string& lines) {
    daemon_->runtime().objects().put("lake", "processed/jobs/" + key, lines);
    daemon_->runtime().trigger("c");
  }
  testing_util::HttpResult call(const std::string& method, const std::string& path,
                                const std::string& body = "") {
    return http_request(method, "http://127.0.0.1:" + std::to_string(daemon_->port()) + path, body);
  }
  nlohmann::json json_of(const testing_util::HttpResult& a) { return nlohmann::json::parse(a.body); }

  WebhookReceiver hooks_;
  testing_util::TempDir dir_;
  std::unique_ptr<Daemon> daemon_;
};

TEST_F(DashboardsApi, DefinitionsDataAndErrorsAsThePageReadsThem) {
  add_jobs("a.jsonl",
           "{\"id\":1,\"status\":\"ok\"}\n{\"id\":2,\"status\":\"ok\"}\n{\"id\":3,\"status\":\"slow\"}\n");
  auto list = json_of(call("GET", "/v1/dashboards"));
  ASSERT_EQ(list.size(), 1u);
  EXPECT_EQ(list[0]["title"], "Operations <b>");  // data, not markup: the page sets it as text
  EXPECT_EQ(list[0]["visuals"], 3);
  auto definition = json_of(call("GET", "/v1/dashboards/ops"));
  EXPECT_EQ(definition["sheets"][0]["visuals"][0]["tables"], nlohmann::json::array({"db.jobs"}));
  EXPECT_EQ(definition["sheets"][0]["visuals"][0]["drill"]["parameter"], "status");

  auto all = call("POST", "/v1/dashboards/ops/visuals/by_status/data");
  ASSERT_EQ(all.status, 200) << all.body;
  EXPECT_EQ(json_of(all)["rows"], nlohmann::json::parse(R"([["ok","2"],["slow","1"]])"));
  auto slow =
      call("POST", "/v1/dashboards/ops/visuals/by_status/data", R"({"parameters": {"status": "slow"}})");
  EXPECT_EQ(json_of(slow)["rows"], nlohmann::json::parse(R"([["slow","1"]])"));
  // The CSV of what the visual showed, in Athena's format, by its query id.
  auto csv = call("GET", "/v1/queries/" + json_of(slow)["query_id"].get<std::string>() + "/results.csv");
  EXPECT_EQ(csv.body, "\"status\",\"n\"\n\"slow\",\"1\"\n");

  // The same request again is answered from the cache (same query); refresh: true runs it again.
  EXPECT_EQ(json_of(call("POST", "/v1/dashboards/ops/visuals/by_status/data"))["query_id"],
            json_of(all)["query_id"]);
  auto refreshed = call("POST", "/v1/dashboards/ops/visuals/by_status/data", R"({"refresh": true})");
  EXPECT_NE(json_of(refreshed)["query_id"], json_of(all)["query_id"]);
  EXPECT_EQ(json_of(refreshed)["rows"], json_of(all)["rows"]);
  EXPECT_EQ(call("POST", "/v1/dashboards/ops/visuals/by_status/data", R"({"refresh": "yes"})").status, 400);

  auto broken = call("POST", "/v1/dashboards/ops/visuals/broken/data");
  EXPECT_EQ(broken.status, 400);
  EXPECT_THAT(json_of(broken)["error"].get<std::string>(), HasSubstr("\"nope\" not found"));
  EXPECT_EQ(call("POST", "/v1/dashboards/ops/visuals/absent/data").status, 404);
  EXPECT_EQ(call("GET", "/v1/dashboards/absent").status, 404);
  EXPECT_THAT(
      call("POST", "/v1/dashboards/ops/visuals/by_status/data", R"({"parameters": {"status": 3}})").body,
      HasSubstr("parameter \\\"status\\\" (text): expected a string"));
  EXPECT_EQ(call("POST", "/v1/dashboards/ops/visuals/by_status/data", std::string(100, '[')).status, 400);
  EXPECT_EQ(call("POST", "/v1/dashboards/ops/visuals/by_status/data", R"({"parameters": []})").status, 400);
}

TEST_F(DashboardsApi, VersionsMoveWithNewDataAndTheGraphLeadsFromCrawlerToDashboard) {
  add_jobs("a.jsonl", "{\"id\":1,\"status\":\"ok\"}\n");
  const auto before = json_of(call("GET", "/v1/dashboards/ops/versions"))["tables"]["db.jobs"].get<int64_t>();
  std::this_thread::sleep_for(std::chrono::milliseconds(5));
  add_jobs("b.jsonl", "{\"id\":2,\"status\":\"ok\"}\n");
  EXPECT_GT(json_of(call("GET", "/v1/dashboards/ops/versions"))["tables"]["db.jobs"].get<int64_t>(), before);

  const auto graph = json_of(call("GET", "/v1/pipeline"));
  std::set<std::string> ids, edges;
  for (const auto& n : graph["nodes"]) ids.insert(n["id"].get<std::string>());
  for (const auto& e : graph["edges"])
    edges.insert(e["from"].get<std::string>() + ">" + e["to"].get<std::string>());
  EXPECT_TRUE(ids.count("crawler:c") && ids.count("table:db.jobs") && ids.count("dashboard:ops"));
  EXPECT_TRUE(edges.count("crawler:c>table:db.jobs"));
  EXPECT_TRUE(edges.count("table:db.jobs>dashboard:ops"));
}

TEST_F(DashboardsApi, AnAlertThatFiresAndResolvesIsInTheRunHistoryAndReachesItsWebhook) {
  daemon_->start();
  add_jobs("a.jsonl", "{\"id\":1,\"status\":\"failed\"}\n");
  auto hooks = hooks_.wait_for(1);
  ASSERT_GE(hooks.size(), 1u);
  EXPECT_EQ(hooks[0]["alert"], "any-failed");
  EXPECT_EQ(hooks[0]["state"], "firing");
  EXPECT_EQ(hooks[0]["value"], 1.0);
  // New data that makes the condition false resolves it (on_change: the table moved).
  std::this_thread::sleep_for(std::chrono::milliseconds(5));
  add_jobs("a.jsonl", "{\"id\":1,\"status\":\"ok\"}\n");
  hooks = hooks_.wait_for(2);
  ASSERT_GE(hooks.size(), 2u);
  EXPECT_EQ(hooks[1]["state"], "ok");
  EXPECT_EQ(hooks[1]["previous_state"], "firing");
  std::vector<std::string> alert_runs;
  for (const auto& run : daemon_->runtime().recent_runs(50))
    if (run.kind == "alert")
      alert_runs.push_back(run.name + " " + std::string(metastore::to_string(run.status)));
  EXPECT_THAT(alert_runs,
              ::testing::ElementsAre("ops/failed/any-failed succeeded", "ops/failed/any-failed failed"));
  const auto definition = json_of(call("GET", "/v1/dashboards/ops"));
  EXPECT_EQ(definition["sheets"][0]["visuals"][1]["alerts"][0]["state"], "ok");
}

}  // namespace
}  // namespace sluice::daemon
