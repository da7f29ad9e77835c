#include "extract/extractor.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <fstream>
#include <nlohmann/json.hpp>
#include <thread>

#include "common/fs.h"
#include "extract/http_client.h"
#include "fixture/fixture_api.h"
#include "storage/local_object_store.h"
#include "tests/common/small_filesystem.h"
#include "tests/common/temp_dir.h"
#include "tests/extract/streaming_server.h"

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

// ---- Caps, bounded memory, temporary files ---------------------------------------------------

// Files left under `dir` whose names say they are temporary (the object store's and the extract's).
std::vector<std::string> temporary_files(const std::filesystem::path& dir) {
  std::vector<std::string> out;
  for (const auto& e : std::filesystem::recursive_directory_iterator(dir)) {
    if (e.path().filename().string().rfind(".sluice-tmp", 0) == 0) out.push_back(e.path().string());
  }
  return out;
}

bool is_empty_dir(const std::filesystem::path& dir) {
  return std::filesystem::is_directory(dir) &&
         std::filesystem::directory_iterator(dir) == std::filesystem::directory_iterator();
}

TEST_F(ExtractTest, PaginatedSourceOverTheTotalCapFailsNamingThePageAndWritesNothing) {
  auto s = source("/comments");
  s.pagination.kind = PaginationConfig::Kind::kPage;
  s.pagination.limit = 100;
  ctx_.scratch_dir = dir_.path() / "tmp";
  // The pages' sizes as the fixture serves them, asked for separately.
  HttpClient client;
  auto page_bytes = [&](int page) {
    HttpGet get;
    get.url = base() + "/comments?_page=" + std::to_string(page) + "&_limit=100";
    return client.get(get).body.size();
  };
  const uint64_t first_two = page_bytes(1) + page_bytes(2);
  s.max_total_bytes = first_two + 1;
  const std::string error = error_of(s);
  EXPECT_THAT(error, HasSubstr("source users: page 3 (GET " + base() +
                               "/comments?_page=3&_limit=100) would take "
                               "the run over " +
                               std::to_string(first_two + 1) +
                               " bytes, the cap of all pages together (max_total_bytes); " +
                               std::to_string(first_two) + " bytes came before it; nothing was written"));
  EXPECT_EQ(error.find('\n'), std::string::npos);
  EXPECT_TRUE(keys().empty());
  EXPECT_TRUE(temporary_files(dir_.path()).empty());
  EXPECT_TRUE(is_empty_dir(ctx_.scratch_dir));

  // Exactly the pages' bytes is within the cap.
  uint64_t all = 0;
  for (int page = 1; page <= 6; ++page) all += page_bytes(page);
  s.max_total_bytes = all;
  EXPECT_EQ(run_extract(s, ctx_, store_).pages, 6);

  // max_response_bytes stays a limit of each response.
  s.max_total_bytes = 1ull << 30;
  s.max_response_bytes = page_bytes(1) - 1;
  EXPECT_THAT(error_of(s), HasSubstr("response larger than " + std::to_string(page_bytes(1) - 1) +
                                     " bytes (max_response_bytes)"));
}

// Record i of the large test bodies (about 280 bytes), as the server writes it or minified as the
// extract stores it.
std::string big_record(uint64_t i, bool minified) {
  const std::string sep = minified ? ":" : ": ", comma = minified ? "," : ", ";
  return "{\"id\"" + sep + std::to_string(i) + comma + "\"name\"" + sep + "\"user " + std::to_string(i) +
         "\"" + comma + "\"bio\"" + sep + "\"" + std::string(200 + i % 50, static_cast<char>('a' + i % 26)) +
         "\"" + comma + "\"score\"" + sep + std::to_string(i * 7 % 1000) + ".5}";
}

// A JSON array of `count` records, written piece by piece (never held whole).
void write_big_body(uint64_t count, const testing_util::StreamingServer::Send& send) {
  std::string piece = "[\n";
  for (uint64_t i = 0; i < count; ++i) {
    piece += (i ? ",\n  " : "  ") + big_record(i, false);
    if (piece.size() >= 64 * 1024) {
      if (!send(piece)) return;
      piece.clear();
    }
  }
  piece += "\n]\n";
  send(piece);
}

