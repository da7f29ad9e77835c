#include "daemon/runtime.h"

#include <date/date.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <set>
#include <sstream>
#include <thread>

#include "catalog/catalog.h"
#include "common/fs.h"
#include "daemon/api.h"
#include "daemon/scheduler.h"
#include "metastore/event_queue.h"
#include "metastore/metastore.h"
#include "metastore/run_log.h"
#include "storage/object_store.h"
#include "stream/local_stream.h"
#include "stream/stream.h"
#include "tests/common/http.h"
#include "tests/common/small_filesystem.h"
#include "tests/common/temp_dir.h"
#include "tests/daemon/test_pipeline.h"

namespace sluice::daemon {
namespace {

using namespace std::chrono_literals;
using ::testing::HasSubstr;

std::string fixture_db() {
  return fs::read_file(std::string(SLUICE_FIXTURES_DIR) + "/jsonplaceholder/db.json");
}

class DaemonRuntime : public ::testing::Test {
 protected:
  void SetUp() override { api_.start(); }

  config::Pipeline pipeline(const std::string& catch_up = "latest") {
    auto p = config::parse_pipeline(testing_util::pipeline_yaml(base(), catch_up), dir_.path() / "p.yaml");
    p.data_dir = dir_.path() / "data";
    return p;
  }
  std::string base() const { return "http://127.0.0.1:" + std::to_string(api_.port()); }

  static TimePoint at(int hour, int minute, int second) {
    return date::sys_days{date::year{2026} / 11 / 24} + std::chrono::hours(hour) +
           std::chrono::minutes(minute) + std::chrono::seconds(second);
  }

  std::vector<storage::ObjectInfo> objects(Runtime& rt, const std::string& prefix) {
    storage::ListRequest request;
    request.prefix = prefix;
    return rt.objects().list("raw", request).objects;
  }

