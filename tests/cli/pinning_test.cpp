// What the README promises of the sluice binary, pinned before the daemon is reshaped (issue 9):
// every sub-command's --help, the pipeline-file default, SIGINT, the owner lock, the catalog
// commands, put's partition keys, tail -f and --from, sources' credentials and response cap, the
// processors' confinement, and schedules that target crawlers (in the file, the daemon and trigger).
#include <openssl/evp.h>

#include <set>

#include "metastore/metastore.h"
#include "metastore/run_log.h"
#include "metastore/schedule_state.h"
#include "tests/cli/pinning_fixture.h"

namespace sluice {
namespace {

using namespace std::chrono_literals;
using namespace cli_testing;
using ::testing::HasSubstr;
using testing_util::Process;

std::string users_body() { return nlohmann::ordered_json::parse(fixture_db())["users"].dump(2); }

size_t count_lines(const std::string& text) { return std::count(text.begin(), text.end(), '\n'); }

// ---- --help and the pipeline-file default -----------------------------------------------------

TEST_F(Pinning, EverySubcommandPrintsItsHelpWithItsOptions) {
  const std::map<std::string, std::vector<std::string>> options = {
      {"validate", {"PIPELINE"}},
      {"run", {"PIPELINE", "--data-dir", "--listen"}},
      {"trigger", {"NAME", "--pipeline", "--data-dir"}},
      {"query", {"SQL", "--pipeline", "--database", "--format"}},
      {"queries", {"--pipeline", "--limit", "--format"}},
      {"catalog", {"ACTION", "--pipeline", "--format"}},
      {"put", {"STREAM", "--pipeline", "--url", "--partition-key", "--partition-key-field"}},
      {"tail", {"STREAM", "--pipeline", "--url", "--from", "--follow", "--consumer"}},
      {"reprocess", {"PROCESSOR", "KEY", "--list", "--pipeline"}},
      {"runs", {"--pipeline", "--limit", "--format"}},
      {"demo", {"--data-dir", "--serve", "--listen"}},
      {"fixture", {"--port"}},
      {"export", {"terraform"}},
  };
  auto top = sluice({"--help"});
  EXPECT_EQ(top.code, 0) << top.err;
  for (const auto& [command, names] : options) {
    SCOPED_TRACE(command);
    EXPECT_THAT(top.out, HasSubstr(command));
    auto help = sluice({command, "--help"});
    EXPECT_EQ(help.code, 0) << help.err;
    EXPECT_THAT(help.out, HasSubstr("sluice " + command));
    for (const auto& name : names) EXPECT_THAT(help.out, HasSubstr(name));
  }
  auto terraform = sluice({"export", "terraform", "--help"});
  EXPECT_EQ(terraform.code, 0) << terraform.err;
  for (const char* name : {"PIPELINE", "DIR", "main.tf.json"}) EXPECT_THAT(terraform.out, HasSubstr(name));
}

TEST_F(Pinning, ThePipelineDefaultsToSluicePipelineThenThePipelineYamlOfTheCurrentDirectory) {
  const auto here = dir_.path() / "here";
  const auto elsewhere = dir_.path() / "elsewhere";
  const auto nowhere = dir_.path() / "nowhere";
  for (const auto& d : {here, elsewhere, nowhere}) std::filesystem::create_directories(d);
  fs::write_file_atomic(here / "pipeline.yaml", quiet_pipeline(base()));
  fs::write_file_atomic(elsewhere / "other.yaml", quiet_pipeline(base()));

  // ./pipeline.yaml: the run lands in here/data.
  auto local = sluice_in(here, {"trigger", "users"});
  EXPECT_EQ(local.code, 0) << local.err;
  EXPECT_TRUE(std::filesystem::exists(here / "data" / "metastore.db"));
  EXPECT_FALSE(std::filesystem::exists(elsewhere / "data"));

  // $SLUICE_PIPELINE comes first, even where a pipeline.yaml is.
  auto from_env =
      sluice_in(here, {"trigger", "posts"}, {"SLUICE_PIPELINE=" + (elsewhere / "other.yaml").string()});
  EXPECT_EQ(from_env.code, 0) << from_env.err;
  auto runs = sluice_in(here, {"runs", "--format", "json"},
                        {"SLUICE_PIPELINE=" + (elsewhere / "other.yaml").string()});
  ASSERT_EQ(runs.code, 0) << runs.err;
  auto elsewhere_runs = nlohmann::json::parse(runs.out);
  ASSERT_EQ(elsewhere_runs.size(), 1u);
  EXPECT_EQ(elsewhere_runs[0]["name"], "posts");
  auto here_runs = nlohmann::json::parse(sluice_in(here, {"runs", "--format", "json"}).out);
  ASSERT_EQ(here_runs.size(), 1u);
  EXPECT_EQ(here_runs[0]["name"], "users");

  // Neither: one line naming the file it looked for.
  auto none = sluice_in(nowhere, {"runs"});
  EXPECT_EQ(none.code, 1);
  EXPECT_THAT(none.err, HasSubstr("pipeline.yaml"));
  EXPECT_EQ(count_lines(none.err), 1u) << none.err;
}

// ---- the daemon's life: SIGINT and the owner lock ----------------------------------------------

TEST_F(Pinning, SigintStopsTheDaemonCleanly) {
  write_yaml(quiet_pipeline(base()));
  auto daemon = start_daemon();
  const int port = daemon_port(*daemon);
  ASSERT_EQ(http_call("GET", url(port, "/v1/health")).status, 200);
  daemon->signal(SIGINT);
  const auto code = daemon->wait(10s);
  ASSERT_TRUE(code.has_value()) << "the daemon did not stop on SIGINT";
  EXPECT_EQ(*code, 0) << daemon->err();
  EXPECT_THAT(daemon->err(), HasSubstr("SIGINT"));
  EXPECT_EQ(http_call("GET", url(port, "/v1/health"), "", 2000).status, 0) << "still answering";
}

TEST_F(Pinning, ASecondDaemonOnTheSameDataDirectoryExits1NamingTheLock) {
  write_yaml(quiet_pipeline(base()));
  auto first = start_daemon();
  const int port = daemon_port(*first);
  Process second({kSluice, "run", pipeline_.string()}, dir_.path());
  const auto code = second.wait(30s);
  ASSERT_TRUE(code.has_value()) << "the second daemon did not give up";
  EXPECT_EQ(*code, 1);
  EXPECT_EQ(count_lines(second.err()), 1u) << second.err();
  EXPECT_THAT(second.err(), HasSubstr("daemon.lock"));
  EXPECT_THAT(second.err(), HasSubstr((dir_.path() / "data").string()));
  // The owner is untouched and keeps serving.
  EXPECT_EQ(http_call("GET", url(port, "/v1/health")).status, 200);
  first->signal(SIGTERM);
  EXPECT_EQ(first->wait(10s), 0) << first->err();
}

// ---- catalog databases and partitions -----------------------------------------------------------

constexpr char kPartitionedLake[] = R"(  people-a:
    url: BASE/users
    to: s3://raw/lake/people/dt=2026-01-01/users.json
  people-b:
    url: BASE/users
    to: s3://raw/lake/people/dt=2026-01-02/users.json
crawlers:
  lake:
    database: lake
    targets: [s3://raw/lake/]
    on_change: false
)";

TEST_F(Pinning, CatalogListsDatabasesAndATablesPartitions) {
  write_yaml(with_sources(base(), kPartitionedLake));
  ASSERT_EQ(sluice({"trigger", "people-a", "-p", pipeline_.string()}).code, 0);
  ASSERT_EQ(sluice({"trigger", "people-b", "-p", pipeline_.string()}).code, 0);
  auto crawl = sluice({"trigger", "lake", "-p", pipeline_.string()});
  ASSERT_EQ(crawl.code, 0) << crawl.err;

  auto databases = sluice({"catalog", "databases", "-p", pipeline_.string()});
  EXPECT_EQ(databases.code, 0) << databases.err;
  EXPECT_EQ(databases.out, "lake\n");
  auto databases_json = sluice({"catalog", "databases", "-p", pipeline_.string(), "--format", "json"});
  EXPECT_EQ(nlohmann::json::parse(databases_json.out), nlohmann::json::parse(R"(["lake"])"));

  const std::string bytes = std::to_string(users_body().size());
  auto table = sluice({"catalog", "partitions", "lake.people", "-p", pipeline_.string()});
  EXPECT_EQ(table.code, 0) << table.err;
  const auto rows = lines_of(table.out);
  ASSERT_EQ(rows.size(), 3u) << table.out;
  EXPECT_THAT(rows[0], ::testing::MatchesRegex("PARTITION +FILES +BYTES +LOCATION"));
  EXPECT_THAT(rows[1], ::testing::MatchesRegex("dt=2026-01-01 +1 +" + bytes +
                                               " +s3://raw/lake/people/dt=2026-01-01/?"));
  EXPECT_THAT(rows[2], ::testing::MatchesRegex("dt=2026-01-02 +1 +" + bytes +
                                               " +s3://raw/lake/people/dt=2026-01-02/?"));

  auto json = sluice({"catalog", "partitions", "lake.people", "-p", pipeline_.string(), "--format", "json"});
  EXPECT_EQ(json.code, 0) << json.err;
  auto partitions = nlohmann::json::parse(json.out);
  ASSERT_EQ(partitions.size(), 2u);
  EXPECT_EQ(partitions[0]["values"], nlohmann::json::parse(R"(["2026-01-01"])"));
  EXPECT_EQ(partitions[0]["files"], 1);
  EXPECT_EQ(partitions[0]["bytes"], users_body().size());
  EXPECT_THAT(partitions[1]["location"].get<std::string>(), HasSubstr("people/dt=2026-01-02"));

  auto unknown = sluice({"catalog", "partitions", "lake.nope", "-p", pipeline_.string()});
  EXPECT_EQ(unknown.code, 1);
  EXPECT_THAT(unknown.err, HasSubstr("lake.nope"));
  EXPECT_EQ(count_lines(unknown.err), 1u);
}

// ---- put's partition keys -----------------------------------------------------------------------

// The MD5 digest of `data` (16 bytes).
std::vector<unsigned char> md5(const std::string& data) {
  std::vector<unsigned char> digest(EVP_MAX_MD_SIZE);
  unsigned int size = 0;
  EVP_Digest(data.data(), data.size(), digest.data(), &size, EVP_md5(), nullptr);
  digest.resize(size);
  return digest;
}

// The shard of a 4-shard stream that a partition key goes to: the key's MD5 as a 128-bit number, in
// four equal ranges, so its top two bits (Kinesis's routing).
std::string shard_of(const std::string& partition_key) {
  return "shardId-00000000000" + std::to_string(md5(partition_key)[0] >> 6);
}

std::string md5_hex(const std::string& data) {
  std::string hex;
  for (unsigned char byte : md5(data)) {
    char two[3];
    std::snprintf(two, sizeof two, "%02x", byte);
    hex += two;
  }
  return hex;
}

// Every record of a stream, per shard, as the API reads them.
std::map<std::string, nlohmann::json> records_by_shard(int port, const std::string& stream, int shards) {
  std::map<std::string, nlohmann::json> out;
  for (int i = 0; i < shards; ++i) {
    const std::string shard = "shardId-00000000000" + std::to_string(i);
    out[shard] =
        get_json(url(port, "/v1/streams/" + stream + "/records?shard=" + shard + "&limit=1000"))["records"];
  }
  return out;
}

constexpr char kFourShards[] = R"(streams:
  events: {shards: 4, min_free_disk: 0}
)";

TEST_F(Pinning, PutRoutesRecordsByTheMd5OfTheirPartitionKey) {
  write_yaml(quiet_pipeline(base(), kFourShards));
  auto daemon = start_daemon();
  const int port = daemon_port(*daemon);
  const std::string target = url(port, "");
  std::string ndjson;
  std::vector<std::string> names;
  for (int i = 0; i < 40; ++i) {
    names.push_back("user-" + std::to_string(i * 7919));
    ndjson += "{\"id\": " + std::to_string(i) + ", \"user\": {\"name\": \"" + names.back() + "\"}}\n";
  }

  // One key for every record: all of them in the key's shard.
  auto one_key = put(ndjson, {"events", "--url", target, "--partition-key", "tenant-42"});
  ASSERT_EQ(one_key.code, 0) << one_key.err;
  EXPECT_THAT(one_key.err, HasSubstr("put 40 records into events"));
  auto shards = records_by_shard(port, "events", 4);
  for (const auto& [shard, records] : shards) {
    SCOPED_TRACE(shard);
    EXPECT_EQ(records.size(), shard == shard_of("tenant-42") ? 40u : 0u);
    for (const auto& r : records) EXPECT_EQ(r["partition_key"], "tenant-42");
  }

  // A dotted field: each record in the shard of its own field's value.
  auto by_field = put(ndjson, {"events", "--url", target, "--partition-key-field", "user.name"});
  ASSERT_EQ(by_field.code, 0) << by_field.err;
  std::set<std::string> used;
  size_t seen = 0;
  for (const auto& [shard, records] : records_by_shard(port, "events", 4)) {
    for (const auto& r : records) {
      const std::string key = r["partition_key"];
      if (key == "tenant-42") continue;
      ++seen;
      used.insert(shard);
      EXPECT_EQ(shard, shard_of(key)) << key;
      EXPECT_EQ(nlohmann::json::parse(r["data"].get<std::string>())["user"]["name"], key);
    }
  }
  EXPECT_EQ(seen, 40u);
  EXPECT_GT(used.size(), 1u) << "forty keys all in one shard: the routing is not by key";

  // Neither: the key is the MD5 of the record as stored (minified JSON).
  auto plain = put("{\"id\": 1000, \"pad\": \"x\"}\n", {"events", "--url", target});
  ASSERT_EQ(plain.code, 0) << plain.err;
  bool found = false;
  for (const auto& [shard, records] : records_by_shard(port, "events", 4))
    for (const auto& r : records)
      if (r["data"] == "{\"id\":1000,\"pad\":\"x\"}") {
        found = true;
        EXPECT_EQ(r["partition_key"], md5_hex(r["data"]));
        EXPECT_EQ(shard, shard_of(md5_hex(r["data"])));
      }
  EXPECT_TRUE(found);

  auto missing =
      put("{\"id\": 1}\n{\"user\": {}}\n", {"events", "--url", target, "--partition-key-field", "user.name"});
  EXPECT_EQ(missing.code, 1);
  EXPECT_THAT(missing.err, HasSubstr("no partition key field \"user.name\""));
  daemon->signal(SIGTERM);
  EXPECT_EQ(daemon->wait(10s), 0);
}

// ---- tail -f and tail --from --------------------------------------------------------------------

constexpr char kOneShard[] = R"(streams:
  events: {shards: 1, min_free_disk: 0}
)";

