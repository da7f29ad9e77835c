#include "extract/extractor.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <thread>

#include "common/fs.h"
#include "fixture/fixture_api.h"
#include "storage/local_object_store.h"
#include "tests/common/temp_dir.h"

namespace sluice::extract {
namespace {

using namespace std::chrono_literals;
using ::testing::HasSubstr;

nlohmann::ordered_json db() {
  static const nlohmann::ordered_json parsed = nlohmann::ordered_json::parse(
      fs::read_file(std::string(SLUICE_FIXTURES_DIR) + "/jsonplaceholder/db.json"));
  return parsed;
}

class ExtractTest : public ::testing::Test {
 protected:
  void SetUp() override {
    api_.start();
    ctx_.time = *parse_iso8601_utc("2026-11-24T09:00:00Z");
    ctx_.run_id = 7;
    ctx_.sleep = [this](std::chrono::milliseconds d) { sleeps_.push_back(d); };
    ctx_.env = [this](const std::string& name) -> std::optional<std::string> {
      auto it = env_.find(name);
      if (it == env_.end()) return std::nullopt;
      return it->second;
    };
  }
  SourceConfig source(const std::string& path) {
    SourceConfig s;
    s.name = "users";
    s.url = base() + path;
    s.to = "s3://raw/raw/users/jsonplaceholder_users_{date}.json";
    s.retry.base_delay = 100ms;
    s.retry.max_delay = 1s;
    return s;
  }
  std::string base() const { return "http://127.0.0.1:" + std::to_string(api_.port()); }
  std::vector<std::string> keys() {
    std::vector<std::string> out;
    for (const auto& o : store_.list("raw", {}).objects) out.push_back(o.key);
    return out;
  }
  std::string error_of(const SourceConfig& s) {
    try {
      run_extract(s, ctx_, store_);
    } catch (const Error& e) {
      return e.what();
    }
    ADD_FAILURE() << "the run succeeded";
    return "";
  }