  testing_util::TempDir dir_;
  fixture::FixtureApi api_{fixture_db()};
};

TEST_F(DaemonRuntime, ManualTriggerWritesOneObjectPerSourceAndRecordsRuns) {
  Runtime rt(pipeline());
  auto runs = rt.trigger("every-minute");
  ASSERT_EQ(runs.size(), 2u);
  for (const auto& r : runs) EXPECT_EQ(r.status, metastore::RunStatus::kSucceeded) << r.error;
  EXPECT_EQ(runs[0].records, 10u);
  EXPECT_EQ(runs[1].records, 100u);
  EXPECT_THAT(runs[0].object, HasSubstr("s3://raw/raw/users/users_"));
  EXPECT_EQ(objects(rt, "raw/users/").size(), 1u);
  auto history = rt.recent_runs(10);
  ASSERT_EQ(history.size(), 2u);
  EXPECT_EQ(history[0].trigger, "manual");
}

TEST_F(DaemonRuntime, UnknownNameIsAClearError) {
  Runtime rt(pipeline());
  try {
    rt.trigger("nope");
    FAIL();
  } catch (const Error& e) {
    EXPECT_THAT(std::string(e.what()), HasSubstr("no schedule, source or crawler named \"nope\""));
  }
}

TEST_F(DaemonRuntime, SlotFiresExactlyOnceAcrossRestart) {
  {
    Runtime rt(pipeline());
    SchedulerLoop loop(rt);
    // First start ever: nothing is due, the next slot is the next minute.
    auto next = loop.tick(at(10, 0, 30));
    ASSERT_TRUE(next.has_value());
    EXPECT_EQ(*next, at(10, 1, 0));
    EXPECT_TRUE(rt.recent_runs(10).empty());
    // The slot comes due: both targets run once.
    loop.tick(at(10, 1, 1));
    EXPECT_EQ(rt.recent_runs(10).size(), 2u);
    loop.tick(at(10, 1, 2));  // same slot again in the same process: nothing
    EXPECT_EQ(rt.recent_runs(10).size(), 2u);
  }
  {
    // A restart within the same minute: the 10:01 slot is not fired again.
    Runtime rt(pipeline());
    SchedulerLoop loop(rt);
    loop.tick(at(10, 1, 40));
    EXPECT_EQ(rt.recent_runs(10).size(), 2u);
    loop.tick(at(10, 2, 0));
    auto runs = rt.recent_runs(10);
    ASSERT_EQ(runs.size(), 4u);
    ASSERT_TRUE(runs[0].slot.has_value());
    EXPECT_EQ(*runs[0].slot, at(10, 2, 0));
  }
  EXPECT_EQ(api_.request_count("/users"), 2);
}

TEST_F(DaemonRuntime, CatchUpPolicies) {
  for (std::string policy : {"none", "latest", "all"}) {
    SCOPED_TRACE(policy);
    testing_util::TempDir data;
    auto p = pipeline(policy);
    p.data_dir = data.path();
    {
      Runtime rt(p);
      SchedulerLoop loop(rt);
      loop.tick(at(9, 0, 30));
      loop.tick(at(9, 1, 0));  // fires 09:01
    }
    Runtime rt(p);
    SchedulerLoop loop(rt);
    loop.tick(at(9, 4, 30));  // 09:02, 09:03, 09:04 were missed
    auto runs = rt.recent_runs(100);
    size_t expected_slots = policy == "none" ? 1 : policy == "latest" ? 2 : 4;
    EXPECT_EQ(runs.size(), 2 * expected_slots);
    if (policy == "latest") {
      EXPECT_EQ(*runs[0].slot, at(9, 4, 0));
    }
  }
}

TEST_F(DaemonRuntime, CancelledRunIsInterruptedThenRetriedOnceWithTheSameKey) {
  // The first /users request hangs long enough for the cancel to land mid-transfer.
  api_.script("/users", {fixture::Fault{.delay = 20s}});
  const TimePoint slot = at(10, 0, 0);
  {
    Runtime rt(pipeline());
    std::thread stopper([&] {
      std::this_thread::sleep_for(300ms);
      rt.cancel();
    });
    const auto started = std::chrono::steady_clock::now();
    auto runs = rt.fire_schedule(*rt.pipeline().find_schedule("every-minute"), slot, "schedule");
    stopper.join();
    EXPECT_LT(std::chrono::steady_clock::now() - started, 10s);  // not the 20 s of the fault
    ASSERT_EQ(runs.size(), 1u);                                  // posts never started
    EXPECT_EQ(runs[0].status, metastore::RunStatus::kInterrupted);
    auto history = rt.recent_runs(10);
    ASSERT_EQ(history.size(), 2u);
    for (const auto& r : history) EXPECT_EQ(metastore::to_string(r.status), "interrupted");
    EXPECT_TRUE(objects(rt, "raw/").empty());  // nothing half-written
  }
  {
    Runtime rt(pipeline());
    auto retried = rt.retry_interrupted();
    ASSERT_EQ(retried.size(), 2u);
    for (const auto& r : retried) EXPECT_EQ(r.status, metastore::RunStatus::kSucceeded) << r.error;
    EXPECT_THAT(retried[0].object, HasSubstr("2026-11-24T10-00-00"));  // the slot's time, not now
    EXPECT_TRUE(rt.retry_interrupted().empty());                       // once only
  }
  {
    Runtime rt(pipeline());
    EXPECT_TRUE(rt.retry_interrupted().empty());  // still once only after another restart
    EXPECT_EQ(objects(rt, "raw/users/").size(), 1u);
  }
}

TEST_F(DaemonRuntime, FailedRunRecordsTheErrorAndWritesNothing) {
  api_.script("/users", {fixture::Fault{.status = 404}});
  Runtime rt(pipeline());
  auto runs = rt.trigger("users");
  ASSERT_EQ(runs.size(), 1u);
  EXPECT_EQ(runs[0].status, metastore::RunStatus::kFailed);
  EXPECT_THAT(runs[0].error, HasSubstr("404"));
  EXPECT_TRUE(objects(rt, "raw/users/").empty());
  EXPECT_THAT(rt.recent_runs(1).at(0).error, HasSubstr("404"));
}

}  // namespace
}  // namespace sluice::daemon

