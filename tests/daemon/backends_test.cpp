// The daemon over a second object store behind the ObjectStore interface: the memory store of
// tests/common, which has no local files (the stand-in for S3). The original batch pipeline — extract,
// process, crawl, query — runs through the daemon's HTTP API and loops exactly as on the local
// store, without the daemon knowing which store it has.
#include <curl/curl.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <thread>

#include "common/fs.h"
#include "daemon/daemon.h"
#include "fixture/fixture_api.h"
#include "tests/common/memory_object_store.h"
#include "tests/common/temp_dir.h"
#include "tests/daemon/test_pipeline.h"

namespace sluice::daemon {
namespace {

using namespace std::chrono_literals;

// POST with a JSON body; the status and the body.
std::pair<long, std::string> post(const std::string& url, const std::string& body) {
  std::string out;
  CURL* curl = curl_easy_init();
  curl_easy_setopt(curl, CURLOPT_URL, url.c_str());
  curl_easy_setopt(curl, CURLOPT_POSTFIELDS, body.c_str());
  curl_easy_setopt(curl, CURLOPT_TIMEOUT, 60L);
  curl_easy_setopt(
      curl, CURLOPT_WRITEFUNCTION, +[](char* data, size_t size, size_t n, void* sink) {
        static_cast<std::string*>(sink)->append(data, size * n);
        return size * n;
      });
  curl_easy_setopt(curl, CURLOPT_WRITEDATA, &out);
  long status = 0;
  if (curl_easy_perform(curl) == CURLE_OK) curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &status);
  curl_easy_cleanup(curl);
  return {status, out};
}

TEST(DaemonBackends, TheBatchPipelineRunsOnAStoreWithoutLocalFiles) {
  fixture::FixtureApi api(fs::read_file(std::string(SLUICE_FIXTURES_DIR) + "/jsonplaceholder/db.json"));
  api.start();
  testing_util::TempDir dir;
  auto pipeline = testing_util::batch_pipeline("http://127.0.0.1:" + std::to_string(api.port()), dir.path());
  testing_util::MemoryObjectStore* memory = nullptr;
  Backends backends = backends_for(pipeline);
  backends.object_store = [&](const config::Pipeline& p, storage::ObjectEventLog* events, bool) {
    auto store = std::make_unique<testing_util::MemoryObjectStore>(p.buckets, events, p.data_dir / "cache");
    memory = store.get();
    return store;
  };
  Daemon daemon(pipeline, backends);
  daemon.start();
  const std::string base = "http://127.0.0.1:" + std::to_string(daemon.port());

  auto [status, body] = post(base + "/v1/trigger/users", "");
  ASSERT_EQ(status, 200) << body;
  // Processing and the on_change crawl follow in the daemon's loops; then the table answers.
  nlohmann::json result;
  for (int i = 0; i < 150; ++i) {
    auto [code, answer] =
        post(base + "/v1/query", R"({"sql": "SELECT id, address_city FROM users ORDER BY id"})");
    if (code == 200) {
      result = nlohmann::json::parse(answer);
      break;
    }
    std::this_thread::sleep_for(100ms);
  }
  ASSERT_FALSE(result.is_null()) << "the table never became queryable";
  EXPECT_EQ(result["row_count"], 4);
  EXPECT_EQ(result["rows"][0], nlohmann::json({"1", "Gwenborough"}));
  ASSERT_NE(memory, nullptr);
  // Every object is in the memory store — the raw input, the processed output, the query's result —
  // and the daemon made no object file of its own.
  std::vector<std::string> keys;
  for (const auto& o : memory->list("raw", {}).objects) keys.push_back(o.key);
  EXPECT_THAT(keys, ::testing::Contains(::testing::StartsWith("raw/users/users_")));
  EXPECT_THAT(keys, ::testing::Contains(::testing::StartsWith("processed/users/processed_users_")));
  EXPECT_THAT(keys, ::testing::Contains(::testing::StartsWith("athena/results/")));
  EXPECT_FALSE(std::filesystem::exists(pipeline.data_dir / "objects"));
  daemon.stop();
}

}  // namespace
}  // namespace sluice::daemon