TEST_F(Pinning, TailFollowPrintsRecordsPutAfterItStarted) {
  write_yaml(quiet_pipeline(base(), kOneShard));
  auto daemon = start_daemon();
  const std::string target = url(daemon_port(*daemon), "");
  ASSERT_EQ(put("{\"n\": 1}\n", {"events", "--url", target}).code, 0);
  Process tail(
      {"/bin/sh", "-c", "exec " + shell_quote(kSluice) + " tail events -f --url " + shell_quote(target)},
      dir_.path());
  for (int i = 0; i < 500 && tail.out().find("{\"n\":1}") == std::string::npos; ++i)
    std::this_thread::sleep_for(10ms);
  EXPECT_EQ(tail.out(), "{\"n\":1}\n");
  ASSERT_EQ(put("{\"n\": 2}\n{\"n\": 3}\n", {"events", "--url", target}).code, 0);
  for (int i = 0; i < 1000 && count_lines(tail.out()) < 3; ++i) std::this_thread::sleep_for(10ms);
  EXPECT_EQ(tail.out(), "{\"n\":1}\n{\"n\":2}\n{\"n\":3}\n");
  EXPECT_EQ(tail.wait(0ms), std::nullopt) << "tail -f stopped following: " << tail.err();
  tail.signal(SIGTERM);
  tail.wait(10s);
  daemon->signal(SIGTERM);
  EXPECT_EQ(daemon->wait(10s), 0);
}