namespace sluice::daemon {
namespace {

const char* kProcessors = R"(
processors:
  users:
    input: {bucket: raw, prefix: raw/users/, suffix: .json}
    steps: [flatten, {filter: "id < 5"}]
    output: {key: "processed/users/processed_{name}"}
)";

class DaemonProcessing : public DaemonRuntime {
 protected:
  config::Pipeline with_processors() {
    auto p =
        config::parse_pipeline(testing_util::pipeline_yaml(base()) + kProcessors, dir_.path() / "p.yaml");
    p.data_dir = dir_.path() / "data";
    return p;
  }
};

TEST_F(DaemonProcessing, ProcessesWhatLandsAndQuarantinesBadInput) {
  Runtime rt(with_processors());
  rt.trigger("every-minute");  // users and posts land; only users has a processor
  auto processed = rt.process_pending();
  ASSERT_EQ(processed.size(), 1u);
  EXPECT_EQ(processed[0].status, metastore::RunStatus::kSucceeded) << processed[0].error;
  EXPECT_EQ(processed[0].records, 4u);
  EXPECT_THAT(processed[0].object, HasSubstr("s3://raw/processed/users/processed_users_"));
  EXPECT_TRUE(rt.process_pending().empty());  // each event once

  rt.objects().put("raw", "raw/users/broken.json", "[{\"id\": 1}, {\"id\": ");
  rt.objects().put("raw", "raw/users/good.json", "[{\"id\": 2, \"address\": {\"city\": \"x\"}}]");
  auto next = rt.process_pending();
  ASSERT_EQ(next.size(), 2u);
  EXPECT_EQ(next[0].status, metastore::RunStatus::kFailed);
  EXPECT_THAT(next[0].error, HasSubstr("s3://raw/raw/users/broken.json"));
  EXPECT_EQ(next[1].status, metastore::RunStatus::kSucceeded);  // the bad one did not stop the good one
  EXPECT_EQ(rt.objects().get("raw", "errors/users/raw/users/broken.json"), "[{\"id\": 1}, {\"id\": ");
  auto reason =
      nlohmann::json::parse(rt.objects().get("raw", "errors/users/raw/users/broken.json.error.json"));
  EXPECT_EQ(reason["input"], "s3://raw/raw/users/broken.json");
  EXPECT_THAT(reason["error"].get<std::string>(), HasSubstr("process users"));
  EXPECT_EQ(rt.objects().get("raw", "processed/users/processed_good.json"),
            "{\"id\":2,\"address_city\":\"x\"}\n");
  auto history = rt.recent_runs(2);
  EXPECT_EQ(history[1].kind, "process");
  EXPECT_EQ(metastore::to_string(history[1].status), "failed");
}

TEST_F(DaemonProcessing, TheSystemsFailuresAreRetriedLaterAndNeverQuarantineGoodInput) {
  testing_util::SmallFilesystem scratch(1 << 20);
  if (!scratch.available()) GTEST_SKIP() << scratch.reason();
  auto p = config::parse_pipeline(testing_util::pipeline_yaml(base()) + R"(
processors:
  users:
    input: {bucket: raw, prefix: raw/users/}
    steps: [flatten]
    output: {key: "processed/users/{basename}.parquet", format: parquet}
)",
                                  dir_.path() / "p.yaml");
  p.data_dir = dir_.path() / "data";
  std::filesystem::create_directories(p.data_dir);
  std::filesystem::create_directory_symlink(scratch.path(), p.data_dir / "tmp");  // processing's scratch
  Runtime rt(p);
  std::string users = "[";
  for (int i = 0; i < 2000; ++i) users += (i ? "," : "") + std::string("{\"id\": ") + std::to_string(i) + "}";
  rt.objects().put("raw", "raw/users/many.json", users + "]");

  scratch.fill(0);
  auto failed = rt.process_pending();
  ASSERT_EQ(failed.size(), 1u);
  EXPECT_EQ(failed[0].status, metastore::RunStatus::kFailed);
  EXPECT_THAT(failed[0].error, HasSubstr("will be retried in 1 s"));
  EXPECT_THAT(failed[0].error, HasSubstr("No space left on device"));
  EXPECT_FALSE(rt.objects().head("raw", "errors/users/raw/users/many.json")) << "good input was quarantined";
  EXPECT_TRUE(rt.quarantined("users").empty());
  EXPECT_TRUE(rt.process_pending().empty()) << "retried before its back-off";

