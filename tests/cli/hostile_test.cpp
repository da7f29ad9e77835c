// The daemon attacked as a hostile client and a careless user would (issue: never crash, never stall,
// never lose): deep JSON on every JSON endpoint, a low file-descriptor limit, unbounded queries, a full
// disk, bad processor SQL, and quarantined input processed again.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <fstream>
#include <set>

#include "tests/cli/cli_fixture.h"
#include "tests/common/sanitizers.h"
#include "tests/common/small_filesystem.h"

namespace sluice {
namespace {

using namespace std::chrono_literals;
using namespace cli_testing;
using ::testing::HasSubstr;
using testing_util::Process;

// A field of the daemon's /proc/PID/status, in kB ("VmRSS", "VmHWM").
long proc_status_kb(pid_t pid, const std::string& field) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/status");
  for (std::string line; std::getline(in, line);)
    if (line.rfind(field + ":", 0) == 0) return std::stol(line.substr(field.size() + 1));
  return -1;
}

// CPU time (user + system) of a process, in clock ticks.
long cpu_ticks(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
  std::string stat((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  std::istringstream rest(stat.substr(stat.rfind(')') + 2));
  std::string field;
  long utime = 0, stime = 0;
  for (int i = 3; rest >> field; ++i) {
    if (i == 14) utime = std::stol(field);
    if (i == 15) {
      stime = std::stol(field);
      break;
    }
  }
  return utime + stime;
}

// A connection that connects and then sends nothing.
class IdleSocket {
 public:
  explicit IdleSocket(int port) : fd_(::socket(AF_INET, SOCK_STREAM, 0)) {
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(static_cast<uint16_t>(port));
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    connected_ = ::connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0;
  }
  ~IdleSocket() { ::close(fd_); }
  IdleSocket(const IdleSocket&) = delete;
  IdleSocket& operator=(const IdleSocket&) = delete;
  bool connected() const { return connected_; }

 private:
  int fd_;
  bool connected_ = false;
};

class Hostile : public Cli {
 protected:
  std::string url(int port, const std::string& path) {
    return "http://127.0.0.1:" + std::to_string(port) + path;
  }
  void write_file(const std::string& yaml) { fs::write_file_atomic(pipeline_, yaml); }
  nlohmann::json history(int port) {
    auto r = http_call("GET", url(port, "/v1/queries?limit=50"));
    return r.status == 200 ? nlohmann::json::parse(r.body) : nlohmann::json::array();
  }
  // Waits until the query history's newest entry for `sql_prefix` is in `state`; returns it.
  nlohmann::json wait_query_state(int port, const std::string& sql_prefix, const std::string& state) {
    for (int i = 0; i < 200; ++i) {
      for (const auto& q : history(port))
        if (q["sql"].get<std::string>().rfind(sql_prefix, 0) == 0 && q["state"] == state) return q;
      std::this_thread::sleep_for(50ms);
    }
    return nullptr;
  }
};

constexpr char kStreamPipeline[] = R"(data_dir: ./data
server: {port: 0}
buckets: [lake]
streams:
  events: {shards: 1, min_free_disk: 0}
deliveries:
  to-raw:
    stream: events
    to: s3://lake/raw/events/
    buffer: {size: 1MiB, interval: 1s}
processors:
  events:
    input: {bucket: lake, prefix: raw/events/}
    steps: [flatten]
    output: {key: "processed/events/{name}.jsonl"}
crawlers:
  lake:
    database: lake
    targets: [s3://lake/processed/]
query:
  timeout: 3s
)";

TEST_F(Hostile, DeepJsonOnEveryJsonEndpointIsA400AndTheDaemonLives) {
  write_file(kStreamPipeline);
  auto daemon = start_daemon();
  const int port = daemon_port(*daemon);
  const std::string deep = std::string(100000, '[') + std::string(100000, ']');
  const std::string deep_field = "{\"shard_id\": " + deep + ", \"sequence_number\": \"1\"}";
  for (const auto& [path, body] : std::vector<std::pair<std::string, std::string>>{
           {"/v1/streams/events/checkpoints/c1", deep_field},  // the body that crashed the daemon
           {"/v1/streams/events/checkpoints/c1", deep},
           {"/v1/streams/events/records", deep},
           {"/v1/streams/events/records", "{\"a\": " + deep + "}"},
           {"/v1/query", "{\"sql\": " + deep + "}"},
           {"/v1/query", deep},
           {"/v1/processors/events/reprocess", "{\"keys\": " + deep + "}"}}) {
    auto r = http_call("POST", url(port, path), body);
    EXPECT_EQ(r.status, 400) << path << ": " << r.body.substr(0, 300);
    EXPECT_EQ(r.body.find('\n'), r.body.size() - 1) << "one line: " << r.body.substr(0, 300);
  }
  EXPECT_EQ(http_call("GET", url(port, "/v1/health")).status, 200);
  daemon->signal(SIGTERM);
  EXPECT_EQ(daemon->wait(10s), 0) << daemon->err();
}

TEST_F(Hostile, UnderALowFileDescriptorLimitTheDaemonKeepsServingWithoutSpinning) {
  SLUICE_SKIP_WHEN_SANITIZED_WITHOUT_DESCRIPTORS();
  write_file(kStreamPipeline);
  Process daemon({"/bin/sh", "-c", "ulimit -n 100 && exec " + kSluice + " run " + pipeline_.string()},
                 dir_.path(), {"SLUICE_LOG=info"});
  const int port = daemon_port(daemon);
  ASSERT_GT(port, 0) << daemon.err();
  std::vector<std::unique_ptr<IdleSocket>> holders;
  for (int i = 0; i < 200; ++i) holders.push_back(std::make_unique<IdleSocket>(port));
  // Far more connections than descriptors: accept fails with EMFILE. The daemon must neither spin
  // nor stop serving: a normal request is answered while the holders stay.
  const long before = cpu_ticks(daemon.pid());
  const auto started = std::chrono::steady_clock::now();
  auto health = http_call("GET", url(port, "/v1/health"), "", 10'000);
  std::this_thread::sleep_for(1500ms);
  const double wall_ticks =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count() *
      ::sysconf(_SC_CLK_TCK);
  const long used = cpu_ticks(daemon.pid()) - before;
  EXPECT_EQ(health.status, 200) << health.body;
  EXPECT_LT(used, 0.3 * wall_ticks) << "the daemon used " << used << " of " << wall_ticks << " ticks";
  holders.clear();
  std::this_thread::sleep_for(200ms);
  EXPECT_EQ(http_call("POST", url(port, "/v1/query"), R"({"sql": "SELECT 42"})").status, 200);
  EXPECT_EQ(daemon.wait(0ms), std::nullopt) << "the daemon died: " << daemon.err();
}

constexpr char kLongQuery[] = "SELECT sum(hash(i)) FROM range(100000000000) t(i)";

TEST_F(Hostile, QueriesTimeOutAreCancelledWhenTheClientLeavesOrOnDeleteAndStopWithTheDaemon) {
  write_file(kStreamPipeline);
  auto daemon = start_daemon();
  const int port = daemon_port(*daemon);
  const std::string body = nlohmann::json{{"sql", kLongQuery}}.dump();

  // The configured timeout (3 s) ends it as FAILED, timed out.
  auto timed_out = http_call("POST", url(port, "/v1/query"), body);
  EXPECT_EQ(timed_out.status, 400) << timed_out.body;
  EXPECT_THAT(timed_out.body, HasSubstr("timed out"));

  // The client gives up after 500 ms: the query is cancelled, not left running.
  auto gone = http_call("POST", url(port, "/v1/query"),
                        nlohmann::json{{"sql", std::string(kLongQuery) + " -- gone"}}.dump(), 500);
  EXPECT_EQ(gone.status, 0);
  auto cancelled = wait_query_state(port, std::string(kLongQuery) + " -- gone", "CANCELLED");
  ASSERT_FALSE(cancelled.is_null()) << history(port).dump(1);
  EXPECT_THAT(cancelled["error"].get<std::string>(), HasSubstr("disconnected"));

  // DELETE /v1/queries/ID cancels a running query; its POST answers 499.
  HttpResult deleted_post;
  std::thread client([&] {
    deleted_post = http_call("POST", url(port, "/v1/query"),
                             nlohmann::json{{"sql", std::string(kLongQuery) + " -- delete"}}.dump());
  });
  auto running = wait_query_state(port, std::string(kLongQuery) + " -- delete", "RUNNING");
  ASSERT_FALSE(running.is_null());
  const std::string id = running["query_id"];
  auto del = http_call("DELETE", url(port, "/v1/queries/" + id));
  client.join();
  EXPECT_EQ(del.status, 200) << del.body;
  EXPECT_EQ(deleted_post.status, 499) << deleted_post.body;
  EXPECT_EQ(nlohmann::json::parse(http_call("GET", url(port, "/v1/queries/" + id)).body)["state"],
            "CANCELLED");
  EXPECT_EQ(http_call("DELETE", url(port, "/v1/queries/" + id)).status, 409);

  // SIGTERM with a query running: the daemon interrupts it and stops promptly.
  std::thread last([&] {
    http_call("POST", url(port, "/v1/query"),
              nlohmann::json{{"sql", std::string(kLongQuery) + " -- stop"}}.dump());
  });
  ASSERT_FALSE(wait_query_state(port, std::string(kLongQuery) + " -- stop", "RUNNING").is_null());
  const auto signalled = std::chrono::steady_clock::now();
  daemon->signal(SIGTERM);
  EXPECT_EQ(daemon->wait(10s), 0) << daemon->err();
  EXPECT_LT(std::chrono::steady_clock::now() - signalled, 5s);
  last.join();
}

TEST_F(Hostile, AMillionAndAHalfRowsOverHttpKeepTheDaemonsMemoryBounded) {
  std::string yaml = kStreamPipeline;
  yaml.replace(yaml.find("timeout: 3s"), 11, "timeout: 5m");  // a sanitized build is slow
  write_file(yaml);
  auto daemon = start_daemon();
  const int port = daemon_port(*daemon);
  const long baseline = proc_status_kb(daemon->pid(), "VmRSS");
  auto r =
      http_call("POST", url(port, "/v1/query"),
                nlohmann::json{{"sql", "SELECT i, repeat('x', 300) AS pad FROM range(1500000) t(i)"}}.dump());
  ASSERT_EQ(r.status, 200) << r.body.substr(0, 300);
  auto result = nlohmann::json::parse(r.body);
  EXPECT_EQ(result["row_count"], 1500000);
  EXPECT_EQ(result["truncated"], true);
  EXPECT_EQ(result["rows"].size(), 1000u);
  const long peak = proc_status_kb(daemon->pid(), "VmHWM");
  // Materialised, the result is ~450 MB of text (the old daemon peaked at 5.6 GB for this).
  EXPECT_LT(peak - baseline, 400 * 1024) << "peak " << peak << " kB, baseline " << baseline << " kB";

  // Every row is in the saved CSV: paged, and streamed whole.
  const std::string id = result["query_id"];
  auto page =
      nlohmann::json::parse(http_call("GET", url(port, "/v1/queries/" + id + "/results?max_rows=3")).body);
  ASSERT_EQ(page["rows"].size(), 3u);
  EXPECT_EQ(page["rows"][2][0], "2");
  auto next = http_call("GET", url(port, "/v1/queries/" + id + "/results?max_rows=2&next_token=" +
                                             page["next_token"].get<std::string>()));
  EXPECT_EQ(nlohmann::json::parse(next.body)["rows"][0][0], "3");
  auto csv = http_call("GET", url(port, "/v1/queries/" + id + "/results.csv"));
  ASSERT_EQ(csv.status, 200);
  EXPECT_EQ(std::count(csv.body.begin(), csv.body.end(), '\n'), 1500001);
  daemon->signal(SIGTERM);
  EXPECT_EQ(daemon->wait(10s), 0);
}

TEST_F(Hostile, ValidateAndStartRefuseBadProcessorSqlAndQueriesTakeComments) {
  write_file(R"yaml(data_dir: ./data
server: {port: 0}
buckets: [raw]
processors:
  users:
    input: {bucket: raw, prefix: raw/users/}
    steps:
      - flatten
      - filter: "id <<< 5 AND ("
    output: {key: "processed/{name}"}
  typed:
    input:
      bucket: raw
      prefix: raw/typed/
      schema: {id: BIGINT, address: "STRUCT(city VARCHAR)"}
    steps:
      - flatten
      - filter: "address_city = 'x' AND nope > 1 -- the unknown column"
    output: {key: "processed/t/{name}"}
)yaml");
  auto v = sluice({"validate", pipeline_.string()});
  EXPECT_EQ(v.code, 1);
  EXPECT_THAT(v.err,
              HasSubstr("pipeline.yaml:9:17: processors.users.steps[1]: step 2 (filter): Parser Error"));
  EXPECT_THAT(v.err,
              HasSubstr("pipeline.yaml:18:17: processors.typed.steps[1]: step 2 (filter): Binder Error"));
  EXPECT_THAT(v.err, HasSubstr("\"nope\""));
  auto run = sluice({"run", pipeline_.string()});
  EXPECT_EQ(run.code, 1);
  EXPECT_THAT(run.err, HasSubstr("Parser Error"));

  // Without a declared schema, the steps are bound against an input object that is already there.
  write_file(R"yaml(data_dir: ./data
buckets: [raw]
processors:
  users:
    input: {bucket: raw, prefix: raw/users/}
    steps: [flatten, {filter: "address_geo_lat = '1' AND company_nope = 1"}]
    output: {key: "processed/{name}"}
)yaml");
  fs::write_file_atomic(dir_.path() / "data/objects/raw/raw/users/u.json",
                        R"([{"id": 1, "address": {"geo": {"lat": "1"}}}])");
  v = sluice({"validate", pipeline_.string()});
  EXPECT_EQ(v.code, 1);
  EXPECT_THAT(v.err, HasSubstr("company_nope"));
  EXPECT_THAT(v.err, HasSubstr("bound against the columns of s3://raw/raw/users/u.json"));

  EXPECT_EQ(sluice({"reprocess", "users", "--list", "-p", pipeline_.string()}).code, 0);  // opens the data
  auto q = sluice({"query", "SELECT 1 AS one -- a comment", "-p", pipeline_.string(), "--format", "csv"});
  EXPECT_EQ(q.code, 0) << q.err;
  EXPECT_EQ(q.out, "\"one\"\n\"1\"\n");
  q = sluice({"query", "SELECT 2 AS two;\n\n", "-p", pipeline_.string(), "--format", "json"});
  EXPECT_EQ(q.code, 0) << q.err;
  EXPECT_EQ(nlohmann::json::parse(q.out)["rows"][0][0], "2");
}

TEST_F(Hostile, CtrlCCancelsACommandLineQuery) {
  write_file("data_dir: ./data\nbuckets: [raw]\n");
  EXPECT_EQ(sluice({"runs", "-p", pipeline_.string()}).code, 1);  // no data yet
  fs::create_directories_durable(dir_.path() / "data");
  ASSERT_EQ(sluice({"trigger", "nothing", "-p", pipeline_.string()}).code, 1);  // opens the data directory
  Process query({kSluice, "query", kLongQuery, "-p", pipeline_.string()}, dir_.path());
  // SIGINT only once the query runs (before, it would end the process the default way).
  for (int i = 0; i < 100; ++i) {
    auto h = sluice({"queries", "-p", pipeline_.string(), "--format", "json"});
    if (h.code == 0 && h.out.find("RUNNING") != std::string::npos) break;
    std::this_thread::sleep_for(100ms);
  }
  query.signal(SIGINT);
  EXPECT_EQ(query.wait(10s), 130) << query.err();
  EXPECT_THAT(query.err(), HasSubstr("query cancelled by Ctrl-C"));
  auto history = sluice({"queries", "-p", pipeline_.string(), "--format", "json"});
  EXPECT_EQ(nlohmann::json::parse(history.out)[0]["state"], "CANCELLED") << history.out;
}

TEST_F(Hostile, QuarantinedInputIsProcessedAgainAfterTheProcessorIsFixed) {
  auto yaml = [&](const std::string& cast) {
    return "data_dir: ./data\nserver: {port: 0}\n" + testing_util::pipeline_yaml(base(), "none") +
           "processors:\n"
           "  users:\n"
           "    input: {bucket: raw, prefix: raw/users/}\n"
           "    steps: [flatten, {cast: {" +
           cast +
           "}}]\n"
           "    output: {key: \"processed/users/{name}\"}\n";
  };
  write_file(yaml("username: INTEGER"));  // "Bret" is no integer: the input's fault
  auto t = sluice({"trigger", "users", "-p", pipeline_.string()});
  EXPECT_EQ(t.code, 1);
  auto list = sluice({"reprocess", "users", "--list", "-p", pipeline_.string()});
  EXPECT_EQ(list.code, 0) << list.err;
  EXPECT_THAT(list.out, HasSubstr("s3://raw/raw/users/users_"));
  EXPECT_THAT(list.out, HasSubstr("Conversion Error"));
  auto quarantined = dir_.path() / "data/objects/raw/errors/users/raw/users";
  ASSERT_EQ(std::distance(std::filesystem::directory_iterator(quarantined), {}), 2);  // input + .error.json

  write_file(yaml("id: VARCHAR"));
  auto again = sluice({"reprocess", "users", "-p", pipeline_.string()});
  EXPECT_EQ(again.code, 0) << again.err;
  EXPECT_THAT(again.out, HasSubstr("reprocess s3://raw/raw/users/users_"));
  EXPECT_FALSE(std::filesystem::exists(quarantined)) << "the quarantine copy stays after success";
  EXPECT_EQ(std::distance(
                std::filesystem::directory_iterator(dir_.path() / "data/objects/raw/processed/users"), {}),
            1);
  auto none = sluice({"reprocess", "users", "--list", "-p", pipeline_.string()});
  EXPECT_EQ(none.out, "");
  auto unknown = sluice({"reprocess", "users", "raw/users/nope.json", "-p", pipeline_.string()});
  EXPECT_EQ(unknown.code, 1);
  EXPECT_THAT(unknown.err, HasSubstr("has no failed input with key \"raw/users/nope.json\""));
}

// Posts `n` records with ids from `first`; returns the HTTP status and fills Retry-After.
HttpResult post_batch(int port, int first, int n) {
  std::string body;
  for (int i = first; i < first + n; ++i)
    body += "{\"id\": " + std::to_string(i) + ", \"user\": {\"name\": \"" + std::string(150, 'n') + "\"}}\n";
  return http_call("POST", "http://127.0.0.1:" + std::to_string(port) + "/v1/streams/events/records", body);
}

TEST_F(Hostile, AFullDiskIsRetryableHealsWithoutARestartAndLosesNothing) {
  testing_util::SmallFilesystem disk(96ull << 20);
  if (!disk.available()) GTEST_SKIP() << disk.reason();
  std::string yaml = kStreamPipeline;
  yaml.replace(yaml.find("data_dir: ./data"), 16, "data_dir: " + (disk.path() / "data").string());
  write_file(yaml);
  auto daemon = start_daemon();
  const int port = daemon_port(*daemon);
  std::set<int> acked;
  int next_id = 0;
  auto post = [&](int n) {
    auto r = post_batch(port, next_id, n);
    if (r.status == 200)
      for (int i = next_id; i < next_id + n; ++i) acked.insert(i);
    next_id += n;
    return r;
  };
  for (int i = 0; i < 10; ++i) ASSERT_EQ(post(200).status, 200);

  disk.fill(64 << 10);
  HttpResult refused;
  for (int i = 0; i < 200 && refused.status != 503; ++i) {
    refused = post(500);
    ASSERT_TRUE(refused.status == 200 || refused.status == 503) << refused.status << " " << refused.body;
  }
  ASSERT_EQ(refused.status, 503) << "the disk never filled";
  EXPECT_THAT(refused.headers, HasSubstr("Retry-After"));
  EXPECT_THAT(refused.body, HasSubstr("No space left on device"));
  std::this_thread::sleep_for(3s);  // deliveries and processing meet the full disk too
  EXPECT_EQ(post(500).status, 503) << "still full";

  disk.release();
  HttpResult healed;
  for (int i = 0; i < 50 && healed.status != 200; ++i) {
    healed = post(100);
    if (healed.status != 200) std::this_thread::sleep_for(200ms);
  }
  EXPECT_EQ(healed.status, 200) << "ingest did not heal without a restart: " << healed.body;
  for (int i = 0; i < 5; ++i) EXPECT_EQ(post(200).status, 200);

  // Every acknowledged record reaches the table exactly once; refused batches leave nothing.
  const std::string count_sql =
      nlohmann::json{{"sql", "SELECT count(*), count(DISTINCT id), max(id) FROM events"}}.dump();
  nlohmann::json row;
  for (int i = 0; i < 300; ++i) {
    auto r = http_call("POST", url(port, "/v1/query"), count_sql);
    if (r.status == 200) {
      row = nlohmann::json::parse(r.body)["rows"][0];
      if (row[0] == std::to_string(acked.size())) break;
    }
    std::this_thread::sleep_for(200ms);
  }
  EXPECT_EQ(row[0], std::to_string(acked.size())) << row.dump();
  EXPECT_EQ(row[1], std::to_string(acked.size())) << row.dump();
  EXPECT_EQ(row[2], std::to_string(*acked.rbegin())) << row.dump();
  EXPECT_FALSE(std::filesystem::exists(disk.path() / "data/objects/lake/errors"))
      << "good input was quarantined";
  daemon->signal(SIGTERM);
  EXPECT_EQ(daemon->wait(10s), 0) << daemon->err();
}

TEST_F(Hostile, TheLowDiskThresholdRefusesIngestBeforeTheDiskIsFull) {
  testing_util::SmallFilesystem disk(64ull << 20);
  if (!disk.available()) GTEST_SKIP() << disk.reason();
  std::string yaml = kStreamPipeline;
  yaml.replace(yaml.find("data_dir: ./data"), 16, "data_dir: " + (disk.path() / "data").string());
  yaml.replace(yaml.find("min_free_disk: 0"), 16, "min_free_disk: 32MiB");
  write_file(yaml);
  auto daemon = start_daemon();
  const int port = daemon_port(*daemon);
  EXPECT_EQ(post_batch(port, 0, 10).status, 200);
  disk.fill(16 << 20);
  std::this_thread::sleep_for(200ms);  // past the threshold's cached answer
  auto refused = post_batch(port, 10, 10);
  EXPECT_EQ(refused.status, 503);
  EXPECT_THAT(refused.body, HasSubstr("below the low-disk threshold"));
  EXPECT_THAT(refused.body, HasSubstr("streams.events.min_free_disk"));
  disk.release();
  std::this_thread::sleep_for(200ms);
  EXPECT_EQ(post_batch(port, 10, 10).status, 200);
  daemon->signal(SIGTERM);
  EXPECT_EQ(daemon->wait(10s), 0);
}

}  // namespace
}  // namespace sluice