TEST_F(Pinning, TailStartsAtASequenceNumberOrATime) {
  write_yaml(quiet_pipeline(base(), kOneShard));
  auto daemon = start_daemon();
  const int port = daemon_port(*daemon);
  const std::string target = url(port, "");
  ASSERT_EQ(put("{\"n\": 1}\n{\"n\": 2}\n{\"n\": 3}\n", {"events", "--url", target}).code, 0);
  std::this_thread::sleep_for(50ms);  // the second batch arrives at a later millisecond
  ASSERT_EQ(put("{\"n\": 4}\n{\"n\": 5}\n", {"events", "--url", target}).code, 0);
  const auto records = get_json(url(port, "/v1/streams/events/records"))["records"];
  ASSERT_EQ(records.size(), 5u);

  auto at_sequence = sluice({"tail", "events", "--url", target, "--from", records[1]["sequence_number"]});
  EXPECT_EQ(at_sequence.code, 0) << at_sequence.err;
  EXPECT_EQ(at_sequence.out, "{\"n\":2}\n{\"n\":3}\n{\"n\":4}\n{\"n\":5}\n");

  const std::string second_batch = records[3]["arrival"];
  ASSERT_LT(records[2]["arrival"].get<std::string>(), second_batch);
  auto at_time = sluice({"tail", "events", "--url", target, "--from", second_batch});
  EXPECT_EQ(at_time.code, 0) << at_time.err;
  EXPECT_EQ(at_time.out, "{\"n\":4}\n{\"n\":5}\n");

  auto bad = sluice({"tail", "events", "--url", target, "--from", "yesterday"});
  EXPECT_EQ(bad.code, 1);
  EXPECT_THAT(bad.err, HasSubstr("\"yesterday\""));
  daemon->signal(SIGTERM);
  EXPECT_EQ(daemon->wait(10s), 0);
}

