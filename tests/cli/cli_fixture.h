// Shared by the tests of the sluice binary: a loopback FixtureApi standing in for
// jsonplaceholder.typicode.com, a temporary directory with a pipeline file, and helpers to run the
// binary, start the daemon and find its port, and talk to it over HTTP.
#pragma once

#include <curl/curl.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <regex>
#include <thread>

#include "common/fs.h"
#include "fixture/fixture_api.h"
#include "tests/common/http.h"
#include "tests/common/process.h"
#include "tests/common/temp_dir.h"
#include "tests/daemon/test_pipeline.h"

namespace sluice {
namespace cli_testing {

using namespace std::chrono_literals;
using ::testing::HasSubstr;
using testing_util::Process;

inline const std::string kSluice = SLUICE_BINARY;

inline std::string fixture_db() {
  return fs::read_file(std::string(SLUICE_FIXTURES_DIR) + "/jsonplaceholder/db.json");
}

// POST; returns the HTTP status (0 when the connection failed).
inline long http_post(const std::string& url, const std::string& body = "", long timeout_seconds = 60) {
  CURL* curl = curl_easy_init();
  curl_easy_setopt(curl, CURLOPT_URL, url.c_str());
  curl_easy_setopt(curl, CURLOPT_POSTFIELDS, body.c_str());
  curl_easy_setopt(curl, CURLOPT_TIMEOUT, timeout_seconds);
  curl_easy_setopt(
      curl, CURLOPT_WRITEFUNCTION, +[](char*, size_t s, size_t n, void*) { return s * n; });
  long status = 0;
  if (curl_easy_perform(curl) == CURLE_OK) curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &status);
  curl_easy_cleanup(curl);
  return status;
}

using testing_util::http_request;
using testing_util::HttpResult;

// http_request without extra headers.
inline HttpResult http_call(const std::string& method, const std::string& url, const std::string& body = "",
                            long timeout_ms = 60'000) {
  return http_request(method, url, body, {}, timeout_ms);
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

}  // namespace cli_testing
}  // namespace sluice
