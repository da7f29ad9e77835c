// End-to-end tests of the sluice binary: validate, trigger, runs, demo, and the daemon's restart and
// signal behaviour, with a loopback FixtureApi standing in for jsonplaceholder.typicode.com.
#include <curl/curl.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <atomic>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <regex>
#include <set>
#include <sstream>
#include <thread>

#include "common/fs.h"
#include "fixture/fixture_api.h"
#include "tests/cli/cli_fixture.h"
#include "tests/common/process.h"
#include "tests/common/temp_dir.h"
#include "tests/daemon/test_pipeline.h"

namespace sluice {
namespace {

using namespace std::chrono_literals;
using namespace cli_testing;
using ::testing::HasSubstr;
using testing_util::Process;

TEST_F(Cli, ValidateAcceptsTheExample) {
  auto r = sluice(
      {"validate", std::string(SLUICE_FIXTURES_DIR) + "/../../examples/jsonplaceholder/pipeline.yaml"});
  EXPECT_EQ(r.code, 0) << r.err;
  EXPECT_THAT(
      r.out,
      HasSubstr("ok (1 buckets, 2 schedules, 4 sources, 4 processors, 1 crawlers, 1 streams, 1 deliveries, 1 dashboards)"));
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
  // The catalog and Athena-style queries.
  EXPECT_THAT(r.out, HasSubstr("1   Leanne Graham     Sincere@april.biz"));
  EXPECT_THAT(r.out, HasSubstr("(4 rows, 1827 bytes scanned; saved as s3://sluice-demo/athena/results/"));
  // The near-real-time path: random users through the stream and the delivery into a table.
  EXPECT_THAT(r.out,
              HasSubstr("random-users: succeeded, 5 records, 4423 bytes -> stream://GETrandomUserAPI"));
  EXPECT_THAT(r.out, HasSubstr("delivered 5 records from the stream"));
  EXPECT_THAT(r.out, HasSubstr("Mateo       Martin"));
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

// Streaming through the real daemon: a stream of two shards and a delivery flushing every poll.
constexpr char kStreaming[] = R"(streams:
  events: {shards: 2}
deliveries:
  to-lake:
    stream: events
    to: s3://raw/delivered/
    buffer: {size: 1MiB, interval: 0s}
)";

TEST_F(Cli, PutAndTailThroughTheDaemon) {
  fs::write_file_atomic(pipeline_, "data_dir: ./data\nserver: {port: 0}\n" +
                                       testing_util::pipeline_yaml(base(), "none", "cron(0 0 1 1 ? 2199)") +
                                       kStreaming);
  auto daemon = start_daemon();
  const std::string url = "http://127.0.0.1:" + std::to_string(daemon_port(*daemon));
  const auto input = dir_.path() / "records.ndjson";
  std::string ndjson;
  for (int i = 0; i < 1200; ++i) ndjson += "{\"id\": " + std::to_string(i) + "}\n";
  fs::write_file_atomic(input, ndjson);
  // `sluice put` reads stdin: run it through a shell redirect.
  auto put = testing_util::run(
      {"/bin/sh", "-c", kSluice + " put events --url " + url + " < " + input.string()}, dir_.path());
  EXPECT_EQ(put.code, 0) << put.err;
  EXPECT_THAT(put.err, HasSubstr("put 1200 records into events"));
  auto tail = sluice({"tail", "events", "--url", url});
  EXPECT_EQ(tail.code, 0) << tail.err;
  std::multiset<int> ids;
  std::istringstream lines(tail.out);
  for (std::string line; std::getline(lines, line);) ids.insert(nlohmann::json::parse(line)["id"].get<int>());
  EXPECT_EQ(ids.size(), 1200u);
  for (int i = 0; i < 1200; ++i) EXPECT_EQ(ids.count(i), 1u) << i;
  auto latest = sluice({"tail", "events", "--url", url, "--from", "latest"});
  EXPECT_EQ(latest.code, 0);
  EXPECT_EQ(latest.out, "");
  // A named consumer resumes after what it printed.
  auto first = sluice({"tail", "events", "--url", url, "--consumer", "app"});
  EXPECT_EQ(std::count(first.out.begin(), first.out.end(), '\n'), 1200);
  auto again = sluice({"tail", "events", "--url", url, "--consumer", "app"});
  EXPECT_EQ(again.code, 0) << again.err;
  EXPECT_EQ(again.out, "");
  fs::write_file_atomic(input, "{\"id\": 5000}\n");
  ASSERT_EQ(testing_util::run(
                {"/bin/sh", "-c", kSluice + " put events --url " + url + " < " + input.string()}, dir_.path())
                .code,
            0);
  EXPECT_EQ(sluice({"tail", "events", "--url", url, "--consumer", "app"}).out, "{\"id\":5000}\n");
  auto stopped = sluice({"tail", "events", "--url", "http://127.0.0.1:1"});
  EXPECT_EQ(stopped.code, 1);
  EXPECT_THAT(stopped.err, HasSubstr("cannot reach the sluice daemon at http://127.0.0.1:1"));
  EXPECT_EQ(std::count(stopped.err.begin(), stopped.err.end(), '\n'), 1);
  auto bad = sluice({"tail", "nope", "--url", url});
  EXPECT_EQ(bad.code, 1);
  EXPECT_THAT(bad.err, HasSubstr("HTTP 404: no stream named \"nope\""));
  daemon->signal(SIGTERM);
  EXPECT_EQ(daemon->wait(10s), 0);
}

// kill -9 during sustained ingest and delivery, three times: every acknowledged record appears
// exactly once across the delivered objects, and in order within each shard.
TEST_F(Cli, KillDuringIngestAndDeliveryLosesAndDuplicatesNothing) {
  fs::write_file_atomic(pipeline_, "data_dir: ./data\nserver: {port: 0}\n" +
                                       testing_util::pipeline_yaml(base(), "none", "cron(0 0 1 1 ? 2199)") +
                                       kStreaming);
  std::set<int> acknowledged;
  int next_id = 0;
  for (int round = 0; round < 3; ++round) {
    auto daemon = start_daemon();
    const std::string url =
        "http://127.0.0.1:" + std::to_string(daemon_port(*daemon)) + "/v1/streams/events/records";
    std::atomic<bool> stop{false};
    std::thread producer([&] {
      while (!stop.load()) {
        std::string body;
        std::vector<int> ids;
        for (int i = 0; i < 50; ++i) {
          ids.push_back(next_id++);
          body +=
              "{\"id\": " + std::to_string(ids.back()) + ", \"pad\": \"" + std::string(150, 'x') + "\"}\n";
        }
        if (http_post(url, body, 10) != 200) break;  // the daemon died: these are not acknowledged
        acknowledged.insert(ids.begin(), ids.end());
      }
    });
    std::this_thread::sleep_for(std::chrono::milliseconds(700 + 300 * round));
    daemon->signal(SIGKILL);
    daemon->wait(10s);
    stop = true;
    producer.join();
  }
  // A last, clean run delivers what is left.
  auto daemon = start_daemon();
  daemon_port(*daemon);
  std::this_thread::sleep_for(2s);
  daemon->signal(SIGTERM);
  ASSERT_EQ(daemon->wait(20s), 0) << daemon->err();
  ASSERT_GT(acknowledged.size(), 500u);

  std::map<int, int> seen;                            // id -> times delivered
  std::map<std::string, std::vector<int>> per_shard;  // shard -> ids in object-name order
  std::map<std::string, std::string> objects;         // name -> body, in name order within a shard
  for (const auto& f :
       std::filesystem::recursive_directory_iterator(dir_.path() / "data/objects/raw/delivered")) {
    if (!f.is_regular_file() || f.path().filename().string().rfind(".sluice-tmp", 0) == 0) continue;
    objects[f.path().filename().string()] = fs::read_file(f.path());
  }
  ASSERT_FALSE(objects.empty());
  for (const auto& [name, body] : objects) {
    const auto at = name.find("-shardId-");
    ASSERT_NE(at, std::string::npos) << name;
    const std::string shard = name.substr(at + 1, 20);
    std::istringstream lines(body);
    for (std::string line; std::getline(lines, line);) {
      const int id = nlohmann::json::parse(line)["id"].get<int>();
      ++seen[id];
      per_shard[shard].push_back(id);
    }
  }
  for (const auto& [id, n] : seen) EXPECT_EQ(n, 1) << "record " << id << " delivered " << n << " times";
  for (int id : acknowledged)
    EXPECT_EQ(seen.count(id), 1u) << "acknowledged record " << id << " was not delivered";
  // Object names sort by first sequence number within a shard (equal-width numbers), so the ids of a
  // shard, read object by object, must increase: the producer sent them in increasing order.
  for (const auto& [shard, ids] : per_shard) EXPECT_TRUE(std::is_sorted(ids.begin(), ids.end())) << shard;
}

}  // namespace
}  // namespace sluice