// BUG, found while pinning (not fixed here, src/ is not this change's): `sluice tail STREAM --from SEQ`
// sends SEQ as the `from` of every shard, and each shard but SEQ's own refuses a sequence number of
// another shard ("HTTP 400: stream 'events': sequence number '...' belongs to shardId-000000000001,
// not shardId-000000000000"), so on any stream of more than one shard the command always exits 1.
// The README offers `--from ...|SEQ|...` with no such limit. What the other shards should start from
// is for the fix to decide; this test asks only that the command succeeds and starts SEQ's own shard
// at SEQ. Enable it with the fix.
TEST_F(Pinning, TailFromASequenceNumberWorksOnAStreamOfSeveralShards) {
  write_yaml(quiet_pipeline(base(), "streams:\n  events: {shards: 2, min_free_disk: 0}\n"));
  auto daemon = start_daemon();
  const int port = daemon_port(*daemon);
  const std::string target = url(port, "");
  // Keys "a" and "c" hash into the first half of the key space, "b" and "d" into the second.
  ASSERT_EQ(put("{\"k\": \"a\"}\n{\"k\": \"b\"}\n{\"k\": \"c\"}\n{\"k\": \"d\"}\n",
                {"events", "--url", target, "--partition-key-field", "k"})
                .code,
            0);
  const auto second = get_json(url(port, "/v1/streams/events/records?shard=shardId-000000000001"))["records"];
  ASSERT_EQ(second.size(), 2u);
  auto r = sluice({"tail", "events", "--url", target, "--from", second[1]["sequence_number"]});
  EXPECT_EQ(r.code, 0) << r.err;
  EXPECT_THAT(r.out, HasSubstr("{\"k\":\"d\"}\n"));
  EXPECT_THAT(r.out, ::testing::Not(HasSubstr("{\"k\":\"b\"}")));  // before SEQ in its shard
  daemon->signal(SIGTERM);
  EXPECT_EQ(daemon->wait(10s), 0);
}