  scratch.release();
  std::this_thread::sleep_for(1100ms);
  auto retried = rt.process_pending();
  ASSERT_EQ(retried.size(), 1u);
  EXPECT_EQ(retried[0].status, metastore::RunStatus::kSucceeded) << retried[0].error;
  EXPECT_EQ(retried[0].records, 2000u);
  EXPECT_TRUE(rt.objects().head("raw", "processed/users/many.parquet"));
}

TEST_F(DaemonRuntime, ASourceRunTheDiskFailedIsRetriedWithTheSameSlot) {
  testing_util::SmallFilesystem scratch(1 << 20);
  if (!scratch.available()) GTEST_SKIP() << scratch.reason();
  auto p = pipeline();
  std::filesystem::create_directories(p.data_dir);
  std::filesystem::create_directory_symlink(scratch.path(), p.data_dir / "tmp");  // the extract's scratch
  Runtime rt(p);
  scratch.fill(0);
  const auto slot = at(10, 0, 0);
  auto run = rt.run_source("posts", "schedule", slot, "every-minute");
  EXPECT_EQ(run.status, metastore::RunStatus::kInterrupted);
  EXPECT_THAT(run.error, HasSubstr("will be retried"));
  EXPECT_TRUE(rt.has_pending_retries());
  EXPECT_TRUE(objects(rt, "raw/posts/").empty());

  scratch.release();
  auto retried = rt.retry_interrupted();
  ASSERT_EQ(retried.size(), 1u);
  EXPECT_EQ(retried[0].status, metastore::RunStatus::kSucceeded) << retried[0].error;
  EXPECT_THAT(retried[0].object, HasSubstr("posts_2026-11-24T10-00-00"));  // the slot's key
  EXPECT_FALSE(rt.has_pending_retries());
}

TEST_F(DaemonProcessing, ACrashMidProcessingReprocessesToTheSameOutput) {
  std::string clean, key, raw_key, raw_body;
  {
    Runtime rt(with_processors());
    auto extracted = rt.trigger("users");
    raw_key = extracted.at(0).object.substr(std::string("s3://raw/").size());
    raw_body = rt.objects().get("raw", raw_key);
    auto runs = rt.process_pending();
    ASSERT_EQ(runs.size(), 1u);
    key = runs[0].object.substr(std::string("s3://raw/").size());
    clean = rt.objects().get("raw", key);
    rt.objects().remove("raw", key);
  }
  {
    // The same raw object lands again; a processor claims its event and dies before acking.
    Runtime rt(with_processors());
    rt.objects().put("raw", raw_key, raw_body);
    metastore::Metastore db(rt.pipeline().data_dir / "metastore.db");
    metastore::EventQueue events(db);
    auto claimed = events.claim("process:users", 10, std::chrono::minutes(5));
    ASSERT_EQ(claimed.size(), 1u);
  }
  Runtime rt(with_processors());
  EXPECT_TRUE(rt.process_pending().empty());  // still leased by the dead processor
  rt.release_claims();                        // what the daemon does at start
  auto runs = rt.process_pending();
  ASSERT_EQ(runs.size(), 1u);
  EXPECT_EQ(rt.objects().get("raw", key), clean);
  storage::ListRequest request;
  request.prefix = "processed/";
  EXPECT_EQ(rt.objects().list("raw", request).objects.size(), 1u);
}

// The original batch pipeline with its Glue crawler and Athena: users flattened and filtered, posts
// written into one Hive partition per raw file, a crawler over processed/ that runs on every change.
constexpr char kCatalogPipeline[] = R"(processors:
  users:
    input: {bucket: raw, prefix: raw/users/, suffix: .json}
    steps:
      - flatten: {separator: "_"}
      - filter: "id < 5"
    output: {key: "processed/users/processed_{name}", format: jsonl}
  posts:
    input: {bucket: raw, prefix: raw/posts/, suffix: .json}
    steps:
      - select: [userId, id, title]
    output: {key: "processed/posts/src={basename}/part.parquet", format: parquet}
crawlers:
  lake:
    database: my_glue_database
    targets: [s3://raw/processed/]
query:
  database: my_glue_database
  output_location: s3://raw/athena/results/
)";