// From /proc/self/status: VmRSS (now) or VmHWM (peak since the last reset), in bytes.
uint64_t memory_bytes(const std::string& field) {
  std::ifstream status("/proc/self/status");
  for (std::string line; std::getline(status, line);) {
    if (line.rfind(field + ":", 0) == 0) return std::stoull(line.substr(field.size() + 1)) * 1024;
  }
  return 0;
}

#if defined(__SANITIZE_ADDRESS__)
constexpr bool kSanitized = true;  // shadow memory and quarantine: RSS says nothing about the code
constexpr uint64_t kBigRecords = 60'000;
#else
constexpr bool kSanitized = false;
constexpr uint64_t kBigRecords = 240'000;  // about 64 MB
#endif

TEST_F(ExtractTest, LargeSingleResponseIsStoredByteForByteInBoundedMemory) {
  testing_util::StreamingServer server(
      [](const std::string&, const testing_util::StreamingServer::Send& send) {
        write_big_body(kBigRecords, send);
      });
  auto s = source("/big");
  s.url = server.url("/big");
  ctx_.scratch_dir = dir_.path() / "tmp";
  // VmHWM restarts from the current RSS ("5" to clear_refs), so that its growth is this run's peak.
  const bool peak_reset = static_cast<bool>(std::ofstream("/proc/self/clear_refs") << "5");
  const uint64_t before = memory_bytes("VmRSS");
  const auto result = run_extract(s, ctx_, store_);
  const uint64_t peak = memory_bytes("VmHWM");

  std::string expected;
  write_big_body(kBigRecords, [&](std::string_view piece) {
    expected.append(piece);
    return true;
  });
  EXPECT_EQ(result.records, kBigRecords);
  EXPECT_EQ(result.bytes, expected.size());
  const std::string stored = store_.get("raw", result.key);
  EXPECT_EQ(stored.size(), expected.size());
  EXPECT_TRUE(stored == expected) << "the stored object differs from the response";
  EXPECT_TRUE(temporary_files(dir_.path()).empty());
  EXPECT_TRUE(is_empty_dir(ctx_.scratch_dir));
  const uint64_t growth = peak > before ? peak - before : 0;
  RecordProperty("body_bytes", std::to_string(expected.size()));
  RecordProperty("peak_rss_growth_bytes", std::to_string(growth));
  std::printf("response %zu bytes, peak RSS growth %llu bytes (%.3f of the response)\n", expected.size(),
              static_cast<unsigned long long>(growth), static_cast<double>(growth) / expected.size());
  if (kSanitized || !peak_reset)
    GTEST_SKIP() << "peak RSS not measured (sanitizers, or no /proc/self/clear_refs)";
  // One copy of the body in memory would already be 1x; this bound catches it.
  EXPECT_LT(growth, expected.size() / 2)
      << "peak RSS grew by " << growth << " bytes for a " << expected.size() << "-byte response";
}

