// The daemon's HTTP API as the README's table describes it, pinned through the real binary before the
// API moves behind a router (issue 9): health, runs, trigger, stream descriptions, every `from=` of
// the records endpoint, retention while the daemon runs, back-pressure, the `database` of a query,
// and the bearer token on every endpoint and method (and in `sluice put` and `sluice tail`).
#include <atomic>
#include <set>

#include "tests/cli/pinning_fixture.h"

namespace sluice {
namespace {

using namespace std::chrono_literals;
using namespace cli_testing;
using ::testing::HasSubstr;

class HttpSurface : public Pinning {
 protected:
  // Starts the daemon on `yaml`; returns its port.
  int start(const std::string& yaml, std::vector<std::string> env = {}) {
    write_yaml(yaml);
    daemon_ = start_daemon_with(std::move(env));
    return daemon_port(*daemon_);
  }
  void TearDown() override {
    if (!daemon_) return;
    daemon_->signal(SIGTERM);
    EXPECT_EQ(daemon_->wait(10s), 0) << daemon_->err();
  }
  std::unique_ptr<Process> daemon_;
};

nlohmann::json parse(const HttpResult& r) { return nlohmann::json::parse(r.body); }

// Every record of one shard from trim_horizon, page by page (a page holds at most 10 MB).
std::vector<nlohmann::json> read_shard(int port, const std::string& stream, const std::string& shard) {
  std::vector<nlohmann::json> out;
  std::string from = "trim_horizon";
  while (true) {
    auto page = get_json(
        url(port, "/v1/streams/" + stream + "/records?shard=" + shard + "&from=" + from + "&limit=1000"));
    for (const auto& r : page["records"]) out.push_back(r);
    if (page["records"].empty() || page["behind_latest"] == 0) return out;
    from = page["next"];
  }
}

// ---- health, runs, trigger ----------------------------------------------------------------------

TEST_F(HttpSurface, HealthRunsAndTriggerAnswerAsDocumented) {
  const int port = start(quiet_pipeline(base()));
  auto health = http_request("GET", url(port, "/v1/health"));
  EXPECT_EQ(health.status, 200);
  EXPECT_EQ(parse(health), nlohmann::json::parse(R"({"status": "ok"})"));
  EXPECT_THAT(health.headers, HasSubstr("application/json"));

  auto fired = http_request("POST", url(port, "/v1/trigger/every-minute"));
  ASSERT_EQ(fired.status, 200) << fired.body;
  const auto runs = parse(fired)["runs"];
  ASSERT_EQ(runs.size(), 2u);
  EXPECT_EQ(runs[0]["status"], "succeeded");
  EXPECT_EQ(runs[0]["records"], 10);
  EXPECT_EQ(runs[1]["records"], 100);

  // Newest first, the fields of `sluice runs --format json`.
  auto history = get_json(url(port, "/v1/runs"));
  ASSERT_EQ(history.size(), 2u);
  EXPECT_EQ(history[0]["name"], "posts");
  EXPECT_EQ(history[0]["kind"], "source");
  EXPECT_EQ(history[0]["trigger"], "manual");
  EXPECT_EQ(history[1]["name"], "users");
  auto cli = sluice({"runs", "-p", pipeline_.string(), "--format", "json", "--limit", "1"});
  ASSERT_EQ(cli.code, 0) << cli.err;
  EXPECT_EQ(get_json(url(port, "/v1/runs?limit=1")), nlohmann::json::parse(cli.out));
  EXPECT_EQ(http_request("GET", url(port, "/v1/runs?limit=0")).status, 400);
  EXPECT_EQ(http_request("GET", url(port, "/v1/runs?limit=ten")).status, 400);

  auto unknown = http_request("POST", url(port, "/v1/trigger/nope"));
  EXPECT_EQ(unknown.status, 404);
  EXPECT_THAT(parse(unknown)["error"].get<std::string>(), HasSubstr("\"nope\""));

  api_.script("/users", {fixture::Fault{.status = 404}});
  auto failed = http_request("POST", url(port, "/v1/trigger/users"));
  EXPECT_EQ(failed.status, 502);
  ASSERT_EQ(parse(failed)["runs"].size(), 1u);
  EXPECT_EQ(parse(failed)["runs"][0]["status"], "failed");
  EXPECT_THAT(parse(failed)["runs"][0]["error"].get<std::string>(), HasSubstr("404"));

  EXPECT_EQ(http_request("GET", url(port, "/v1/trigger/users")).status, 405);
  EXPECT_EQ(http_request("POST", url(port, "/v1/health")).status, 405);
  EXPECT_EQ(http_request("GET", url(port, "/v1/nothing-here")).status, 404);
}

// ---- streams ------------------------------------------------------------------------------------

constexpr char kStreams[] = R"(streams:
  one: {shards: 1, min_free_disk: 0}
  two: {shards: 2, min_free_disk: 0}
)";

TEST_F(HttpSurface, AStreamDescriptionSplitsTheHashKeyRangeEvenlyAsKinesis) {
  const int port = start(quiet_pipeline(base(), kStreams));
  auto empty = get_json(url(port, "/v1/streams/two"));
  EXPECT_EQ(empty["stream"], "two");
  ASSERT_EQ(empty["shards"].size(), 2u);
  const auto& first = empty["shards"][0];
  const auto& second = empty["shards"][1];
  EXPECT_EQ(first["shard_id"], "shardId-000000000000");
  EXPECT_EQ(second["shard_id"], "shardId-000000000001");
  // 2^128 hash keys in two halves.
  EXPECT_EQ(first["starting_hash_key"], "0");
  EXPECT_EQ(first["ending_hash_key"], "170141183460469231731687303715884105727");
  EXPECT_EQ(second["starting_hash_key"], "170141183460469231731687303715884105728");
  EXPECT_EQ(second["ending_hash_key"], "340282366920938463463374607431768211455");
  EXPECT_TRUE(first["first_sequence_number"].is_null());
  EXPECT_TRUE(first["last_sequence_number"].is_null());
  EXPECT_EQ(first["bytes"], 0);

  // "a" hashes into the first half, "b" into the second (their MD5s start 0c..., 92...).
  std::map<std::string, std::string> sequence;
  for (const std::string key : {"a", "b"}) {
    auto put = http_request("POST", url(port, "/v1/streams/two/records"), "{\"k\": \"" + key + "\"}",
                            {"X-Partition-Key: " + key});
    ASSERT_EQ(put.status, 200) << put.body;
    const auto record = parse(put)["records"][0];
    EXPECT_EQ(record["shard_id"], key == "a" ? "shardId-000000000000" : "shardId-000000000001");
    sequence[key] = record["sequence_number"];
  }
  auto described = get_json(url(port, "/v1/streams/two"));
  EXPECT_EQ(described["shards"][0]["first_sequence_number"], sequence["a"]);
  EXPECT_EQ(described["shards"][0]["last_sequence_number"], sequence["a"]);
  EXPECT_EQ(described["shards"][1]["last_sequence_number"], sequence["b"]);
  EXPECT_GT(described["shards"][1]["bytes"].get<uint64_t>(), 0u);
  EXPECT_GE(described["shards"][1]["segments"].get<uint64_t>(), 1u);

  EXPECT_EQ(http_request("GET", url(port, "/v1/streams/nope")).status, 404);
  EXPECT_EQ(http_request("POST", url(port, "/v1/streams/nope/records"), "{}").status, 404);
  EXPECT_EQ(http_request("GET", url(port, "/v1/streams/nope/records")).status, 404);
  EXPECT_EQ(http_request("POST", url(port, "/v1/streams/two"), "{}").status, 405);
}

TEST_F(HttpSurface, RecordsAreReadFromEveryDocumentedStartingPosition) {
  const int port = start(quiet_pipeline(base(), kStreams));
  const std::string records = url(port, "/v1/streams/one/records");
  std::vector<std::string> seq;
  for (const std::string batch : {"{\"n\": 1}\n{\"n\": 2}\n{\"n\": 3}\n", "{\"n\": 4}\n{\"n\": 5}\n"}) {
    auto put = http_request("POST", records, batch);
    ASSERT_EQ(put.status, 200) << put.body;
    EXPECT_EQ(parse(put)["failed_record_count"], 0);
    const auto answer = parse(put);
    for (const auto& r : answer["records"]) seq.push_back(r["sequence_number"]);
    std::this_thread::sleep_for(50ms);  // the second batch arrives at a later millisecond
  }
  ASSERT_EQ(seq.size(), 5u);
  auto data = [](const nlohmann::json& page) {
    std::string out;
    for (const auto& r : page["records"]) out += r["data"].get<std::string>();
    return out;
  };

  // trim_horizon is the default; a 1-shard stream needs no ?shard=.
  auto all = get_json(records);
  EXPECT_EQ(data(all), "{\"n\":1}{\"n\":2}{\"n\":3}{\"n\":4}{\"n\":5}");
  EXPECT_EQ(all["next"], "after:" + seq[4]);
  EXPECT_EQ(all["behind_latest"], 0);
  EXPECT_EQ(all["records"][0]["sequence_number"], seq[0]);
  EXPECT_TRUE(all["records"][0]["partition_key"].is_string());
  EXPECT_TRUE(parse_iso8601_utc(all["records"][0]["arrival"].get<std::string>()).has_value());
  EXPECT_EQ(get_json(records + "?from=trim_horizon"), all);
  EXPECT_EQ(data(get_json(records + "?from=latest")), "");
  EXPECT_EQ(data(get_json(records + "?from=" + seq[1])), "{\"n\":2}{\"n\":3}{\"n\":4}{\"n\":5}");
  EXPECT_EQ(data(get_json(records + "?from=at:" + seq[1])), "{\"n\":2}{\"n\":3}{\"n\":4}{\"n\":5}");
  EXPECT_EQ(data(get_json(records + "?from=after:" + seq[1])), "{\"n\":3}{\"n\":4}{\"n\":5}");
  const std::string second_batch = all["records"][3]["arrival"];
  ASSERT_LT(all["records"][2]["arrival"].get<std::string>(), second_batch);
  EXPECT_EQ(data(get_json(records + "?from=" + second_batch)), "{\"n\":4}{\"n\":5}");

  // limit pages; next continues; behind_latest counts what is left.
  auto page = get_json(records + "?limit=2");
  EXPECT_EQ(data(page), "{\"n\":1}{\"n\":2}");
  EXPECT_EQ(page["next"], "after:" + seq[1]);
  EXPECT_GT(page["behind_latest"].get<uint64_t>(), 0u);
  EXPECT_EQ(data(get_json(records + "?limit=2&from=" + page["next"].get<std::string>())),
            "{\"n\":3}{\"n\":4}");

  auto bad = http_request("GET", records + "?from=yesterday");
  EXPECT_EQ(bad.status, 400);
  EXPECT_THAT(parse(bad)["error"].get<std::string>(), HasSubstr("\"yesterday\""));
  auto no_shard = http_request("GET", url(port, "/v1/streams/two/records"));
  EXPECT_EQ(no_shard.status, 400);
  EXPECT_THAT(parse(no_shard)["error"].get<std::string>(), HasSubstr("?shard="));

  // A named consumer without `from` resumes after its checkpoint.
  auto saved =
      http_request("POST", url(port, "/v1/streams/one/checkpoints/app"),
                   nlohmann::json{{"shard_id", "shardId-000000000000"}, {"sequence_number", seq[2]}}.dump());
  EXPECT_EQ(saved.status, 200) << saved.body;
  auto checkpoints = get_json(url(port, "/v1/streams/one/checkpoints/app"));
  EXPECT_EQ(checkpoints["checkpoints"]["shardId-000000000000"], seq[2]);
  EXPECT_EQ(data(get_json(records + "?consumer=app")), "{\"n\":4}{\"n\":5}");
}

TEST_F(HttpSurface, RetentionDeletesOldSegmentsWhileTheDaemonRunsAndTheirPositionsAnswer410) {
  const int port = start(quiet_pipeline(base(), R"(streams:
  aging: {shards: 1, retention: 3s, segment_bytes: 1KiB, min_free_disk: 0}
)"));
  const std::string records = url(port, "/v1/streams/aging/records");
  std::string first;
  for (int batch = 0; batch < 4; ++batch) {
    std::string body;
    for (int i = 0; i < 10; ++i)
      body += "{\"n\": " + std::to_string(batch * 10 + i) + ", \"pad\": \"" + std::string(100, 'p') + "\"}\n";
    auto put = http_request("POST", records, body);
    ASSERT_EQ(put.status, 200) << put.body;
    if (first.empty()) first = parse(put)["records"][0]["sequence_number"];
  }
  const auto before = get_json(url(port, "/v1/streams/aging"))["shards"][0];
  ASSERT_GT(before["segments"].get<uint64_t>(), 2u) << before.dump();
  ASSERT_EQ(before["first_sequence_number"], first);

  // Nothing is put any more: only the daemon's own loop can delete the old segments.
  nlohmann::json after;
  for (int i = 0; i < 300; ++i) {
    after = get_json(url(port, "/v1/streams/aging"))["shards"][0];
    if (after["first_sequence_number"] != first) break;
    std::this_thread::sleep_for(100ms);
  }
  EXPECT_NE(after["first_sequence_number"], first) << "retention did not run: " << after.dump();
  EXPECT_LT(after["segments"].get<uint64_t>(), before["segments"].get<uint64_t>());
  EXPECT_EQ(after["last_sequence_number"], before["last_sequence_number"]);  // the active segment stays

  auto gone = http_request("GET", records + "?from=at:" + first);
  EXPECT_EQ(gone.status, 410) << gone.body;
  EXPECT_THAT(parse(gone)["error"].get<std::string>(), HasSubstr("trimmed"));
  auto kept = get_json(records);
  const auto later = get_json(url(port, "/v1/streams/aging"))["shards"][0];
  ASSERT_FALSE(kept["records"].empty());
  // Reading from trim_horizon starts at the oldest record retained at that moment: the loop may trim
  // another aged segment between the two descriptions, never a record outside them.
  const auto as_number = [](const nlohmann::json& sequence) {
    const std::string text = sequence.get<std::string>();
    return std::make_pair(text.size(), text);
  };
  EXPECT_GE(as_number(kept["records"][0]["sequence_number"]), as_number(after["first_sequence_number"]));
  EXPECT_LE(as_number(kept["records"][0]["sequence_number"]), as_number(later["first_sequence_number"]));
}

TEST_F(HttpSurface, BackPressureIsA503WithRetryAfterAndTheRefusedBatchLeavesNoTrace) {
  const int port = start(quiet_pipeline(base(), R"(streams:
  busy: {shards: 1, max_pending_bytes: 1MiB, min_free_disk: 0}
)"));
  const std::string records = url(port, "/v1/streams/busy/records");
  // Batches of about 1.2 MB: while one is written and synced, the next is over 1 MiB pending.
  std::atomic<int> next_batch{0};
  std::atomic<bool> throttled{false};
  std::mutex mutex;
  std::set<int> acknowledged;
  HttpResult refused;
  std::vector<std::thread> producers;
  const auto deadline = std::chrono::steady_clock::now() + 30s;
  for (int t = 0; t < 6; ++t) {
    producers.emplace_back([&] {
      while (!throttled.load() && std::chrono::steady_clock::now() < deadline) {
        const int batch = next_batch++;
        std::string body;
        for (int i = 0; i < 2; ++i)
          body +=
              "{\"batch\": " + std::to_string(batch) + ", \"pad\": \"" + std::string(600'000, 'x') + "\"}\n";
        auto r = http_request("POST", records, body);
        std::lock_guard lock(mutex);
        if (r.status == 200) acknowledged.insert(batch);
        if (r.status == 503 && !throttled.exchange(true)) refused = r;
        if (r.status != 200 && r.status != 503) ADD_FAILURE() << r.status << " " << r.body.substr(0, 300);
      }
    });
  }
  for (auto& p : producers) p.join();
  ASSERT_TRUE(throttled.load()) << "no 503 in 30 s of concurrent 1.2 MB batches";
  EXPECT_THAT(refused.headers, ::testing::ContainsRegex("Retry-After: 1\r\n"));
  EXPECT_THAT(parse(refused)["error"].get<std::string>(), HasSubstr("retry later"));

  // Exactly the acknowledged batches are in the stream, each whole.
  std::map<int, int> stored;
  for (const auto& r : read_shard(port, "busy", "shardId-000000000000"))
    ++stored[std::stoi(r["data"].get<std::string>().substr(std::string("{\"batch\":").size()))];
  EXPECT_EQ(stored.size(), acknowledged.size());
  for (int batch : acknowledged) EXPECT_EQ(stored[batch], 2) << batch;
}

// ---- queries: the database ----------------------------------------------------------------------

constexpr char kTwoDatabases[] = R"(  people-a:
    url: BASE/users
    to: s3://raw/a/people/users.json
  people-b:
    url: BASE/posts
    to: s3://raw/b/people/posts.json
crawlers:
  alpha:
    database: alpha
    targets: [s3://raw/a/]
    on_change: false
  beta:
    database: beta
    targets: [s3://raw/b/]
    on_change: false
)";

TEST_F(HttpSurface, AQueryRunsInTheDatabaseItNamesOrElseInTheDefault) {
  write_yaml(with_sources(base(), kTwoDatabases));
  for (const std::string name : {"people-a", "people-b", "alpha", "beta"}) {
    auto r = sluice({"trigger", name, "-p", pipeline_.string()});
    ASSERT_EQ(r.code, 0) << name << ": " << r.err;
  }
  const std::string sql = "SELECT count(*) AS n FROM people";
  // The command line: the default database is the first crawler's; --database overrides it.
  auto cli_default = sluice({"query", sql, "-p", pipeline_.string(), "--format", "csv"});
  EXPECT_EQ(cli_default.code, 0) << cli_default.err;
  EXPECT_EQ(cli_default.out, "\"n\"\n\"10\"\n");
  auto cli_beta = sluice({"query", sql, "-p", pipeline_.string(), "--database", "beta", "--format", "json"});
  EXPECT_EQ(cli_beta.code, 0) << cli_beta.err;
  EXPECT_EQ(nlohmann::json::parse(cli_beta.out)["rows"], nlohmann::json::parse(R"([["100"]])"));
  EXPECT_EQ(nlohmann::json::parse(cli_beta.out)["database"], "beta");

  // The API: "database" in the body.
  const int port = start(fs::read_file(pipeline_));
  auto by_default = http_request("POST", url(port, "/v1/query"), nlohmann::json{{"sql", sql}}.dump());
  ASSERT_EQ(by_default.status, 200) << by_default.body;
  EXPECT_EQ(parse(by_default)["database"], "alpha");
  EXPECT_EQ(parse(by_default)["rows"], nlohmann::json::parse(R"([["10"]])"));
  auto in_beta =
      http_request("POST", url(port, "/v1/query"), nlohmann::json{{"sql", sql}, {"database", "beta"}}.dump());
  ASSERT_EQ(in_beta.status, 200) << in_beta.body;
  EXPECT_EQ(parse(in_beta)["database"], "beta");
  EXPECT_EQ(parse(in_beta)["rows"], nlohmann::json::parse(R"([["100"]])"));
  EXPECT_EQ(parse(in_beta)["columns"], nlohmann::json::parse(R"([{"name": "n", "type": "BIGINT"}])"));

  // max_rows bounds the rows answered, not the rows counted.
  auto bounded =
      http_request("POST", url(port, "/v1/query"),
                   nlohmann::json{{"sql", "SELECT id FROM people ORDER BY id"}, {"max_rows", 3}}.dump());
  ASSERT_EQ(bounded.status, 200) << bounded.body;
  EXPECT_EQ(parse(bounded)["rows"], nlohmann::json::parse(R"([["1"], ["2"], ["3"]])"));
  EXPECT_EQ(parse(bounded)["row_count"], 10);
  EXPECT_EQ(parse(bounded)["truncated"], true);
  EXPECT_EQ(http_request("POST", url(port, "/v1/query"), R"({"sql": "SELECT 1", "max_rows": 10001})").status,
            400);
  // A database that is not a name is refused, not silently replaced by the default.
  auto not_a_name = http_request("POST", url(port, "/v1/query"), R"({"sql": "SELECT 1", "database": 5})");
  EXPECT_EQ(not_a_name.status, 400);
  EXPECT_THAT(not_a_name.body, HasSubstr("database must be a string"));
}

// ---- the bearer token ---------------------------------------------------------------------------

constexpr char kToken[] = "pinned-token-0123456789";

constexpr char kGuarded[] = R"(streams:
  one: {shards: 1, min_free_disk: 0}
processors:
  flat:
    input: {bucket: raw, prefix: raw/users/}
    steps: [flatten]
    output: {key: "processed/users/{name}.jsonl"}
crawlers:
  lake:
    database: lake
    targets: [s3://raw/processed/]
)";

std::string guarded_pipeline(const std::string& base_url, const std::string& port) {
  std::string yaml = quiet_pipeline(base_url, kGuarded);
  yaml.replace(yaml.find("server: {port: 0}"), 17,
               "server: {port: " + port + ", auth: {token_env: PIN_TOKEN}}");
  return yaml;
}

TEST_F(HttpSurface, TheBearerTokenGuardsEveryEndpointAndMethodButGetHealth) {
  const int port = start(guarded_pipeline(base(), "0"), {std::string("PIN_TOKEN=") + kToken});
  const std::vector<std::string> auth = {std::string("Authorization: Bearer ") + kToken};
  // What the endpoints need, made with the token.
  ASSERT_EQ(http_request("POST", url(port, "/v1/trigger/users"), "", auth).status, 200);
  nlohmann::json databases;
  for (int i = 0; i < 100 && databases.empty(); ++i) {
    databases = get_json(url(port, "/v1/catalog/databases"), auth);
    if (databases.empty()) std::this_thread::sleep_for(100ms);
  }
  ASSERT_EQ(databases, nlohmann::json::parse(R"(["lake"])"));
  auto query = http_request("POST", url(port, "/v1/query"), R"({"sql": "SELECT 1"})", auth);
  ASSERT_EQ(query.status, 200) << query.body;
  const std::string id = parse(query)["query_id"];
  auto record = http_request("POST", url(port, "/v1/streams/one/records"), "{\"a\": 1}", auth);
  ASSERT_EQ(record.status, 200) << record.body;
  const std::string checkpoint =
      nlohmann::json{{"shard_id", "shardId-000000000000"},
                     {"sequence_number", parse(record)["records"][0]["sequence_number"]}}
          .dump();

  struct Call {
    std::string method, path, body;
    long with_token;  // the answer with the right token
  };
  // Every endpoint of the README's table, each method, and paths that match none.
  const std::vector<Call> calls = {
      {"GET", "/v1/runs", "", 200},
      {"GET", "/v1/runs?limit=1", "", 200},
      {"POST", "/v1/trigger/posts", "", 200},
      {"POST", "/v1/query", R"({"sql": "SELECT 2"})", 200},
      {"GET", "/v1/queries", "", 200},
      {"GET", "/v1/queries/" + id, "", 200},
      {"DELETE", "/v1/queries/" + id, "", 409},
      {"GET", "/v1/queries/" + id + "/results", "", 200},
      {"GET", "/v1/queries/" + id + "/results.csv", "", 200},
      {"GET", "/v1/processors/flat/quarantine", "", 200},
      {"POST", "/v1/processors/flat/reprocess", "", 200},
      {"POST", "/v1/streams/one/records", "{\"a\": 2}", 200},
      {"GET", "/v1/streams/one", "", 200},
      {"GET", "/v1/streams/one/records", "", 200},
      {"POST", "/v1/streams/one/checkpoints/app", checkpoint, 200},
      {"GET", "/v1/streams/one/checkpoints/app", "", 200},
      {"GET", "/v1/catalog/databases", "", 200},
      {"GET", "/v1/catalog/databases/lake/tables", "", 200},
      {"GET", "/v1/catalog/databases/lake/tables/users", "", 200},
      {"POST", "/v1/health", "", 405},
      {"DELETE", "/v1/health", "", 405},
      {"GET", "/v1/nothing-here", "", 404},
  };
  const auto runs_before = get_json(url(port, "/v1/runs?limit=100"), auth).size();
  const auto queries_before = get_json(url(port, "/v1/queries?limit=100"), auth).size();
  for (const auto& call : calls) {
    SCOPED_TRACE(call.method + " " + call.path);
    for (const std::vector<std::string>& wrong :
         std::vector<std::vector<std::string>>{{},
                                               {"Authorization: Bearer wrong-token-0123456789"},
                                               {std::string("Authorization: Bearer ") + kToken + "x"},
                                               {std::string("Authorization: Basic ") + kToken},
                                               {std::string("Authorization: ") + kToken}}) {
      auto refused = http_request(call.method, url(port, call.path), call.body, wrong);
      EXPECT_EQ(refused.status, 401) << (wrong.empty() ? "no header" : wrong[0]) << ": " << refused.body;
      EXPECT_THAT(refused.headers, ::testing::ContainsRegex("WWW-Authenticate: Bearer"));
    }
  }
  // Refused requests did nothing: no run, no query, no record, no request to the source.
  EXPECT_EQ(api_.request_count("/posts"), 0);
  EXPECT_EQ(get_json(url(port, "/v1/runs?limit=100"), auth).size(), runs_before);
  EXPECT_EQ(get_json(url(port, "/v1/queries?limit=100"), auth).size(), queries_before);
  EXPECT_EQ(get_json(url(port, "/v1/streams/one/records"), auth)["records"].size(), 1u);
  EXPECT_EQ(parse(http_request("GET", url(port, "/v1/queries/" + id), "", auth))["state"], "SUCCEEDED");

  for (const auto& call : calls) {
    auto allowed = http_request(call.method, url(port, call.path), call.body, auth);
    EXPECT_EQ(allowed.status, call.with_token) << call.method << " " << call.path << ": " << allowed.body;
  }
  // Only GET /v1/health needs no token.
  auto health = http_request("GET", url(port, "/v1/health"));
  EXPECT_EQ(health.status, 200);
  EXPECT_EQ(parse(health)["status"], "ok");
}

TEST_F(HttpSurface, PutAndTailSendTheTokenOfThePipelineOrOfSluiceToken) {
  const std::string port = std::to_string(free_port());
  const int listening = start(guarded_pipeline(base(), port), {std::string("PIN_TOKEN=") + kToken});
  ASSERT_EQ(std::to_string(listening), port);
  const std::string token_env = std::string("PIN_TOKEN=") + kToken;

  // With -p: the daemon's address and the variable server.auth.token_env names come from the file.
  auto put_with = put("{\"n\": 1}\n", {"one", "-p", pipeline_.string()}, {token_env});
  EXPECT_EQ(put_with.code, 0) << put_with.err;
  auto put_without = put("{\"n\": 2}\n", {"one", "-p", pipeline_.string()});
  EXPECT_EQ(put_without.code, 1);
  EXPECT_THAT(put_without.err, HasSubstr("HTTP 401"));
  auto tail_with = sluice_in(dir_.path(), {"tail", "one", "-p", pipeline_.string()}, {token_env});
  EXPECT_EQ(tail_with.code, 0) << tail_with.err;
  EXPECT_EQ(tail_with.out, "{\"n\":1}\n");
  auto tail_without = sluice_in(dir_.path(), {"tail", "one", "-p", pipeline_.string()});
  EXPECT_EQ(tail_without.code, 1);
  EXPECT_THAT(tail_without.err, HasSubstr("HTTP 401"));

  // With --url alone (no pipeline file where it runs): SLUICE_TOKEN.
  const auto elsewhere = dir_.path() / "elsewhere";
  std::filesystem::create_directories(elsewhere);
  const std::string target = url(listening, "");
  const std::string sluice_token = std::string("SLUICE_TOKEN=") + kToken;
  const auto input = dir_.path() / "three.ndjson";
  fs::write_file_atomic(input, "{\"n\": 3}\n");
  auto url_put = sluice_in(elsewhere, {"put", "one", "--url", target}, {sluice_token}, input);
  EXPECT_EQ(url_put.code, 0) << url_put.err;
  auto url_tail = sluice_in(elsewhere, {"tail", "one", "--url", target}, {sluice_token});
  EXPECT_EQ(url_tail.code, 0) << url_tail.err;
  EXPECT_EQ(url_tail.out, "{\"n\":1}\n{\"n\":3}\n");
  auto url_tail_without = sluice_in(elsewhere, {"tail", "one", "--url", target});
  EXPECT_EQ(url_tail_without.code, 1);
  EXPECT_THAT(url_tail_without.err, HasSubstr("HTTP 401"));
}

}  // namespace
}  // namespace sluice