class DaemonCatalog : public DaemonRuntime {
 protected:
  config::Pipeline with_catalog() {
    auto p = config::parse_pipeline(testing_util::pipeline_yaml(base()) + kCatalogPipeline,
                                    dir_.path() / "p.yaml");
    p.data_dir = dir_.path() / "data";
    return p;
  }
};

TEST_F(DaemonCatalog, OriginalBatchPipelineEndToEnd) {
  Runtime rt(with_catalog());
  ASSERT_EQ(rt.trigger("users").at(0).status, metastore::RunStatus::kSucceeded);
  auto runs = rt.process_pending();  // process, then the on_change crawl
  ASSERT_EQ(runs.size(), 2u);
  EXPECT_EQ(runs[1].name, "lake");
  EXPECT_EQ(runs[1].status, metastore::RunStatus::kSucceeded) << runs[1].error;

  auto result = rt.query("SELECT * FROM my_glue_database.users ORDER BY id");
  EXPECT_THAT(result.columns, ::testing::ElementsAre("id", "name", "username", "email", "address_street",
                                                     "address_suite", "address_city", "address_zipcode",
                                                     "address_geo_lat", "address_geo_lng", "phone", "website",
                                                     "company_name", "company_catchphrase", "company_bs"));
  ASSERT_EQ(result.rows.size(), 4u);
  for (size_t i = 0; i < 4; ++i) EXPECT_EQ(*result.rows[i][0], std::to_string(i + 1));
  EXPECT_EQ(*result.rows[0][13], "Multi-layered client-server neural-net");

  // The saved result is Athena's CSV: a header row and every field in double quotes.
  const std::string csv = rt.objects().get("raw", "athena/results/" + result.query_id + ".csv");
  std::istringstream lines(csv);
  std::vector<std::string> rows;
  for (std::string line; std::getline(lines, line);) rows.push_back(line);
  ASSERT_EQ(rows.size(), 5u);
  EXPECT_THAT(rows[0], ::testing::StartsWith("\"id\",\"name\",\"username\",\"email\",\"address_street\","));
  EXPECT_THAT(rows[1], ::testing::StartsWith("\"1\",\"Leanne Graham\",\"Bret\",\"Sincere@april.biz\","));
  EXPECT_EQ(std::count(rows[1].begin(), rows[1].end(), '"'), 30);
  auto history = rt.query_history(1);
  ASSERT_EQ(history.size(), 1u);
  EXPECT_EQ(history[0].id, result.query_id);
  EXPECT_EQ(history[0].state, "SUCCEEDED");
  EXPECT_EQ(history[0].rows, 4u);
}

TEST_F(DaemonCatalog, PartitionsAddedByProcessingAreQueryableWithoutAFullCrawl) {
  Runtime rt(with_catalog());
  auto posts = nlohmann::json::parse(fixture_db())["posts"];
  auto slice = [&](size_t from, size_t to) {
    nlohmann::json out = nlohmann::json::array();
    for (size_t i = from; i < to; ++i) out.push_back(posts[i]);
    return out.dump();
  };
  rt.objects().put("raw", "raw/posts/a.json", slice(0, 30));
  rt.objects().put("raw", "raw/posts/b.json", slice(30, 100));
  rt.process_pending();
  auto a = rt.query("SELECT count(*), min(id), max(id) FROM posts WHERE src = 'a'");
  EXPECT_EQ(*a.rows[0][0], "30");
  EXPECT_EQ(a.bytes_scanned, rt.objects().head("raw", "processed/posts/src=a/part.parquet")->size);
  auto all = rt.query("SELECT count(*) FROM posts");
  EXPECT_EQ(*all.rows[0][0], "100");
  EXPECT_GT(all.bytes_scanned, a.bytes_scanned);

  // A new raw object: processed into a new partition, catalogued incrementally, queryable at once.
  rt.objects().put("raw", "raw/posts/c.json", slice(0, 5));
  rt.process_pending();
  auto c = rt.query("SELECT count(*) FROM posts WHERE src = 'c'");
  EXPECT_EQ(*c.rows[0][0], "5");
  EXPECT_EQ(rt.catalog().partitions("my_glue_database", "posts").size(), 3u);
  for (const auto& run : rt.recent_runs(100))
    if (run.kind == "crawl") {
      EXPECT_EQ(run.trigger, "event");  // never a full crawl
    }
}

