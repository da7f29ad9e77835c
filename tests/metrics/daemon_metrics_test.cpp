// GET /metrics of a Runtime served by the daemon's Api, after known work, parsed by the reference
// Prometheus text-format parser (Debian's python3-prometheus-client, through parse_exposition.py).
#include <gtest/gtest.h>

#include <cmath>
#include <cstdlib>
#include <map>
#include <nlohmann/json.hpp>
#include <sstream>

#include "common/fs.h"
#include "config/pipeline.h"
#include "daemon/api.h"
#include "daemon/runtime.h"
#include "fixture/fixture_api.h"
#include "storage/object_store.h"
#include "stream/stream.h"
#include "tests/common/http.h"
#include "tests/common/temp_dir.h"
#include "tests/daemon/test_pipeline.h"

namespace sluice::daemon {
namespace {

constexpr char kPipeline[] = R"(streams:
  clicks: {shards: 2}
deliveries:
  click-files:
    stream: clicks
    to: s3://raw/raw/clicks/
    buffer: {size: 1MiB, interval: 1s}
processors:
  flatten-clicks:
    input: {bucket: raw, prefix: raw/clicks/}
    steps:
      - flatten
    output: {key: "processed/clicks/{name}.jsonl"}
)";

constexpr char kTokenVariable[] = "SLUICE_METRICS_TEST_TOKEN";
constexpr char kToken[] = "metrics-test-token-0123456789";

// Sends `method` to `url` with `body` and `headers` (and the bearer token when `token` is set):
// {status, body}.
std::pair<long, std::string> request(const std::string& method, const std::string& url,
                                     const std::string& token, const std::string& body = "",
                                     std::vector<std::string> headers = {}) {
  if (!token.empty()) headers.push_back("Authorization: Bearer " + token);
  auto r = testing_util::http_request(method, url, body, headers);
  return {r.status, r.body};
}

std::pair<long, std::string> get(const std::string& url, const std::string& token = "") {
  return request("GET", url, token);
}

// One parsed sample: its name (with _total, _bucket...) and labels, as the reference parser read them.
struct Samples {
  std::vector<nlohmann::json> all;
  // The value of the sample `name` with exactly `labels`; NaN when there is none.
  double value(const std::string& name, const std::map<std::string, std::string>& labels) const {
    for (const auto& s : all)
      if (s["name"] == name && s["labels"].get<std::map<std::string, std::string>>() == labels)
        return s["value"].is_number() ? s["value"].get<double>() : std::nan("");
    return std::nan("");
  }
  std::string type_of(const std::string& family) const {
    for (const auto& s : all)
      if (s["family"] == family) return s["type"];
    return "";
  }
};

class DaemonMetrics : public ::testing::Test {
 protected:
  void SetUp() override {
    fixture_.start();
    ::setenv(kTokenVariable, kToken, 1);
    auto p = config::parse_pipeline(std::string("server: {port: 0, auth: {token_env: ") + kTokenVariable +
                                        "}}\n" + testing_util::pipeline_yaml(base()) + kPipeline,
                                    dir_.path() / "p.yaml");
    p.data_dir = dir_.path() / "data";
    runtime_ = std::make_unique<Runtime>(std::move(p));
    api_ = std::make_unique<Api>(*runtime_);
  }
  void TearDown() override {
    api_.reset();
    runtime_.reset();
    ::unsetenv(kTokenVariable);
  }
  std::string base() const { return "http://127.0.0.1:" + std::to_string(fixture_.port()); }
  std::string metrics_url() const { return "http://127.0.0.1:" + std::to_string(api_->port()) + "/metrics"; }

  // Scrapes /metrics and parses it with prometheus_client; skips the test when that is not installed.
  Samples scrape() {
    auto [status, body] = get(metrics_url(), kToken);
    EXPECT_EQ(status, 200) << body;
    const auto file = dir_.path() / ("scrape-" + std::to_string(scrapes_++) + ".txt");
    fs::write_file_atomic(file, body);
    const auto out = dir_.path() / "parsed.jsonl";
    const std::string command =
        "/usr/bin/python3 " SLUICE_METRICS_PARSER " " + file.string() + " > " + out.string();
    const int rc = std::system(command.c_str());
    if (WIFEXITED(rc) && WEXITSTATUS(rc) == 2) throw std::runtime_error("no prometheus_client");
    EXPECT_EQ(rc, 0) << "the reference parser refused:\n" << body;
    Samples samples;
    std::istringstream lines(fs::read_file(out));
    for (std::string line; std::getline(lines, line);) samples.all.push_back(nlohmann::json::parse(line));
    return samples;
  }