// ---- sources: credentials from the environment, the response cap -------------------------------

constexpr char kCredentialSources[] = R"(  with-basic:
    url: BASE/users
    auth: {type: basic, username_env: PIN_USER, password_env: PIN_PASSWORD}
    to: s3://raw/auth/basic.json
  with-header-key:
    url: BASE/posts
    auth: {type: api_key, value_env: PIN_KEY, header: X-Pin-Key}
    to: s3://raw/auth/header.json
  with-default-header-key:
    url: BASE/albums
    auth: {type: api_key, value_env: PIN_KEY}
    to: s3://raw/auth/default.json
  with-query-key:
    url: BASE/todos
    auth: {type: api_key, value_env: PIN_KEY, query_param: api_key}
    to: s3://raw/auth/query.json
)";

// The value of header `name` of the last request to `path`, whatever its letter case.
std::optional<std::string> header_of(const fixture::FixtureApi& api, const std::string& path,
                                     const std::string& name) {
  for (const auto& [k, v] : api.last_headers(path))
    if (::strcasecmp(k.c_str(), name.c_str()) == 0) return v;
  return std::nullopt;
}

TEST_F(Pinning, SourcesSendBasicAuthAndApiKeysFromTheEnvironment) {
  write_yaml(with_sources(base(), kCredentialSources));
  const std::vector<std::string> env = {"PIN_USER=Aladdin", "PIN_PASSWORD=open sesame", "PIN_KEY=k-123"};
  for (const auto& source : {"with-basic", "with-header-key", "with-default-header-key", "with-query-key"}) {
    auto r = sluice_in(dir_.path(), {"trigger", source, "-p", pipeline_.string()}, env);
    EXPECT_EQ(r.code, 0) << source << ": " << r.err;
  }
  // RFC 7617: base64 of "Aladdin:open sesame".
  EXPECT_EQ(header_of(api_, "/users", "Authorization"), "Basic QWxhZGRpbjpvcGVuIHNlc2FtZQ==");
  EXPECT_EQ(header_of(api_, "/posts", "X-Pin-Key"), "k-123");
  EXPECT_EQ(header_of(api_, "/posts", "Authorization"), std::nullopt);
  EXPECT_EQ(header_of(api_, "/albums", "X-Api-Key"), "k-123");
  EXPECT_EQ(api_.last_query("/todos").at("api_key"), "k-123");
  EXPECT_EQ(header_of(api_, "/todos", "X-Api-Key"), std::nullopt);

  // A variable that is not set: the run fails naming it, and nothing is requested.
  auto missing =
      sluice_in(dir_.path(), {"trigger", "with-basic", "-p", pipeline_.string()}, {"PIN_USER=Aladdin"});
  EXPECT_EQ(missing.code, 1);
  EXPECT_THAT(missing.err, HasSubstr("PIN_PASSWORD"));
  EXPECT_EQ(api_.request_count("/users"), 1);
}