TEST_F(DaemonCatalog, TriggeringACrawlerCataloguesWhatIsThereAndQueriesStayReadOnly) {
  Runtime rt(with_catalog());
  rt.objects().put("raw", "processed/manual/x.json", "{\"a\": 1}\n");
  auto runs = rt.trigger("lake");
  ASSERT_EQ(runs.size(), 1u);
  EXPECT_EQ(runs[0].status, metastore::RunStatus::kSucceeded) << runs[0].error;
  EXPECT_EQ(runs[0].records, 1u);
  EXPECT_TRUE(rt.catalog().table("my_glue_database", "manual").has_value());
  EXPECT_EQ(*rt.query("SELECT a FROM manual").rows[0][0], "1");
  try {
    rt.query("DROP TABLE manual");
    FAIL();
  } catch (const query::QueryFailed& e) {
    EXPECT_THAT(std::string(e.what()), HasSubstr("only SELECT"));
  }
}

// The near-real-time path: random users posted to a stream, delivered by a Firehose-like delivery
// into raw/random_users/, flattened by a processor, catalogued and queried.
constexpr char kStreaming[] = R"(streams:
  GETrandomUserAPI: {shards: 2}
deliveries:
  random-users:
    stream: GETrandomUserAPI
    to: s3://raw/raw/random_users/
    buffer: {size: 1MiB, interval: 1s}
processors:
  random-users:
    input: {bucket: raw, prefix: raw/random_users/}
    steps:
      - flatten
    output: {key: "processed/random_users/{name}.jsonl"}
crawlers:
  lake:
    database: my_glue_database
    targets: [s3://raw/processed/]
)";

// POSTs `body`; returns {status, body}.
std::pair<long, std::string> post(const std::string& url, const std::string& body,
                                  const std::vector<std::string>& headers = {}) {
  auto r = testing_util::http_request("POST", url, body, headers);
  return {r.status, r.body};
}

class DaemonStreaming : public DaemonRuntime {
 protected:
  config::Pipeline streaming() {
    auto p = config::parse_pipeline("server: {port: 0}\n" + testing_util::pipeline_yaml(base()) + kStreaming,
                                    dir_.path() / "p.yaml");
    p.data_dir = dir_.path() / "data";
    return p;
  }
  uint64_t stream_records(Runtime& rt) {
    uint64_t n = 0;
    for (const auto& shard : rt.stream("GETrandomUserAPI").describe().shards)
      if (shard.last_sequence_number)
        n += stream::parse_sequence_number(*shard.last_sequence_number)->offset + 1;
    return n;
  }
};

TEST_F(DaemonStreaming, PostedRecordsAreDeliveredProcessedAndQueryable) {
  Runtime rt(streaming());
  Api api(rt);
  const std::string url =
      "http://127.0.0.1:" + std::to_string(api.port()) + "/v1/streams/GETrandomUserAPI/records";
  auto users = nlohmann::json::parse(fixture_db())["users"];
  std::string ndjson;
  for (const auto& u : users) ndjson += u.dump() + "\n";
  auto [status, body] = post(url + "?partition_key_field=username", ndjson);
  ASSERT_EQ(status, 200) << body;
  auto reply = nlohmann::json::parse(body);
  ASSERT_EQ(reply["records"].size(), 10u);
  EXPECT_EQ(reply["failed_record_count"], 0);
  std::set<std::string> shards;
  for (const auto& r : reply["records"]) shards.insert(r["shard_id"].get<std::string>());
  EXPECT_EQ(shards.size(), 2u);  // usernames spread over both shards

  EXPECT_EQ(rt.deliver(now_ms(), false), 0u);  // the 1 s buffer interval has not passed
  EXPECT_EQ(rt.deliver(now_ms() + std::chrono::seconds(2), false), 10u);
  rt.process_pending();
  auto result = rt.query("SELECT id, address_geo_lat FROM random_users ORDER BY id");
  ASSERT_EQ(result.rows.size(), 10u);
  EXPECT_EQ(*result.rows[0][1], "-37.3159");
  storage::ListRequest request;
  request.prefix = "raw/random_users/";
  auto delivered = rt.objects().list("raw", request).objects;
  ASSERT_EQ(delivered.size(), 2u);  // one object per shard
  EXPECT_THAT(delivered[0].key,
              ::testing::MatchesRegex(
                  "raw/random_users/[0-9]{4}/[0-9]{2}/[0-9]{2}/[0-9]{2}/random-users-1-.*-shardId-.*"));
}

