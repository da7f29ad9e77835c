// The original batch pipeline — extract, process, crawl, query — on the S3 back-end, against a second
// sluice daemon's S3 API, gives the same query result as on the local store; every object the
// pipeline wrote is in the peer, and the client daemon keeps no object file of its own.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <thread>

#include "common/fs.h"
#include "daemon/backends.h"
#include "daemon/daemon.h"
#include "fixture/fixture_api.h"
#include "tests/common/http.h"
#include "tests/common/temp_dir.h"
#include "tests/daemon/test_pipeline.h"
#include "tests/storage/s3_peer.h"

namespace sluice::storage {
namespace {

using namespace std::chrono_literals;

config::Pipeline batch_pipeline(const fixture::FixtureApi& api, const std::filesystem::path& dir) {
  return testing_util::batch_pipeline("http://127.0.0.1:" + std::to_string(api.port()), dir);
}

// Runs users through the daemon and returns the query's rows once the table answers (null if never).
nlohmann::json run_and_query(const config::Pipeline& pipeline, const daemon::Backends& backends) {
  daemon::Daemon daemon(pipeline, backends);
  daemon.start();
  const std::string base = "http://127.0.0.1:" + std::to_string(daemon.port());
  const auto trigger = testing_util::http_request("POST", base + "/v1/trigger/users");
  EXPECT_EQ(trigger.status, 200) << trigger.body;
  const std::string sql = R"({"sql": "SELECT id, name, address_city, company_name FROM users ORDER BY id"})";
  for (int i = 0; i < 150; ++i) {
    const auto answer = testing_util::http_request("POST", base + "/v1/query", sql);
    if (answer.status == 200) return nlohmann::json::parse(answer.body)["rows"];
    std::this_thread::sleep_for(100ms);
  }
  return nullptr;
}

TEST(S3Pipeline, TheBatchPipelineOnS3GivesTheLocalStoresResult) {
  fixture::FixtureApi api(fs::read_file(std::string(SLUICE_FIXTURES_DIR) + "/jsonplaceholder/db.json"));
  api.start();
  testing_util::TempDir dir;

  const auto local = batch_pipeline(api, dir.path() / "local");
  const nlohmann::json expected = run_and_query(local, daemon::backends_for(local));
  ASSERT_FALSE(expected.is_null()) << "the local table never became queryable";
  ASSERT_EQ(expected.size(), 4u);

  s3_peer::SluicePeer peer(dir.path() / "peer");
  const auto on_s3 = batch_pipeline(api, dir.path() / "s3");
  daemon::Backends backends = daemon::backends_for(on_s3);
  backends.object_store = [&](const config::Pipeline& p, ObjectEventLog* events, bool owner) {
    return std::make_unique<S3ObjectStore>(s3_peer::store_config(peer.endpoint(), p.data_dir / "s3-cache"),
                                           p.buckets, events, owner);
  };
  const nlohmann::json rows = run_and_query(on_s3, backends);
  ASSERT_FALSE(rows.is_null()) << "the table on S3 never became queryable";
  EXPECT_EQ(rows, expected);

  std::vector<std::string> keys;
  for (const auto& o : peer.objects().list("raw", {}).objects) keys.push_back(o.key);
  EXPECT_THAT(keys, ::testing::Contains(::testing::StartsWith("raw/users/users_")));
  EXPECT_THAT(keys, ::testing::Contains(::testing::StartsWith("processed/users/processed_users_")));
  EXPECT_THAT(keys, ::testing::Contains(::testing::StartsWith("athena/results/")));
  EXPECT_FALSE(std::filesystem::exists(on_s3.data_dir / "objects"));
}

}  // namespace
}  // namespace sluice::storage
