// End-to-end tests of the sluice binary: validate, trigger, runs, demo, and the daemon's restart and
// signal behaviour, with a loopback FixtureApi standing in for jsonplaceholder.typicode.com.
#include <curl/curl.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <regex>
#include <thread>

#include "common/fs.h"
#include "fixture/fixture_api.h"
#include "tests/common/process.h"
#include "tests/common/temp_dir.h"
#include "tests/daemon/test_pipeline.h"

namespace sluice {
namespace {

using namespace std::chrono_literals;
using ::testing::HasSubstr;
using testing_util::Process;

const std::string kSluice = SLUICE_BINARY;

std::string fixture_db() {
  return fs::read_file(std::string(SLUICE_FIXTURES_DIR) + "/jsonplaceholder/db.json");
}

// POST with an empty body; returns the HTTP status (0 when the connection failed).
long http_post(const std::string& url) {
  CURL* curl = curl_easy_init();
  curl_easy_setopt(curl, CURLOPT_URL, url.c_str());
  curl_easy_setopt(curl, CURLOPT_POSTFIELDS, "");
  curl_easy_setopt(curl, CURLOPT_TIMEOUT, 60L);
  curl_easy_setopt(
      curl, CURLOPT_WRITEFUNCTION, +[](char*, size_t s, size_t n, void*) { return s * n; });
  long status = 0;
  if (curl_easy_perform(curl) == CURLE_OK) curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &status);
  curl_easy_cleanup(curl);
  return status;
}

class Cli : public ::testing::Test {
 protected:
  void SetUp() override {
    api_.start();
    pipeline_ = dir_.path() / "pipeline.yaml";
    write_pipeline("latest");
  }
  void write_pipeline(const std::string& catch_up) {
    fs::write_file_atomic(
        pipeline_, "data_dir: ./data\nserver: {port: 0}\n" + testing_util::pipeline_yaml(base(), catch_up));
  }
  std::string base() const { return "http://127.0.0.1:" + std::to_string(api_.port()); }

  testing_util::Result sluice(std::vector<std::string> args) {
    args.insert(args.begin(), kSluice);
    return testing_util::run(std::move(args), dir_.path());
  }
  nlohmann::json runs_json() {
    auto r = sluice({"runs", "-p", pipeline_.string(), "--format", "json", "--limit", "1000"});
    EXPECT_EQ(r.code, 0) << r.err;
    return nlohmann::json::parse(r.out);
  }
  // Waits until `pred(runs)` holds, up to `limit`.
  template <typename Pred>
  nlohmann::json wait_runs(Pred pred, std::chrono::seconds limit) {
    const auto deadline = std::chrono::steady_clock::now() + limit;
    while (true) {
      nlohmann::json runs = nlohmann::json::array();
      if (std::filesystem::exists(dir_.path() / "data" / "metastore.db")) runs = runs_json();
      if (pred(runs) || std::chrono::steady_clock::now() > deadline) return runs;
      std::this_thread::sleep_for(200ms);
    }
  }
  std::unique_ptr<Process> start_daemon() {
    return std::make_unique<Process>(std::vector<std::string>{kSluice, "run", pipeline_.string()},
                                     dir_.path(), std::vector<std::string>{"SLUICE_LOG=info"});
  }
  // The daemon logs its API address; wait for it and return the port.
  int daemon_port(Process& daemon) {
    const std::regex pattern("HTTP API on http://127\\.0\\.0\\.1:([0-9]+)");
    for (int i = 0; i < 500; ++i) {
      std::smatch m;
      const std::string err = daemon.err();
      if (std::regex_search(err, m, pattern)) return std::stoi(m[1]);
      std::this_thread::sleep_for(10ms);
    }
    ADD_FAILURE() << "daemon did not report its port: " << daemon.err();
    return 0;
  }