TEST_F(DaemonStreaming, IngestLimitsAndMalformedBodiesWriteNothing) {
  Runtime rt(streaming());
  Api api(rt);
  const std::string url =
      "http://127.0.0.1:" + std::to_string(api.port()) + "/v1/streams/GETrandomUserAPI/records";
  auto expect = [&](const std::string& body, long code, const std::string& why,
                    const std::string& query = "") {
    auto [status, reply] = post(url + query, body);
    EXPECT_EQ(status, code) << reply;
    EXPECT_THAT(reply, HasSubstr(why));
  };
  expect("{\"a\": 1}\n{\"a\": ", 400, "record 1 (byte");
  expect("[{\"a\": 1}, {\"a\": ]", 400, "not valid JSON");
  expect("", 400, "empty");
  std::string many;
  for (int i = 0; i < 501; ++i) many += "{\"i\": " + std::to_string(i) + "}\n";
  expect(many, 413, "more than 500 records");
  expect("{\"big\": \"" + std::string((1 << 20) + 10, 'x') + "\"}", 413, "record 0 is");
  std::string large;
  for (int i = 0; i < 6; ++i) large += "{\"big\": \"" + std::string(1000 * 1000, 'x') + "\"}\n";
  expect(large, 413, "at most 5 MiB");
  expect("{\"a\": 1}\n{\"b\": 2}\n", 400, "record 1 has no partition key field", "?partition_key_field=a");
  auto [status, reply] =
      post("http://127.0.0.1:" + std::to_string(api.port()) + "/v1/streams/nope/records", "{}");
  EXPECT_EQ(status, 404);
  EXPECT_EQ(stream_records(rt), 0u);  // nothing of any refused request was written

  auto [ok, body] = post(url, "[{\"a\": 1}, {\"a\": 2}]", {"X-Partition-Key: same"});
  ASSERT_EQ(ok, 200) << body;
  auto records = nlohmann::json::parse(body)["records"];
  EXPECT_EQ(records[0]["shard_id"], records[1]["shard_id"]);  // one key, one shard
  EXPECT_LT(records[0]["sequence_number"].get<std::string>(),
            records[1]["sequence_number"].get<std::string>());
  EXPECT_EQ(stream_records(rt), 2u);
}

TEST_F(DaemonStreaming, CredentialsAreRequiredBeyondLoopbackAndChecked) {
  auto p = streaming();
  p.server.host = "0.0.0.0";
  auto refused = [&](const config::Pipeline& pipeline) {
    Runtime rt(pipeline);
    try {
      Api api(rt);
    } catch (const Error& e) {
      return std::string(e.what());
    }
    return std::string("listened");
  };
  EXPECT_THAT(refused(p),
              HasSubstr("not a loopback address: sluice listens elsewhere only with credentials"));
  p.server.token_env = "SLUICE_TEST_TOKEN";
  ::setenv("SLUICE_TEST_TOKEN", "short", 1);
  EXPECT_THAT(refused(p), HasSubstr("at least 16 characters"));

  const std::string token = "0123456789abcdef-not-a-real-secret";
  ::setenv("SLUICE_TEST_TOKEN", token.c_str(), 1);
  // The AWS APIs on the same port need keys beyond loopback too.
  EXPECT_THAT(refused(p), HasSubstr("the AWS APIs answer elsewhere only with keys"));
  ::setenv("SLUICE_TEST_AWS_SECRET", "aws-secret-for-the-test", 1);
  p.server.aws.credentials = {{"AKIDTEST", "SLUICE_TEST_AWS_SECRET"}};
  Runtime rt(p);
  Api api(rt);  // on every interface; the test's own traffic stays on loopback
  const std::string base_url = "http://127.0.0.1:" + std::to_string(api.port());
  const std::string records = base_url + "/v1/streams/GETrandomUserAPI/records";
  EXPECT_EQ(post(records, "{\"a\": 1}").first, 401);
  EXPECT_EQ(post(records, "{\"a\": 1}", {"Authorization: Bearer " + token + "x"}).first, 401);
  EXPECT_EQ(post(records, "{\"a\": 1}", {"Authorization: Bearer 0123456789abcdef-not-a-real-secreT"}).first,
            401);
  EXPECT_EQ(post(base_url + "/v1/query", R"({"sql": "SELECT 1"})").first, 401);
  EXPECT_EQ(post(records, "{\"a\": 1}", {"Authorization: Bearer " + token}).first, 200);
  EXPECT_EQ(stream_records(rt), 1u);  // only the authenticated request wrote
  ::unsetenv("SLUICE_TEST_TOKEN");
}