  testing_util::TempDir dir_;
  fixture::FixtureApi fixture_{fs::read_file(std::string(SLUICE_FIXTURES_DIR) + "/jsonplaceholder/db.json")};
  std::unique_ptr<Runtime> runtime_;
  std::unique_ptr<Api> api_;
  int scrapes_ = 0;
};

TEST_F(DaemonMetrics, IsBehindTheSameTokenAsTheRestOfTheApi) {
  EXPECT_EQ(get(metrics_url()).first, 401);
  EXPECT_EQ(get(metrics_url(), "wrong-token-wrong-token").first, 401);
  auto [status, body] = get(metrics_url(), kToken);
  EXPECT_EQ(status, 200);
  EXPECT_NE(body.find("# TYPE sluice_runs_total counter"), std::string::npos) << body;
}

TEST_F(DaemonMetrics, FiguresEqualTheWorkDoneAsTheReferenceParserReadsThem) {
  // 12 records over both shards, by partition key.
  std::vector<stream::PutRecord> records;
  uint64_t data_bytes = 0;
  for (int i = 0; i < 12; ++i) {
    records.push_back(
        {.partition_key = "user-" + std::to_string(i), .data = R"({"click":)" + std::to_string(i) + "}"});
    data_bytes += records.back().data.size();
  }
  std::map<std::string, int> per_shard;
  for (const auto& result : runtime_->put_records("clicks", records)) ++per_shard[result.shard_id];
  ASSERT_EQ(per_shard.size(), 2u);  // the keys spread over both shards

  Samples before;
  try {
    before = scrape();
  } catch (const std::runtime_error&) {
    GTEST_SKIP() << "/usr/bin/python3 has no prometheus_client (python3-prometheus-client)";
  }
  for (const auto& [shard, count] : per_shard) {
    EXPECT_EQ(before.value("sluice_stream_records_put_total", {{"stream", "clicks"}, {"shard", shard}}),
              count);
    EXPECT_EQ(before.value("sluice_delivery_lag_records", {{"delivery", "click-files"}, {"shard", shard}}),
              count);
  }
  EXPECT_EQ(before.type_of("sluice_delivery_lag_records"), "gauge");

  // Delivery (one object per shard), a source run, processing with one bad input, two queries.
  ASSERT_EQ(runtime_->deliver(now_ms() + std::chrono::seconds(2)), 12u);
  runtime_->objects().put("raw", "raw/clicks/broken.json", "{\"click\": ");
  ASSERT_EQ(runtime_->run_source("users", "manual", std::nullopt).status, metastore::RunStatus::kSucceeded);
  runtime_->process_pending();
  runtime_->query("SELECT 42");
  EXPECT_THROW(runtime_->query("SELECT * FROM no_such_table"), query::QueryFailed);

  const Samples after = scrape();
  double puts = 0, bytes = 0;
  for (const auto& [shard, count] : per_shard) {
    puts += after.value("sluice_stream_records_put_total", {{"stream", "clicks"}, {"shard", shard}});
    bytes += after.value("sluice_stream_put_bytes_total", {{"stream", "clicks"}, {"shard", shard}});
    EXPECT_EQ(after.value("sluice_delivery_lag_records", {{"delivery", "click-files"}, {"shard", shard}}), 0);
  }
  EXPECT_EQ(puts, 12);
  EXPECT_EQ(bytes, static_cast<double>(data_bytes));
  EXPECT_EQ(after.type_of("sluice_stream_records_put"), "counter");

  EXPECT_EQ(after.value("sluice_delivery_latency_seconds_count", {{"delivery", "click-files"}}), 12);
  EXPECT_EQ(
      after.value("sluice_delivery_latency_seconds_bucket", {{"delivery", "click-files"}, {"le", "+Inf"}}),
      12);
  EXPECT_EQ(after.type_of("sluice_delivery_latency_seconds"), "histogram");

  const std::map<std::string, std::string> processor = {{"processor", "flatten-clicks"}};
  EXPECT_EQ(after.value("sluice_objects_processed_total", processor), 2);  // one object per shard
  EXPECT_EQ(after.value("sluice_objects_quarantined_total", processor), 1);
  EXPECT_TRUE(std::isnan(after.value("sluice_objects_failed_total", processor)));  // never failed otherwise
  EXPECT_EQ(after.value("sluice_processing_latency_seconds_count", processor), 2);

  EXPECT_EQ(after.value("sluice_runs_total", {{"kind", "source"}, {"status", "succeeded"}}), 1);
  EXPECT_EQ(after.value("sluice_runs_total", {{"kind", "process"}, {"status", "succeeded"}}), 2);
  EXPECT_EQ(after.value("sluice_runs_total", {{"kind", "process"}, {"status", "failed"}}), 1);
  EXPECT_EQ(after.value("sluice_run_duration_seconds_count", {{"kind", "process"}}), 3);
  EXPECT_EQ(after.value("sluice_run_duration_seconds_bucket", {{"kind", "source"}, {"le", "+Inf"}}), 1);

  EXPECT_EQ(after.value("sluice_queries_total", {{"state", "SUCCEEDED"}}), 1);
  EXPECT_EQ(after.value("sluice_queries_total", {{"state", "FAILED"}}), 1);
}

TEST_F(DaemonMetrics, PutsThroughTheIngestRouteAndTheKinesisApiAreCountedToo) {
  const std::string base_url = "http://127.0.0.1:" + std::to_string(api_->port());
  auto [ingest_status, ingest_body] =
      request("POST", base_url + "/v1/streams/clicks/records", kToken, "{\"a\":1}\n{\"a\":2}\n{\"a\":3}\n");
  ASSERT_EQ(ingest_status, 200) << ingest_body;
  // The Kinesis API (no AWS keys configured: loopback accepts it unsigned).
  auto [kinesis_status, kinesis_body] =
      request("POST", base_url + "/", "",
              R"({"StreamName":"clicks","Records":[{"Data":"eyJiIjoxfQ==","PartitionKey":"k1"},)"
              R"({"Data":"eyJiIjoyfQ==","PartitionKey":"k2"}]})",
              {"X-Amz-Target: Kinesis_20131202.PutRecords", "Content-Type: application/x-amz-json-1.1"});
  ASSERT_EQ(kinesis_status, 200) << kinesis_body;
  Samples samples;
  try {
    samples = scrape();
  } catch (const std::runtime_error&) {
    GTEST_SKIP() << "Debian's python3-prometheus-client is not installed";
  }
  double records = 0;
  for (const auto& s : samples.all)
    if (s["name"] == "sluice_stream_records_put_total" && s["labels"]["stream"] == "clicks")
      records += s["value"].get<double>();
  EXPECT_EQ(records, 5) << "3 records through /v1/streams/clicks/records and 2 through PutRecords";
}

}  // namespace
}  // namespace sluice::daemon