  testing_util::TempDir dir_;
  std::filesystem::path pipeline_;
  fixture::FixtureApi api_{fixture_db()};
};

TEST_F(Cli, ValidateAcceptsTheExample) {
  auto r = sluice(
      {"validate", std::string(SLUICE_FIXTURES_DIR) + "/../../examples/jsonplaceholder/pipeline.yaml"});
  EXPECT_EQ(r.code, 0) << r.err;
  EXPECT_THAT(r.out, HasSubstr("ok (1 buckets, 1 schedules, 3 sources)"));
}

TEST_F(Cli, ValidateReportsEveryProblemAndExits1) {
  const auto bad = dir_.path() / "bad.yaml";
  fs::write_file_atomic(bad,
                        "buckets: [raw]\n"
                        "schedules:\n"
                        "  s:\n"
                        "    expression: cron(0 9 * * * *)\n"
                        "    targets: [a]\n"
                        "sources:\n"
                        "  a:\n"
                        "    url: http://127.0.0.1/a\n"
                        "    to: s3://elsewhere/a.json\n"
                        "    retyr: {}\n");
  auto r = sluice({"validate", bad.string()});
  EXPECT_EQ(r.code, 1);
  EXPECT_TRUE(r.out.empty());
  EXPECT_THAT(r.err, HasSubstr(bad.string() + ":4:"));
  EXPECT_THAT(r.err, HasSubstr("schedules.s.expression"));
  EXPECT_THAT(r.err, HasSubstr(bad.string() + ":9:9: sources.a.to: writes to bucket \"elsewhere\""));
  EXPECT_THAT(r.err, HasSubstr(bad.string() +
                               ":10:5: sources.a.retyr: unknown key \"retyr\"; did you mean \"retry\"?"));
}

TEST_F(Cli, MissingPipelineIsOneLine) {
  auto r = sluice({"validate", (dir_.path() / "none.yaml").string()});
  EXPECT_EQ(r.code, 1);
  EXPECT_THAT(r.err, HasSubstr("none.yaml"));
  EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1);
}

TEST_F(Cli, TriggerThenRuns) {
  auto r = sluice({"trigger", "every-minute", "-p", pipeline_.string()});
  EXPECT_EQ(r.code, 0) << r.err;
  EXPECT_THAT(r.out, HasSubstr("users: succeeded, 10 records"));
  EXPECT_THAT(r.out, HasSubstr("posts: succeeded, 100 records"));
  auto runs = runs_json();
  ASSERT_EQ(runs.size(), 2u);
  EXPECT_EQ(runs[0]["status"], "succeeded");
  EXPECT_EQ(runs[1]["records"], 10);
  const std::string object = runs[1]["object"];
  ASSERT_EQ(object.rfind("s3://raw/raw/users/users_", 0), 0u) << object;
  // The object is the response byte for byte.
  const auto path = dir_.path() / "data" / "objects" / "raw" / object.substr(std::string("s3://raw/").size());
  EXPECT_EQ(fs::read_file(path), nlohmann::ordered_json::parse(fixture_db())["users"].dump(2));

  auto table = sluice({"runs", "-p", pipeline_.string()});
  EXPECT_EQ(table.code, 0);
  EXPECT_THAT(table.out, HasSubstr("STATUS"));
  EXPECT_THAT(table.out, HasSubstr("succeeded"));
}

TEST_F(Cli, FailedTriggerExits1WithTheReason) {
  api_.script("/users", {fixture::Fault{.status = 404}});
  auto r = sluice({"trigger", "users", "-p", pipeline_.string()});
  EXPECT_EQ(r.code, 1);
  EXPECT_THAT(r.err, HasSubstr("404"));
  EXPECT_EQ(runs_json()[0]["status"], "failed");
}