TEST_F(ExtractTest, PaginatedRecordsAreCheckedAndWrittenInPiecesInBoundedMemory) {
  constexpr int kPages = 4;
  std::atomic<int> port{0};
  testing_util::StreamingServer server(
      [&](const std::string& target, const testing_util::StreamingServer::Send& send) {
        const int page = std::stoi(target.substr(target.find('=') + 1));
        std::string head = "{\"results\": ";
        if (!send(head)) return;
        write_big_body(kBigRecords / kPages, send);
        send(", \"info\": {\"next\": " +
             (page < kPages ? "\"http://127.0.0.1:" + std::to_string(port.load()) +
                                  "/p?page=" + std::to_string(page + 1) + "\""
                            : std::string("null")) +
             "}}");
      });
  port = server.port();
  auto s = source("/p");
  s.url = server.url("/p?page=1");
  s.records_path = "results";
  s.pagination.kind = PaginationConfig::Kind::kNextField;
  s.pagination.next_field = "info.next";
  ctx_.scratch_dir = dir_.path() / "tmp";
  const bool peak_reset = static_cast<bool>(std::ofstream("/proc/self/clear_refs") << "5");
  const uint64_t before = memory_bytes("VmRSS");
  const auto result = run_extract(s, ctx_, store_);
  const uint64_t peak = memory_bytes("VmHWM");
  EXPECT_EQ(result.pages, kPages);
  EXPECT_EQ(result.records, kBigRecords / kPages * kPages);
  // Every record once, in order, minified, in the extract's array layout.
  std::string expected = "[";
  for (int page = 0; page < kPages; ++page) {
    for (uint64_t i = 0; i < kBigRecords / kPages; ++i)
      expected += (expected.size() > 1 ? ",\n" : "\n") + big_record(i, true);
  }
  expected += "\n]\n";
  const std::string stored = store_.get("raw", result.key);
  EXPECT_EQ(stored.size(), expected.size());
  EXPECT_TRUE(stored == expected) << "the stored records differ from the pages' records";
  EXPECT_TRUE(is_empty_dir(ctx_.scratch_dir));
  const uint64_t page_bytes = result.bytes / kPages;
  const uint64_t growth = peak > before ? peak - before : 0;
  std::printf("%d pages of about %llu bytes, peak RSS growth %llu bytes (%.3f of a page)\n", kPages,
              static_cast<unsigned long long>(page_bytes), static_cast<unsigned long long>(growth),
              static_cast<double>(growth) / static_cast<double>(page_bytes));
  if (kSanitized || !peak_reset)
    GTEST_SKIP() << "peak RSS not measured (sanitizers, or no /proc/self/clear_refs)";
  EXPECT_LT(growth, page_bytes) << "peak RSS grew by " << growth << " bytes for pages of " << page_bytes;
}

TEST_F(ExtractTest, CancelledRunLeavesNoTemporaryFileAndNoObject) {
  std::atomic<bool> cancel{false};
  std::atomic<int> port{0};
  testing_util::StreamingServer server(
      [&](const std::string& target, const testing_util::StreamingServer::Send& send) {
        if (target == "/p?page=1") {
          // Over a megabyte of records, so that the object is being written when the run is cancelled.
          send("{\"results\": ");
          write_big_body(5000, send);
          send(", \"info\": {\"next\": \"http://127.0.0.1:" + std::to_string(port.load()) + "/p?page=2\"}}");
          return;
        }
        send("{\"results\": [{\"id\": 1},");
        cancel = true;                                                              // mid-body
        while (!server.stopping() && send(" ")) std::this_thread::sleep_for(10ms);  // stalls
      });
  port = server.port();
  ctx_.cancel = &cancel;
  ctx_.scratch_dir = dir_.path() / "tmp";
  auto s = source("/p");
  s.url = server.url("/p?page=1");
  s.records_path = "results";
  s.pagination.kind = PaginationConfig::Kind::kNextField;
  s.pagination.next_field = "info.next";
  EXPECT_THAT(error_of(s), HasSubstr("cancelled"));
  EXPECT_TRUE(keys().empty());
  EXPECT_TRUE(is_empty_dir(ctx_.scratch_dir));
  EXPECT_EQ(temporary_files(dir_.path()), std::vector<std::string>{});
}

TEST_F(ExtractTest, NoSpaceForTheResponseIsASystemErrorAndWritesNothing) {
  testing_util::SmallFilesystem small(1 << 20);
  if (!small.available()) GTEST_SKIP() << small.reason();
  testing_util::StreamingServer server(
      [](const std::string&, const testing_util::StreamingServer::Send& send) {
        write_big_body(10'000, send);
      });
  auto s = source("/big");
  s.url = server.url("/big");
  ctx_.scratch_dir = small.path() / "tmp";
  try {
    run_extract(s, ctx_, store_);
    ADD_FAILURE() << "the run succeeded";
  } catch (const SystemError& e) {
    EXPECT_THAT(e.what(), HasSubstr("source users: "));
    EXPECT_THAT(e.what(), HasSubstr(std::strerror(ENOSPC)));
  }
  EXPECT_TRUE(keys().empty());
  EXPECT_TRUE(is_empty_dir(ctx_.scratch_dir));
  EXPECT_TRUE(temporary_files(dir_.path()).empty());
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