// GET with the answer's status and body.
std::pair<long, std::string> get(const std::string& url) {
  auto r = testing_util::http_request("GET", url);
  return {r.status, r.body};
}

TEST_F(DaemonCatalog, QueriesAndTheCatalogThroughTheHttpApi) {
  auto p = config::parse_pipeline(
      "server: {port: 0}\n" + testing_util::pipeline_yaml(base()) + kCatalogPipeline, dir_.path() / "p.yaml");
  p.data_dir = dir_.path() / "data";
  Runtime rt(p);
  rt.trigger("users");
  rt.process_pending();
  Api api(rt);
  const std::string base_url = "http://127.0.0.1:" + std::to_string(api.port());

  auto [status, body] =
      post(base_url + "/v1/query", R"({"sql": "SELECT id, company_catchphrase FROM users ORDER BY id"})");
  ASSERT_EQ(status, 200) << body;
  auto result = nlohmann::json::parse(body);
  EXPECT_EQ(result["columns"][1]["name"], "company_catchphrase");
  EXPECT_EQ(result["row_count"], 4);
  EXPECT_EQ(result["rows"][0], nlohmann::json::parse(R"(["1", "Multi-layered client-server neural-net"])"));
  EXPECT_EQ(rt.objects()
                .get("raw", "athena/results/" + result["query_id"].get<std::string>() + ".csv")
                .substr(0, 27),
            "\"id\",\"company_catchphrase\"\n");

  auto [refused, why] = post(base_url + "/v1/query", R"J({"sql": "SELECT * FROM read_csv('/etc/passwd')"})J");
  EXPECT_EQ(refused, 400);
  EXPECT_THAT(why, HasSubstr("Permission Error"));
  EXPECT_EQ(post(base_url + "/v1/query", "not json").first, 400);
  EXPECT_EQ(post(base_url + "/v1/query", R"({"query": "SELECT 1"})").first, 400);

  auto [history_status, history] = get(base_url + "/v1/queries?limit=5");
  ASSERT_EQ(history_status, 200);
  auto queries = nlohmann::json::parse(history);
  ASSERT_EQ(queries.size(), 2u);
  EXPECT_EQ(queries[0]["state"], "FAILED");
  EXPECT_EQ(queries[1]["state"], "SUCCEEDED");
  EXPECT_EQ(get(base_url + "/v1/queries?limit=0").first, 400);

  EXPECT_EQ(nlohmann::json::parse(get(base_url + "/v1/catalog/databases").second),
            nlohmann::json::parse(R"(["my_glue_database"])"));
  auto tables = nlohmann::json::parse(get(base_url + "/v1/catalog/databases/my_glue_database/tables").second);
  ASSERT_EQ(tables.size(), 1u);
  EXPECT_EQ(tables[0]["name"], "users");
  EXPECT_EQ(tables[0]["location"], "s3://raw/processed/users/");
  auto table =
      nlohmann::json::parse(get(base_url + "/v1/catalog/databases/my_glue_database/tables/users").second);
  EXPECT_EQ(table["columns"].size(), 15u);
  EXPECT_EQ(table["versions"][0]["version"], 1);
  EXPECT_EQ(get(base_url + "/v1/catalog/databases/nope/tables").first, 404);
  EXPECT_EQ(get(base_url + "/v1/catalog/databases/my_glue_database/tables/nope").first, 404);
}

}  // namespace
}  // namespace sluice::daemon