TEST_F(Cli, DemoRunsOffline) {
  auto r = sluice({"demo"});
  EXPECT_EQ(r.code, 0) << r.err;
  EXPECT_THAT(r.out, HasSubstr("raw/users/jsonplaceholder_users_"));
  EXPECT_THAT(r.out, HasSubstr("raw/comments/jsonplaceholder_comments_"));
  EXPECT_THAT(r.out, HasSubstr("comments: succeeded, 500 records"));
  EXPECT_THAT(r.out, HasSubstr("\"name\": \"Leanne Graham\""));
  // The processors of the example took what landed.
  EXPECT_THAT(r.out, HasSubstr("users: succeeded, 4 records"));
  EXPECT_THAT(r.out, HasSubstr("processed/users/processed_jsonplaceholder_users_"));
  EXPECT_THAT(r.out, HasSubstr("\"address_geo_lat\":\"-37.3159\""));
  EXPECT_THAT(r.out, HasSubstr("processed/comments/dt="));
}

// SIGTERM while a run is in flight: the daemon stops promptly, the run is 'interrupted', and the next
// start retries it once and it succeeds.
TEST_F(Cli, SigtermInterruptsRunAndRestartRetriesIt) {
  api_.script("/users", {fixture::Fault{.delay = 30s}});
  auto daemon = start_daemon();
  const int port = daemon_port(*daemon);
  std::thread client([&] { http_post("http://127.0.0.1:" + std::to_string(port) + "/v1/trigger/users"); });
  for (int i = 0; i < 500 && api_.request_count("/users") == 0; ++i) std::this_thread::sleep_for(10ms);
  ASSERT_EQ(api_.request_count("/users"), 1);
  daemon->signal(SIGTERM);
  const auto code = daemon->wait(10s);
  client.join();
  ASSERT_TRUE(code.has_value()) << "daemon did not stop";
  EXPECT_EQ(*code, 0) << daemon->err();
  auto runs = runs_json();
  ASSERT_EQ(runs.size(), 1u);
  EXPECT_EQ(runs[0]["status"], "interrupted");

  auto again = start_daemon();
  runs =
      wait_runs([](const nlohmann::json& r) { return r.size() == 2 && r[0]["status"] == "succeeded"; }, 20s);
  again->signal(SIGTERM);
  EXPECT_EQ(again->wait(10s), 0);
  ASSERT_EQ(runs.size(), 2u) << runs.dump();
  EXPECT_EQ(runs[0]["trigger"], "retry");
  EXPECT_EQ(runs[0]["status"], "succeeded");
}

// kill -9 in the middle of a scheduled run, restart: the slot is not fired again, the interrupted
// run is retried once, and exactly one object exists for the slot.
TEST_F(Cli, KillDuringScheduledRunFiresTheSlotOnce) {
  api_.script("/users", {fixture::Fault{.delay = 30s}});
  auto daemon = start_daemon();
  // Wait for the first minute slot (at most ~60 s) and for its users request to be in flight.
  for (int i = 0; i < 7000 && api_.request_count("/users") == 0; ++i) std::this_thread::sleep_for(10ms);
  ASSERT_EQ(api_.request_count("/users"), 1) << daemon->err();
  daemon->signal(SIGKILL);
  daemon->wait(10s);

  auto again = start_daemon();
  auto runs = wait_runs(
      [](const nlohmann::json& r) {
        for (const auto& run : r)
          if (run["trigger"] == "retry" && run["name"] == "users" && run["status"] == "succeeded")
            return true;
        return false;
      },
      20s);
  again->signal(SIGTERM);
  EXPECT_EQ(again->wait(10s), 0);
  // Per slot, exactly one scheduled users run and at most one retry of it.
  std::map<std::string, int> scheduled, retried;
  for (const auto& run : runs) {
    if (run["name"] != "users") continue;
    if (run["trigger"] == "schedule") scheduled[run["slot"]]++;
    if (run["trigger"] == "retry") retried[run["slot"]]++;
  }
  ASSERT_FALSE(scheduled.empty()) << runs.dump(1);
  for (const auto& [slot, n] : scheduled) EXPECT_EQ(n, 1) << slot << "\n" << runs.dump(1);
  for (const auto& [slot, n] : retried) EXPECT_EQ(n, 1) << slot;
  const auto first_slot = scheduled.begin()->first;
  EXPECT_EQ(retried[first_slot], 1) << runs.dump(1);
}