TEST_F(Pinning, AResponseOverMaxResponseBytesFailsTheRunAndWritesNothing) {
  write_yaml(with_sources(base(), R"(  capped:
    url: BASE/users
    max_response_bytes: 1KiB
    to: s3://raw/capped/users.json
)"));
  auto r = sluice({"trigger", "capped", "-p", pipeline_.string()});
  EXPECT_EQ(r.code, 1);
  EXPECT_THAT(r.err, HasSubstr("larger than 1024 bytes (max_response_bytes)"));
  EXPECT_FALSE(std::filesystem::exists(dir_.path() / "data/objects/raw/capped"));
  EXPECT_EQ(runs_json()[0]["status"], "failed");
}

// ---- processing is confined to its scratch folder -----------------------------------------------

TEST_F(Pinning, ProcessorSqlCannotReadOutsideItsScratchFolderAndTheInputIsQuarantined) {
  const auto secret = dir_.path() / "data/objects/raw/secret/s.txt";
  fs::create_directories_durable(secret.parent_path());
  fs::write_file_atomic(secret, "inside the data directory");
  write_yaml(quiet_pipeline(base(), R"(processors:
  passwd:
    input: {bucket: raw, prefix: raw/users/}
    steps:
      - sql: "SELECT i.*, (SELECT content FROM read_text('/etc/passwd')) AS leaked FROM input i"
    output: {key: "processed/passwd/{name}"}
  datadir:
    input: {bucket: raw, prefix: raw/users/}
    steps:
      - sql: "SELECT i.*, (SELECT content FROM read_text('SECRET')) AS leaked FROM input i"
    output: {key: "processed/datadir/{name}"}
)"));
  std::string yaml = fs::read_file(pipeline_);
  yaml.replace(yaml.find("SECRET"), 6, secret.string());
  write_yaml(yaml);

  auto r = sluice({"trigger", "users", "-p", pipeline_.string()});
  EXPECT_EQ(r.code, 1) << r.out;
  for (const std::string processor : {"passwd", "datadir"}) {
    SCOPED_TRACE(processor);
    auto list = sluice({"reprocess", processor, "--list", "-p", pipeline_.string()});
    EXPECT_EQ(list.code, 0) << list.err;
    EXPECT_THAT(list.out, HasSubstr("s3://raw/raw/users/users_"));
    EXPECT_THAT(list.out, HasSubstr("Permission Error"));
    EXPECT_FALSE(std::filesystem::exists(dir_.path() / "data/objects/raw/processed" / processor));
    const auto quarantine = dir_.path() / "data/objects/raw/errors" / processor / "raw/users";
    ASSERT_TRUE(std::filesystem::is_directory(quarantine));
    for (const auto& f : std::filesystem::directory_iterator(quarantine)) {
      if (f.path().string().ends_with(".error.json")) {
        EXPECT_THAT(nlohmann::json::parse(fs::read_file(f.path()))["error"].get<std::string>(),
                    HasSubstr("Permission Error"));
      } else {
        EXPECT_EQ(fs::read_file(f.path()), users_body());  // the input, as it landed
      }
    }
  }
}

// ---- schedules that target crawlers -------------------------------------------------------------

constexpr char kCrawlSchedule[] = R"(  people:
    url: BASE/users
    to: s3://raw/lake/people/users.json
crawlers:
  lake:
    database: lake
    targets: [s3://raw/lake/]
    on_change: false
)";

// The pipeline with a second schedule, `crawl-often`, that targets the crawler.
std::string crawl_schedule_pipeline(const std::string& base_url, const std::string& expression) {
  std::string yaml = with_sources(base_url, kCrawlSchedule);
  const std::string schedules = "schedules:\n";
  yaml.insert(yaml.find(schedules) + schedules.size(),
              "  crawl-often:\n    expression: " + expression + "\n    catch_up: all\n    targets: [lake]\n");
  return yaml;
}

TEST_F(Pinning, AScheduleMayTargetACrawlerInTheFileAndTriggeringItCrawls) {
  write_yaml(crawl_schedule_pipeline(base(), "rate(1 minute)"));
  auto valid = sluice({"validate", pipeline_.string()});
  EXPECT_EQ(valid.code, 0) << valid.err;
  ASSERT_EQ(sluice({"trigger", "people", "-p", pipeline_.string()}).code, 0);
  auto r = sluice({"trigger", "crawl-often", "-p", pipeline_.string()});
  EXPECT_EQ(r.code, 0) << r.err;
  EXPECT_THAT(r.out, HasSubstr("lake: succeeded, 1 records"));
  auto runs = runs_json();
  EXPECT_EQ(runs[0]["kind"], "crawl");
  EXPECT_EQ(runs[0]["schedule"], "crawl-often");
  EXPECT_THAT(sluice({"catalog", "tables", "lake", "-p", pipeline_.string()}).out, HasSubstr("people"));

  // A target that is neither a source nor a crawler is refused where it is written.
  std::string yaml = fs::read_file(pipeline_);
  yaml.replace(yaml.find("targets: [lake]"), 15, "targets: [lakes]");
  write_yaml(yaml);
  auto bad = sluice({"validate", pipeline_.string()});
  EXPECT_EQ(bad.code, 1);
  EXPECT_THAT(bad.err, HasSubstr("schedules.crawl-often.targets[0]: no source or crawler named \"lakes\""));
}

TEST_F(Pinning, TheDaemonFiresEveryDueSlotOfAScheduleThatTargetsACrawler) {
  write_yaml(crawl_schedule_pipeline(base(), "rate(1 minute)"));
  ASSERT_EQ(sluice({"trigger", "people", "-p", pipeline_.string()}).code, 0);
  // The schedule has been known for ten minutes (its rate anchor), and last fired seven minutes
  // after its anchor: the slots 8 and 9 minutes after the anchor are due, 30 s from any edge.
  const TimePoint anchor = now_ms() - 10min + 30s;
  {
    metastore::Metastore db(dir_.path() / "data" / "metastore.db");
    metastore::ScheduleState state(db);
    state.set_anchor_if_absent("crawl-often", anchor);
    state.record_fired("crawl-often", anchor + 7min);
  }
  auto daemon = start_daemon();
  auto runs = wait_runs(
      [](const nlohmann::json& r) {
        size_t crawls = 0;
        for (const auto& run : r)
          if (run["kind"] == "crawl" && run["status"] != "running") ++crawls;
        return crawls >= 2;
      },
      20s);
  daemon->signal(SIGTERM);
  EXPECT_EQ(daemon->wait(10s), 0) << daemon->err();
  std::vector<std::string> slots;
  for (const auto& run : runs) {
    if (run["kind"] != "crawl") continue;
    EXPECT_EQ(run["name"], "lake");
    EXPECT_EQ(run["trigger"], "schedule");
    EXPECT_EQ(run["schedule"], "crawl-often");
    EXPECT_EQ(run["status"], "succeeded") << run.dump();
    slots.push_back(run["slot"]);
  }
  std::sort(slots.begin(), slots.end());
  EXPECT_EQ(slots,
            (std::vector<std::string>{format_iso8601_utc(anchor + 8min), format_iso8601_utc(anchor + 9min)}))
      << runs.dump(1);
  EXPECT_THAT(sluice({"catalog", "tables", "lake", "-p", pipeline_.string()}).out, HasSubstr("people"));
}

TEST_F(Pinning, ACrawlLeftRunningIsRetriedOnceByTheNextDaemonWithItsSlot) {
  write_yaml(crawl_schedule_pipeline(base(), "cron(0 0 1 1 ? 2199)"));
  ASSERT_EQ(sluice({"trigger", "people", "-p", pipeline_.string()}).code, 0);
  const TimePoint slot = *parse_iso8601_utc("2026-11-24T10:00:00Z");
  int64_t cut_short = 0;
  {
    // What kill -9 in the middle of a scheduled crawl leaves behind: its run, still 'running'.
    metastore::Metastore db(dir_.path() / "data" / "metastore.db");
    metastore::RunLog log(db);
    cut_short = log.start(
        {.kind = "crawl", .name = "lake", .trigger = "schedule", .schedule = "crawl-often", .slot = slot});
  }
  auto daemon = start_daemon();
  auto done = [](const nlohmann::json& r) {
    for (const auto& run : r)
      if (run["trigger"] == "retry" && run["status"] == "succeeded") return true;
    return false;
  };
  auto runs = wait_runs(done, 20s);
  daemon->signal(SIGTERM);
  EXPECT_EQ(daemon->wait(10s), 0) << daemon->err();
  std::vector<nlohmann::json> retries;
  for (const auto& run : runs) {
    if (run["run_id"] == cut_short) {
      EXPECT_EQ(run["status"], "interrupted");
    }
    if (run["trigger"] == "retry") retries.push_back(run);
  }
  ASSERT_EQ(retries.size(), 1u) << runs.dump(1);
  EXPECT_EQ(retries[0]["kind"], "crawl");
  EXPECT_EQ(retries[0]["name"], "lake");
  EXPECT_EQ(retries[0]["slot"], format_iso8601_utc(slot));
  EXPECT_EQ(retries[0]["status"], "succeeded");
  EXPECT_THAT(sluice({"catalog", "tables", "lake", "-p", pipeline_.string()}).out, HasSubstr("people"));

  // Once only: another daemon does not retry it again.
  auto again = start_daemon();
  daemon_port(*again);
  std::this_thread::sleep_for(500ms);
  again->signal(SIGTERM);
  EXPECT_EQ(again->wait(10s), 0);
  size_t retried = 0;
  for (const auto& run : runs_json())
    if (run["trigger"] == "retry") ++retried;
  EXPECT_EQ(retried, 1u);
}

}  // namespace
}  // namespace sluice