  fixture::FixtureApi api_{fs::read_file(std::string(SLUICE_FIXTURES_DIR) + "/jsonplaceholder/db.json")};
  testing_util::TempDir dir_;
  storage::LocalObjectStore store_{dir_.path(), {"raw"}, nullptr};
  ExtractContext ctx_;
  std::vector<std::chrono::milliseconds> sleeps_;
  std::map<std::string, std::string> env_;
};

TEST_F(ExtractTest, StoresTheBodyExactlyAsReceived) {
  auto result = run_extract(source("/users"), ctx_, store_);
  EXPECT_EQ(result.bucket, "raw");
  EXPECT_EQ(result.key, "raw/users/jsonplaceholder_users_2026-11-24.json");
  EXPECT_EQ(result.records, 10u);
  EXPECT_EQ(result.pages, 1);
  EXPECT_EQ(result.attempts, 1);
  const std::string body = store_.get("raw", result.key);
  EXPECT_EQ(body, db()["users"].dump(2));
  EXPECT_EQ(result.bytes, body.size());
}

TEST_F(ExtractTest, Retries5xxThenSucceedsWithOneObject) {
  api_.script("/users", {fixture::Fault{.status = 500}, fixture::Fault{.status = 503}});
  auto result = run_extract(source("/users"), ctx_, store_);
  EXPECT_EQ(result.attempts, 3);
  EXPECT_EQ(api_.request_count("/users"), 3);
  EXPECT_EQ(keys().size(), 1u);
  ASSERT_EQ(sleeps_.size(), 2u);
  // Full jitter: each wait is within [0, base * 2^(attempt-1)].
  EXPECT_LE(sleeps_[0], 100ms);
  EXPECT_LE(sleeps_[1], 200ms);
}

TEST_F(ExtractTest, RetryAfterIsHonoured) {
  api_.script("/users", {fixture::Fault{.status = 429, .headers = {{"Retry-After", "3"}}}});
  auto result = run_extract(source("/users"), ctx_, store_);
  EXPECT_EQ(result.attempts, 2);
  ASSERT_EQ(sleeps_.size(), 1u);
  EXPECT_GE(sleeps_[0], 3s);
}

TEST_F(ExtractTest, RetryAfterReallyWaits) {
  ctx_.sleep = nullptr;  // the real, interruptible sleep
  api_.script("/users", {fixture::Fault{.status = 503, .headers = {{"Retry-After", "1"}}}});
  const auto start = std::chrono::steady_clock::now();
  run_extract(source("/users"), ctx_, store_);
  EXPECT_GE(std::chrono::steady_clock::now() - start, 1s);
}

TEST_F(ExtractTest, RetryAfterBeyondTheLimitFails) {
  api_.script("/users", {fixture::Fault{.status = 503, .headers = {{"Retry-After", "86400"}}}});
  EXPECT_THAT(error_of(source("/users")),
              HasSubstr("Retry-After of 86400 s, longer than retry.max_retry_after"));
  EXPECT_TRUE(keys().empty());
}

TEST_F(ExtractTest, NotFoundIsNotRetried) {
  const std::string error = error_of(source("/nope"));
  EXPECT_THAT(error, HasSubstr("source users: GET " + base() + "/nope -> HTTP 404 Not Found (not retried)"));
  EXPECT_EQ(api_.request_count("/nope"), 1);
  EXPECT_TRUE(keys().empty());
}

TEST_F(ExtractTest, TimeoutIsRetriedThenReported) {
  auto s = source("/users");
  s.total_timeout = 200ms;
  s.retry.max_attempts = 2;
  api_.script("/users", {fixture::Fault{.delay = 2s}, fixture::Fault{.delay = 2s}});
  EXPECT_THAT(error_of(s), HasSubstr("failed after 2 attempts: timed out"));
  EXPECT_EQ(api_.request_count("/users"), 2);
  EXPECT_TRUE(keys().empty());
}

TEST_F(ExtractTest, GivesUpAfterMaxAttempts) {
  auto s = source("/users");
  s.retry.max_attempts = 3;
  api_.script("/users", std::vector<fixture::Fault>(3, fixture::Fault{.status = 502}));
  EXPECT_THAT(error_of(s), HasSubstr("failed after 3 attempts: HTTP 502 Bad Gateway"));
  EXPECT_TRUE(keys().empty());
}

TEST_F(ExtractTest, InvalidJsonNamesUrlStatusAndOffsetAndWritesNothing) {
  api_.script("/users", {fixture::Fault{.body = std::string("[{\"id\": 1}, {\"id\": tru}]")}});
  const std::string error = error_of(source("/users"));
  EXPECT_THAT(error, HasSubstr("GET " + base() + "/users -> HTTP 200"));
  EXPECT_THAT(error, HasSubstr("not valid JSON"));
  EXPECT_THAT(error, HasSubstr("at byte 19"));
  EXPECT_TRUE(keys().empty());
}

TEST_F(ExtractTest, PagePagination) {
  auto s = source("/comments");
  s.pagination.kind = PaginationConfig::Kind::kPage;
  s.pagination.limit = 100;
  auto result = run_extract(s, ctx_, store_);
  EXPECT_EQ(result.records, 500u);
  EXPECT_EQ(result.pages, 6);  // five full pages and the empty one
  EXPECT_EQ(nlohmann::json::parse(store_.get("raw", result.key)), db()["comments"]);
  EXPECT_EQ(api_.last_query("/comments").at("_page"), "6");
  EXPECT_EQ(api_.last_query("/comments").at("_limit"), "100");
}

TEST_F(ExtractTest, LinkHeaderPagination) {
  auto s = source("/posts?_page=1&_limit=30");
  s.pagination.kind = PaginationConfig::Kind::kLinkHeader;
  auto result = run_extract(s, ctx_, store_);
  EXPECT_EQ(result.records, 100u);
  EXPECT_EQ(result.pages, 4);
  EXPECT_EQ(nlohmann::json::parse(store_.get("raw", result.key)), db()["posts"]);
}

TEST_F(ExtractTest, NextFieldPaginationWithRecordsPath) {
  auto s = source("/api/?results=5&seed=abc&pages=3");
  s.records_path = "results";
  s.pagination.kind = PaginationConfig::Kind::kNextField;
  s.pagination.next_field = "info.next";
  auto result = run_extract(s, ctx_, store_);
  EXPECT_EQ(result.records, 15u);
  EXPECT_EQ(result.pages, 3);
  auto records = nlohmann::json::parse(store_.get("raw", result.key));
  ASSERT_EQ(records.size(), 15u);
  EXPECT_TRUE(records[0].contains("login"));
  EXPECT_TRUE(records[0]["name"].contains("first"));
}

TEST_F(ExtractTest, RecordsPathWithoutPagination) {
  auto s = source("/api/?results=7");
  s.records_path = "results";
  auto result = run_extract(s, ctx_, store_);
  EXPECT_EQ(result.records, 7u);
  EXPECT_EQ(nlohmann::json::parse(store_.get("raw", result.key)).size(), 7u);
  s.records_path = "missing.path";
  EXPECT_THAT(error_of(s), HasSubstr("has no \"missing.path\" (records_path)"));
}

TEST_F(ExtractTest, PageCapFailsAndWritesNothing) {
  auto s = source("/comments");
  s.pagination.kind = PaginationConfig::Kind::kPage;
  s.pagination.limit = 100;
  s.pagination.max_pages = 3;
  EXPECT_THAT(error_of(s), HasSubstr("more than 3 pages (pagination.max_pages)"));
  EXPECT_TRUE(keys().empty());
}

TEST_F(ExtractTest, AuthHeadersQueryAndMissingEnv) {
  auto s = source("/users");
  s.auth.kind = AuthConfig::Kind::kBearer;
  s.auth.token_env = "USERS_TOKEN";
  s.headers["Accept"] = "application/json";
  s.query = {{"b", "2 3"}, {"a", "1"}};
  EXPECT_THAT(error_of(s),
              HasSubstr("source users: environment variable USERS_TOKEN (auth.token_env) is not set"));
  EXPECT_EQ(api_.request_count("/users"), 0);  // nothing was sent
  env_["USERS_TOKEN"] = "s3cret";
  run_extract(s, ctx_, store_);
  EXPECT_EQ(api_.last_headers("/users").at("Authorization"), "Bearer s3cret");
  EXPECT_EQ(api_.last_headers("/users").at("Accept"), "application/json");
  EXPECT_EQ(api_.last_query("/users").at("b"), "2 3");
  s.auth.kind = AuthConfig::Kind::kApiKey;
  s.auth.value_env = "KEY";
  s.auth.query_param = "apikey";
  env_["KEY"] = "k1";
  run_extract(s, ctx_, store_);
  EXPECT_EQ(api_.last_query("/users").at("apikey"), "k1");
}

TEST_F(ExtractTest, CancellationAbortsASlowRequestQuickly) {
  std::atomic<bool> cancel{false};
  ctx_.cancel = &cancel;
  api_.script("/users", {fixture::Fault{.delay = 20s}});
  std::thread stopper([&] {
    std::this_thread::sleep_for(200ms);
    cancel = true;
  });
  const auto start = std::chrono::steady_clock::now();
  EXPECT_THAT(error_of(source("/users")), HasSubstr("cancelled"));
  EXPECT_LT(std::chrono::steady_clock::now() - start, 5s);
  stopper.join();
  EXPECT_TRUE(keys().empty());
}

TEST_F(ExtractTest, KeyTemplatesRenderInTheZone) {
  ctx_.time = *parse_iso8601_utc("2026-11-24T23:30:00Z");
  ctx_.timezone = "Europe/Paris";
  EXPECT_EQ(render_key("raw/{source}/{date}/{datetime}-{run_id}.json", "users", ctx_),
            "raw/users/2026-11-25/2026-11-25T00-30-00-7.json");
  ctx_.timezone = "UTC";
  EXPECT_EQ(render_key("{date}", "users", ctx_), "2026-11-24");
  EXPECT_THAT(validate_destination("s3://raw/{month}.json"), HasSubstr("unknown field {month}"));
  EXPECT_THAT(validate_destination("https://raw/x"), HasSubstr("expected s3://BUCKET/KEY-TEMPLATE"));
  EXPECT_THAT(validate_destination("s3://raw/"), HasSubstr("with a bucket and a key"));
  EXPECT_THAT(validate_destination("s3://raw/../x"), HasSubstr("\"..\" segment"));
  EXPECT_THAT(validate_destination("s3://raw/{date"), HasSubstr("unclosed '{'"));
  EXPECT_EQ(validate_destination("s3://raw/raw/users/jsonplaceholder_users_{date}.json"), "");
}

TEST(ExtractJsonLocator, PointsAtTheFirstError) {
  EXPECT_EQ(first_json_error_offset("[1, 2, 3]"), std::nullopt);
  EXPECT_EQ(first_json_error_offset("{\"a\": [true, null, -1.5e3, \"x\\u00e9\"]}"), std::nullopt);
  EXPECT_EQ(first_json_error_offset("[1, 2,]"), 6u);
  EXPECT_EQ(first_json_error_offset("{\"a\" 1}"), 5u);
  EXPECT_EQ(first_json_error_offset("[1] x"), 4u);
  EXPECT_EQ(first_json_error_offset(""), 0u);
  EXPECT_EQ(first_json_error_offset("<html>"), 0u);
}

}  // namespace
}  // namespace sluice::extract