// A users processor that takes seconds (an uncorrelated subquery hashing 20 million numbers) so that
// the daemon can be killed in the middle of it, and a crawler over its output.
constexpr char kSlowProcessing[] = R"(processors:
  users:
    input: {bucket: raw, prefix: raw/users/}
    steps:
      - flatten
      - sql: "SELECT * FROM input WHERE (SELECT count(*) FROM range(0, 20000000) r WHERE md5(r.range::VARCHAR) = 'x') = 0 ORDER BY id"
    output: {key: "processed/users/{name}"}
crawlers:
  lake:
    database: lake
    targets: [s3://raw/processed/]
)";

std::vector<std::filesystem::path> files_under(const std::filesystem::path& dir) {
  std::vector<std::filesystem::path> out;
  if (!std::filesystem::exists(dir)) return out;
  for (const auto& e : std::filesystem::recursive_directory_iterator(dir))
    if (e.is_regular_file()) out.push_back(e.path());
  return out;
}

// kill -9 while a processor runs; restart: the object is processed again and the output equals a
// clean run's, once; the catalog and a query see it once.
TEST_F(Cli, KillDuringProcessingReprocessesToTheSameOutput) {
  // The clean run: `sluice trigger` extracts and processes in one process.
  const auto clean_dir = dir_.path() / "clean";
  std::filesystem::create_directories(clean_dir);
  const auto clean_pipeline = clean_dir / "pipeline.yaml";
  fs::write_file_atomic(clean_pipeline,
                        "data_dir: ./data\nserver: {port: 0}\n" +
                            testing_util::pipeline_yaml(base(), "none", "cron(0 0 1 1 ? 2199)") +
                            kSlowProcessing);
  auto clean = sluice({"trigger", "users", "-p", clean_pipeline.string()});
  ASSERT_EQ(clean.code, 0) << clean.err;
  auto clean_files = files_under(clean_dir / "data/objects/raw/processed/users");
  ASSERT_EQ(clean_files.size(), 1u);
  const std::string expected = fs::read_file(clean_files[0]);
  ASSERT_EQ(std::count(expected.begin(), expected.end(), '\n'), 10);

  fs::write_file_atomic(pipeline_, "data_dir: ./data\nserver: {port: 0}\n" +
                                       testing_util::pipeline_yaml(base(), "none", "cron(0 0 1 1 ? 2199)") +
                                       kSlowProcessing);
  auto daemon = start_daemon();
  const int port = daemon_port(*daemon);
  ASSERT_EQ(http_post("http://127.0.0.1:" + std::to_string(port) + "/v1/trigger/users"), 200);
  auto runs = wait_runs(
      [](const nlohmann::json& r) {
        for (const auto& run : r)
          if (run["kind"] == "process" && run["status"] == "running") return true;
        return false;
      },
      30s);
  daemon->signal(SIGKILL);
  daemon->wait(10s);
  EXPECT_TRUE(files_under(dir_.path() / "data/objects/raw/processed").empty()) << runs.dump(1);

  auto again = start_daemon();
  runs = wait_runs(
      [](const nlohmann::json& r) {
        for (const auto& run : r)
          if (run["kind"] == "crawl" && run["status"] == "succeeded") return true;
        return false;
      },
      60s);
  again->signal(SIGTERM);
  EXPECT_EQ(again->wait(10s), 0) << again->err();
  auto outputs = files_under(dir_.path() / "data/objects/raw/processed/users");
  ASSERT_EQ(outputs.size(), 1u) << runs.dump(1);
  EXPECT_EQ(fs::read_file(outputs[0]), expected);
  int succeeded = 0, retried_as_source = 0;
  for (const auto& run : runs) {
    if (run["kind"] == "process" && run["status"] == "succeeded") ++succeeded;
    if (run["kind"] == "source" && run["trigger"] == "retry") ++retried_as_source;
  }
  EXPECT_EQ(succeeded, 1) << runs.dump(1);
  EXPECT_EQ(retried_as_source, 0) << "a processing run was retried as the source of the same name";

  auto q = sluice({"query", "SELECT count(*) AS n, count(DISTINCT id) AS ids FROM users", "-p",
                   pipeline_.string(), "--format", "csv"});
  EXPECT_EQ(q.code, 0) << q.err;
  EXPECT_EQ(q.out, "\"n\",\"ids\"\n\"10\",\"10\"\n");
}

TEST_F(Cli, QueryAndCatalogCommands) {
  fs::write_file_atomic(
      pipeline_,
      "data_dir: ./data\nserver: {port: 0}\n" + testing_util::pipeline_yaml(base()) +
          "crawlers:\n  lake:\n    database: lake\n    targets: [s3://raw/raw/]\n    on_change: false\n");
  ASSERT_EQ(sluice({"trigger", "users", "-p", pipeline_.string()}).code, 0);
  auto crawl = sluice({"trigger", "lake", "-p", pipeline_.string()});
  ASSERT_EQ(crawl.code, 0) << crawl.err;
  EXPECT_THAT(crawl.out, HasSubstr("run 2 lake: succeeded, 1 records"));

  auto tables = sluice({"catalog", "tables", "lake", "-p", pipeline_.string()});
  EXPECT_EQ(tables.code, 0) << tables.err;
  EXPECT_THAT(tables.out, HasSubstr("users"));
  EXPECT_THAT(tables.out, HasSubstr("s3://raw/raw/users/"));
  auto describe = sluice({"catalog", "describe", "lake.users", "-p", pipeline_.string(), "--format", "json"});
  EXPECT_EQ(describe.code, 0) << describe.err;
  auto table = nlohmann::json::parse(describe.out);
  EXPECT_EQ(table["columns"][0]["name"], "id");
  EXPECT_EQ(table["columns"][0]["type"], "int");
  EXPECT_EQ(table["columns"][4]["type"],
            "struct<street:string,suite:string,city:string,zipcode:string,"
            "geo:struct<lat:string,lng:string>>");
  EXPECT_EQ(table["versions"].size(), 1u);

  auto json = sluice({"query", "SELECT id, address.geo.lat AS lat FROM users WHERE id <= 2 ORDER BY id", "-p",
                      pipeline_.string(), "--format", "json"});
  ASSERT_EQ(json.code, 0) << json.err;
  auto result = nlohmann::json::parse(json.out);
  EXPECT_EQ(result["rows"], nlohmann::json::parse(R"([["1", "-37.3159"], ["2", "-43.9509"]])"));
  EXPECT_EQ(result["output"], "s3://raw/athena/results/" + result["query_id"].get<std::string>() + ".csv");

  auto bad = sluice({"query", "SELECT * FROM read_csv('/etc/passwd')", "-p", pipeline_.string()});
  EXPECT_EQ(bad.code, 1);
  EXPECT_THAT(bad.err, HasSubstr("Permission Error"));
  EXPECT_EQ(std::count(bad.err.begin(), bad.err.end(), '\n'), 1);
  auto syntax = sluice({"query", "SELECT FROM WHERE", "-p", pipeline_.string()});
  EXPECT_EQ(syntax.code, 1);
  EXPECT_THAT(syntax.err, HasSubstr("Parser Error"));
  auto history = sluice({"queries", "-p", pipeline_.string(), "--format", "json"});
  auto queries = nlohmann::json::parse(history.out);
  ASSERT_EQ(queries.size(), 3u);
  EXPECT_EQ(queries[0]["state"], "FAILED");
  EXPECT_EQ(queries[2]["state"], "SUCCEEDED");
}

}  // namespace
}  // namespace sluice
