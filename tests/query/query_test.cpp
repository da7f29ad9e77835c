#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <openssl/evp.h>

#include <atomic>
#include <chrono>
#include <fstream>
#include <nlohmann/json.hpp>
#include <thread>

#include "catalog/crawler.h"
#include "catalog/metastore_catalog.h"
#include "metastore/event_queue.h"
#include "metastore/metastore.h"
#include "query/engine.h"
#include "query/planner.h"
#include "sql/duckdb.h"
#include "storage/local_object_store.h"
#include "tests/common/expect_error.h"
#include "tests/common/temp_dir.h"

namespace sluice::query {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

// The parse tree DuckDB gives for `sql`, as the engine reads it.
nlohmann::json serialize(const std::string& sql) {
  sql::Database db;
  sql::Connection c(db);
  return nlohmann::json::parse(
      *c.query("SELECT json_serialize_sql(" + sql::quote_literal(sql) + ")").value(0, 0));
}

std::vector<TableReference> refs(const std::string& sql) { return analyze(serialize(sql), sql); }

TEST(QueryPlanner, ConditionsOnTheTableThatIsReadDirectly) {
  auto r = refs(
      "SELECT * FROM db.t AS x WHERE x.dt IN ('a', 'b') AND DT BETWEEN 'a' AND 'c' AND 'z' > dt AND id = 3 "
      "AND dt <> 'q'");
  ASSERT_EQ(r.size(), 1u);
  EXPECT_EQ(r[0].schema, "db");
  EXPECT_EQ(r[0].table, "t");
  const std::vector<std::string> keys = {"dt"};
  EXPECT_TRUE(partition_may_match(r[0].conditions, keys, {"a"}));
  EXPECT_TRUE(partition_may_match(r[0].conditions, keys, {"b"}));
  EXPECT_FALSE(partition_may_match(r[0].conditions, keys, {"c"}));  // not IN
  EXPECT_FALSE(partition_may_match(r[0].conditions, keys, {"q"}));

  // OR, joins and subqueries are not pruned; every reference is found.
  auto any = refs("SELECT * FROM t WHERE dt = 'a' OR dt = 'b'");
  EXPECT_TRUE(partition_may_match(any[0].conditions, keys, {"zzz"}));
  auto joined = refs("SELECT * FROM a JOIN b ON a.k = b.k WHERE a.dt = 'x'");
  ASSERT_EQ(joined.size(), 2u);
  EXPECT_TRUE(joined[0].conditions.empty());
  auto nested = refs("WITH c AS (SELECT * FROM s.t WHERE dt = 'x') SELECT * FROM c, (SELECT * FROM u) v");
  std::vector<std::string> tables;
  for (const auto& ref : nested) tables.push_back(ref.schema + "." + ref.table);
  EXPECT_THAT(tables, ::testing::UnorderedElementsAre("s.t", ".c", ".u"));
  // A number is not compared as text: no pruning on it.
  EXPECT_TRUE(partition_may_match(refs("SELECT * FROM t WHERE dt = 3")[0].conditions, keys, {"03"}));
}

TEST(QueryPlanner, OnlyOneSelectIsAllowed) {
  auto refused = [](const std::string& sql) {
    try {
      refs(sql);
    } catch (const QueryRefused& e) {
      return std::string(e.what());
    }
    return std::string("accepted");
  };
  EXPECT_THAT(refused("COPY (SELECT 1) TO '/tmp/x.csv'"), HasSubstr("only SELECT queries can run"));
  EXPECT_THAT(refused("ATTACH '/tmp/x.db'"), HasSubstr("got ATTACH"));
  EXPECT_THAT(refused("INSTALL httpfs"), HasSubstr("got INSTALL"));
  EXPECT_THAT(refused("LOAD httpfs"), HasSubstr("got LOAD"));
  EXPECT_THAT(refused("PRAGMA version"), HasSubstr("got PRAGMA"));
  EXPECT_THAT(refused("SET threads = 1"), HasSubstr("got SET"));
  EXPECT_THAT(refused("CREATE TABLE x AS SELECT 1"), HasSubstr("got CREATE"));
  EXPECT_THAT(refused("SELECT 1; DROP TABLE x"), HasSubstr("only SELECT"));
  EXPECT_THAT(refused("SELECT 1; SELECT 2"), HasSubstr("one statement per query"));
  EXPECT_THAT(refused("SELEC 1"), HasSubstr("Parser Error: syntax error at or near \"SELEC\""));
  EXPECT_EQ(refused("SELECT 1"), "accepted");
}

TEST(QueryCsv, AthenaFormat) {
  EXPECT_EQ(athena_csv({"id", "say \"hi\""}, {{"1", "a,b"}, {std::nullopt, ""}, {"2", "line\nbreak"}}),
            "\"id\",\"say \"\"hi\"\"\"\n\"1\",\"a,b\"\n,\"\"\n\"2\",\"line\nbreak\"\n");
  const std::string id = new_query_id();
  EXPECT_EQ(id.size(), 36u);
  EXPECT_EQ(id[14], '4');
  EXPECT_NE(id, new_query_id());
}

class QueryEngineTest : public ::testing::Test {
 protected:
  QueryEngineTest()
      : db_(dir_.path() / "metastore.db"),
        events_(db_),
        store_(dir_.path() / "objects", {"lake"}, &events_),
        catalog_(db_),
        log_(db_),
        engine_(
            QueryConfig{
                .database = "my_glue_database", .output_bucket = "lake", .output_prefix = "athena/results/"},
            catalog_, store_, log_) {}

  void crawl() {
    catalog::Crawler crawler(
        {.name = "c", .database = "my_glue_database", .targets = {{"lake", "processed/"}}}, store_, catalog_);
    auto report = crawler.crawl();
    ASSERT_TRUE(report.warnings.empty()) << report.warnings.front();
  }
  std::string failure(const std::string& sql) {
    try {
      engine_.run(sql);
    } catch (const QueryFailed& e) {
      return e.what();
    }
    return "succeeded";
  }

  testing_util::TempDir dir_;
  metastore::Metastore db_;
  metastore::EventQueue events_;
  storage::LocalObjectStore store_;
  catalog::MetastoreCatalog catalog_;
  QueryLog log_;
  QueryEngine engine_;
};

TEST_F(QueryEngineTest, TablesAreViewsWithCataloguedTypesAndLowerCasedNames) {
  store_.put("lake", "processed/users/a.json",
             "{\"id\": 2, \"company_catchPhrase\": \"b\", \"geo\": {\"Lat\": \"1\"}}\n"
             "{\"id\": 1, \"company_catchPhrase\": \"a\", \"geo\": {\"Lat\": \"2\"}}\n");
  crawl();
  auto r = engine_.run("SELECT * FROM my_glue_database.users ORDER BY id");
  EXPECT_THAT(r.columns, ElementsAre("id", "company_catchphrase", "geo"));
  EXPECT_THAT(r.types, ElementsAre("INTEGER", "VARCHAR", "STRUCT(Lat VARCHAR)"));
  ASSERT_EQ(r.rows.size(), 2u);
  EXPECT_EQ(*r.rows[0][1], "a");
  EXPECT_EQ(*engine_.run("SELECT geo.lat FROM users WHERE id = 2").rows[0][0], "1");  // bare name, default db
  EXPECT_EQ(r.bytes_scanned, store_.head("lake", "processed/users/a.json")->size);

  // Saved as Athena does, and in the history.
  EXPECT_EQ(r.output, "s3://lake/athena/results/" + r.query_id + ".csv");
  EXPECT_EQ(
      store_.get("lake", "athena/results/" + r.query_id + ".csv"),
      "\"id\",\"company_catchphrase\",\"geo\"\n\"1\",\"a\",\"{'Lat': 2}\"\n\"2\",\"b\",\"{'Lat': 1}\"\n");
  auto record = log_.get(r.query_id);
  ASSERT_TRUE(record);
  EXPECT_EQ(record->state, "SUCCEEDED");
  EXPECT_EQ(record->rows, 2u);
  EXPECT_EQ(record->output, r.output);
  EXPECT_EQ(record->sql, "SELECT * FROM my_glue_database.users ORDER BY id");
}

TEST_F(QueryEngineTest, PartitionFiltersPruneFiles) {
  for (const std::string day : {"2026-11-23", "2026-11-24", "2026-11-25"}) {
    std::string body;
    for (int i = 0; i < 10; ++i) body += "{\"n\": " + std::to_string(i) + ", \"day\": \"" + day + "\"}\n";
    store_.put("lake", "processed/events/dt=" + day + "/part.json", body);
  }
  crawl();
  const uint64_t one = store_.head("lake", "processed/events/dt=2026-11-24/part.json")->size;
  auto all = engine_.run("SELECT count(*) FROM events");
  EXPECT_EQ(*all.rows[0][0], "30");
  EXPECT_EQ(all.bytes_scanned, 3 * one);
  auto pruned = engine_.run("SELECT count(*), min(day), max(dt) FROM events WHERE dt = '2026-11-24'");
  EXPECT_EQ(*pruned.rows[0][0], "10");
  EXPECT_EQ(*pruned.rows[0][1], "2026-11-24");
  EXPECT_EQ(*pruned.rows[0][2], "2026-11-24");
  EXPECT_EQ(pruned.bytes_scanned, one);
  auto range = engine_.run("SELECT count(*) FROM events WHERE dt >= '2026-11-24' AND n < 5");
  EXPECT_EQ(*range.rows[0][0], "10");
  EXPECT_EQ(range.bytes_scanned, 2 * one);
  auto none = engine_.run("SELECT count(*) FROM events WHERE dt = '1999-01-01'");
  EXPECT_EQ(*none.rows[0][0], "0");
  EXPECT_EQ(none.bytes_scanned, 0u);
  // A condition pruning cannot use still gives the right answer, reading everything.
  auto expression = engine_.run("SELECT count(*) FROM events WHERE substr(dt, 9, 2) = '25'");
  EXPECT_EQ(*expression.rows[0][0], "10");
  EXPECT_EQ(expression.bytes_scanned, 3 * one);
}

TEST_F(QueryEngineTest, SchemaEvolutionBothVersionsQueryable) {
  store_.put("lake", "processed/users/v1.json", "{\"id\": 1, \"name\": \"a\"}\n");
  crawl();
  store_.put("lake", "processed/users/v2.json", "{\"id\": 2.5, \"name\": \"b\", \"email\": \"b@x\"}\n");
  crawl();
  EXPECT_EQ(catalog_.table("my_glue_database", "users")->version, 2);
  auto r = engine_.run("SELECT id, name, email FROM users ORDER BY id");
  EXPECT_THAT(r.types, ElementsAre("DOUBLE", "VARCHAR", "VARCHAR"));
  ASSERT_EQ(r.rows.size(), 2u);
  EXPECT_EQ(*r.rows[0][0], "1.0");
  EXPECT_FALSE(r.rows[0][2].has_value());  // the old file has no email
  EXPECT_EQ(*r.rows[1][2], "b@x");
}

TEST_F(QueryEngineTest, ParquetAndCsvTablesByName) {
  {
    const auto path = dir_.path() / "x.parquet";
    sql::Database db;
    sql::Connection c(db);
    c.execute("COPY (SELECT 1::INTEGER AS Id, 'p' AS Label) TO " + sql::quote_literal(path.string()) +
              " (FORMAT parquet)");
    std::ifstream in(path, std::ios::binary);
    store_.put("lake", "processed/pq/dt=1/a.parquet", std::string(std::istreambuf_iterator<char>(in), {}));
    c.execute("COPY (SELECT 2::BIGINT AS id, 'q' AS label, 3.5::DOUBLE AS extra) TO " +
              sql::quote_literal(path.string()) + " (FORMAT parquet)");
    std::ifstream in2(path, std::ios::binary);
    store_.put("lake", "processed/pq/dt=2/b.parquet", std::string(std::istreambuf_iterator<char>(in2), {}));
  }
  store_.put("lake", "processed/csv/a.csv", "k,v\n1,x\n2,y\n");
  crawl();
  auto r = engine_.run("SELECT id, label, extra, dt FROM pq ORDER BY id");
  EXPECT_THAT(r.types, ElementsAre("BIGINT", "VARCHAR", "DOUBLE", "VARCHAR"));
  ASSERT_EQ(r.rows.size(), 2u);
  EXPECT_FALSE(r.rows[0][2].has_value());
  EXPECT_EQ(*r.rows[1][3], "2");
  EXPECT_EQ(*engine_.run("SELECT sum(k) FROM csv").rows[0][0], "3");
}

TEST_F(QueryEngineTest, HostileSqlIsRefusedAndRecorded) {
  store_.put("lake", "processed/users/a.json", "{\"id\": 1}\n");
  crawl();
  EXPECT_THAT(failure("SELECT * FROM read_csv('/etc/passwd')"), HasSubstr("Permission Error"));
  EXPECT_THAT(failure("SELECT * FROM read_text('" + (dir_.path() / "metastore.db").string() + "')"),
              HasSubstr("Permission Error"));
  EXPECT_THAT(failure("COPY (SELECT 1) TO '" + (dir_.path() / "out.csv").string() + "'"),
              HasSubstr("got COPY"));
  EXPECT_FALSE(std::filesystem::exists(dir_.path() / "out.csv"));
  EXPECT_THAT(failure("ATTACH '" + (dir_.path() / "x.db").string() + "' AS x"), HasSubstr("got ATTACH"));
  EXPECT_THAT(failure("INSTALL httpfs"), HasSubstr("got INSTALL"));
  EXPECT_THAT(failure("LOAD httpfs"), HasSubstr("got LOAD"));
  EXPECT_THAT(failure("PRAGMA enable_profiling"), HasSubstr("got PRAGMA"));
  EXPECT_THAT(failure("SET enable_external_access = true"), HasSubstr("got SET"));
  EXPECT_THAT(failure("SELECT * FROM query('SET enable_external_access = true')"),
              ::testing::Not("succeeded"));
  EXPECT_THAT(failure("SELECT current_setting('lock_configuration')"), "succeeded");
  EXPECT_THAT(failure("SELEC 1"), HasSubstr("Parser Error"));
  EXPECT_THAT(failure("SELECT nope FROM users"),
              HasSubstr("Binder Error: Referenced column \"nope\" not found"));
  const std::string unknown = failure("SELECT * FROM no_such_table");
  EXPECT_THAT(unknown, HasSubstr("Table with name no_such_table does not exist"));
  EXPECT_EQ(unknown.find('\n'), std::string::npos);  // one line
  auto history = log_.list(20);
  ASSERT_GE(history.size(), 12u);
  EXPECT_EQ(history[0].state, "FAILED");
  EXPECT_THAT(history[0].error, HasSubstr("no_such_table"));
  EXPECT_EQ(history[2].state, "FAILED");
  EXPECT_THAT(history[2].error, HasSubstr("Parser Error"));
}

// A field of /proc/self/status in kB ("VmRSS", "VmHWM"); -1 when absent.
int64_t status_kb(const std::string& field) {
  std::ifstream in("/proc/self/status");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind(field + ":", 0) == 0) return std::stoll(line.substr(field.size() + 1));
  }
  return -1;
}

// Resets VmHWM to the current RSS (Linux's clear_refs "5"); false where that is not allowed.
bool reset_peak_rss() {
  std::ofstream out("/proc/self/clear_refs");
  out << "5";
  out.flush();
  return out.good();
}

// SHA-256 of `data` in lower-case hex, computed here with OpenSSL, independently of the engine.
std::string independent_sha256(const std::string& data) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  EVP_Digest(data.data(), data.size(), digest, &length, EVP_sha256(), nullptr);
  std::string out;
  char hex[3];
  for (unsigned int i = 0; i < length; ++i) {
    std::snprintf(hex, sizeof hex, "%02x", digest[i]);
    out += hex;
  }
  return out;
}

// Runs `sql` on `engine` and returns the failure it ends with (the test fails if it succeeds).
template <typename Failure = QueryFailed>
std::optional<Failure> run_failure(QueryEngine& engine, const std::string& sql, const RunOptions& options) {
  try {
    engine.run(sql, options);
  } catch (const Failure& e) {
    return e;
  }
  ADD_FAILURE() << "succeeded: " << sql.substr(0, 100);
  return std::nullopt;
}

constexpr const char* kEndless = "SELECT count(*) FROM range(100000000000)";

TEST_F(QueryEngineTest, TimeoutInterruptsTheQueryAndIsRecorded) {
  RunOptions options;
  options.timeout = std::chrono::milliseconds(300);
  const auto started = std::chrono::steady_clock::now();
  auto failure = run_failure(engine_, kEndless, options);
  ASSERT_TRUE(failure);
  EXPECT_LT(std::chrono::steady_clock::now() - started, std::chrono::seconds(5));
  EXPECT_EQ(failure->cause(), QueryFailed::Cause::kTimedOut);
  EXPECT_STREQ(failure->what(), "query timed out after 300ms (query.timeout)");
  auto record = log_.get(failure->query_id());
  ASSERT_TRUE(record);
  EXPECT_EQ(record->state, "FAILED");
  EXPECT_THAT(record->error, HasSubstr("timed out"));
  EXPECT_TRUE(engine_.running().empty());
  // The configured timeout applies when the run does not set one.
  QueryEngine strict(QueryConfig{.timeout = std::chrono::milliseconds(200)}, catalog_, store_, log_);
  EXPECT_THAT(run_failure(strict, kEndless, {})->what(), HasSubstr("timed out after 200ms"));
}

TEST_F(QueryEngineTest, CancelFlagSetFromAnotherThreadCancelsTheQuery) {
  std::atomic<bool> cancel{false};
  RunOptions options;
  options.cancel = &cancel;
  options.cancelled_by = "the client (it disconnected)";
  std::thread client([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(300));
    cancel = true;
  });
  const auto started = std::chrono::steady_clock::now();
  auto failure = run_failure<QueryCancelled>(engine_, kEndless, options);
  client.join();
  ASSERT_TRUE(failure);
  EXPECT_LT(std::chrono::steady_clock::now() - started, std::chrono::seconds(5));
  EXPECT_STREQ(failure->what(), "query cancelled by the client (it disconnected)");
  EXPECT_EQ(failure->cause(), QueryFailed::Cause::kCancelled);
  auto record = log_.get(failure->query_id());
  ASSERT_TRUE(record);
  EXPECT_EQ(record->state, "CANCELLED");
  EXPECT_EQ(record->error, "query cancelled by the client (it disconnected)");
}

// Waits until `engine` runs `count` queries; false after 5 s.
bool wait_running(const QueryEngine& engine, size_t count) {
  for (int i = 0; i < 500 && engine.running().size() < count; ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  return engine.running().size() >= count;
}

TEST_F(QueryEngineTest, CancelByIdFromAnotherThread) {
  EXPECT_FALSE(engine_.cancel(new_query_id()));
  RunOptions options;
  options.query_id = new_query_id();
  std::optional<QueryCancelled> failure;
  std::thread query([&] { failure = run_failure<QueryCancelled>(engine_, kEndless, options); });
  ASSERT_TRUE(wait_running(engine_, 1));
  EXPECT_EQ(engine_.running(), std::vector<std::string>{options.query_id});
  std::this_thread::sleep_for(std::chrono::milliseconds(200));  // DuckDB at work
  const auto cancelled = std::chrono::steady_clock::now();
  EXPECT_TRUE(engine_.cancel(options.query_id, "DELETE /v1/queries/" + options.query_id));
  query.join();
  EXPECT_LT(std::chrono::steady_clock::now() - cancelled, std::chrono::seconds(5));
  ASSERT_TRUE(failure);
  EXPECT_EQ(failure->query_id(), options.query_id);
  EXPECT_EQ(std::string(failure->what()), "query cancelled by DELETE /v1/queries/" + options.query_id);
  EXPECT_EQ(log_.get(options.query_id)->state, "CANCELLED");
  EXPECT_TRUE(engine_.running().empty());
  // An id from outside must be a UUID: it names the result object.
  options.query_id = "../../etc";
  EXPECT_TRUE(testing_util::fails_with<Error>([&] { engine_.run("SELECT 1", options); },
                                              "invalid query id \"../../etc\""));
}

TEST_F(QueryEngineTest, CancelAllStopsEveryRunningQuery) {
  std::optional<QueryCancelled> first, second;
  std::thread a([&] { first = run_failure<QueryCancelled>(engine_, kEndless, {}); });
  std::thread b([&] {
    second = run_failure<QueryCancelled>(engine_, "SELECT max(range) FROM range(100000000000)", {});
  });
  ASSERT_TRUE(wait_running(engine_, 2));
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  const auto cancelled = std::chrono::steady_clock::now();
  EXPECT_EQ(engine_.cancel_all(), 2u);
  a.join();
  b.join();
  EXPECT_LT(std::chrono::steady_clock::now() - cancelled, std::chrono::seconds(5));
  ASSERT_TRUE(first && second);
  EXPECT_STREQ(first->what(), "query cancelled by the daemon shutting down");
  EXPECT_EQ(log_.get(second->query_id())->state, "CANCELLED");
  // Later queries run.
  EXPECT_EQ(*engine_.run("SELECT 7").rows[0][0], "7");
}

// Counts what a RowSink receives; optionally fails after some rows, as a client that went away.
class CountingSink : public RowSink {
 public:
  void begin(const std::string& query_id, const std::vector<std::string>& columns,
             const std::vector<std::string>& types) override {
    id = query_id;
    names = columns;
    kinds = types;
  }
  void rows(const RowChunk& chunk) override {
    if (fail_after && received >= *fail_after) throw Error("the client went away");
    if (received == 0 && chunk.row_count()) first = std::string(chunk.value(0, 0).value_or(""));
    received += chunk.row_count();
    if (++chunks % 16 == 0) peak_rss_kb = std::max(peak_rss_kb, status_kb("VmRSS"));
  }
  std::string id, first;
  std::vector<std::string> names, kinds;
  uint64_t received = 0, chunks = 0;
  int64_t peak_rss_kb = 0;
  std::optional<uint64_t> fail_after;
};

TEST_F(QueryEngineTest, LargeResultIsStreamedWithBoundedMemory) {
  QueryEngine engine(
      QueryConfig{.output_bucket = "lake", .output_prefix = "athena/results/", .memory_limit = "256MB"},
      catalog_, store_, log_);
  constexpr uint64_t kRows = 1'500'000;
  const std::string pad(290, 'x');
  const int64_t before_kb = status_kb("VmRSS");
  const bool peak_reset = reset_peak_rss();
  CountingSink sink;
  RunOptions options;
  options.sink = &sink;
  auto r = engine.run("SELECT range AS n, repeat('x', 290) AS pad FROM range(" + std::to_string(kRows) + ")",
                      options);
  const int64_t peak_kb = std::max(sink.peak_rss_kb, peak_reset ? status_kb("VmHWM") : 0);
  // Materialising the rows and the CSV would take well over 1 GB.
  EXPECT_LT(peak_kb - before_kb, 400 * 1024)
      << "RSS grew from " << before_kb << " kB to " << peak_kb << " kB";

  EXPECT_EQ(r.row_count, kRows);
  EXPECT_TRUE(r.truncated);
  ASSERT_EQ(r.rows.size(), 1000u);
  EXPECT_EQ(*r.rows[999][0], "999");
  EXPECT_EQ(*r.rows[0][1], pad);
  EXPECT_EQ(sink.id, r.query_id);
  EXPECT_THAT(sink.names, ElementsAre("n", "pad"));
  EXPECT_THAT(sink.kinds, ElementsAre("BIGINT", "VARCHAR"));
  EXPECT_EQ(sink.received, kRows);
  EXPECT_EQ(sink.first, "0");
  EXPECT_EQ(log_.get(r.query_id)->rows, kRows);

  // The CSV has every row: a header, then one line per row, the last one last.
  const auto result_file = store_.open_readable("lake", "athena/results/" + r.query_id + ".csv");
  ASSERT_TRUE(std::filesystem::exists(result_file->path()));
  std::ifstream csv(result_file->path(), std::ios::binary);
  std::string line, last;
  uint64_t lines = 0;
  while (std::getline(csv, line)) {
    if (lines == 1) {
      EXPECT_EQ(line, "\"0\",\"" + pad + "\"");
    }
    ++lines;
    last.swap(line);
  }
  EXPECT_EQ(lines, kRows + 1);
  EXPECT_EQ(last, "\"" + std::to_string(kRows - 1) + "\",\"" + pad + "\"");
}

TEST_F(QueryEngineTest, AFailingSinkFailsTheQueryAndLeavesNoResult) {
  CountingSink sink;
  sink.fail_after = 1;
  RunOptions options;
  options.sink = &sink;
  auto failure = run_failure(engine_, "SELECT * FROM range(100000)", options);
  ASSERT_TRUE(failure);
  EXPECT_STREQ(failure->what(), "the client went away");
  EXPECT_EQ(log_.get(failure->query_id())->state, "FAILED");
  EXPECT_FALSE(store_.head("lake", "athena/results/" + failure->query_id() + ".csv"));
  EXPECT_TRUE(store_.list("lake", {.prefix = "athena/"}).objects.empty());
}

TEST_F(QueryEngineTest, CommentsNewlinesAndSemicolonsInUserSql) {
  store_.put("lake", "processed/users/a.json",
             "{\"id\": 2, \"geo\": {\"Lat\": \"1\"}}\n{\"id\": 3, \"geo\": {\"Lat\": \"5\"}}\n");
  crawl();
  for (const std::string sql : {"SELECT 1 -- c", "SELECT 1;\n", "SELECT 1\n\n", "SELECT 1; -- done\n",
                                "/* why */ SELECT 1 /* because */"}) {
    SCOPED_TRACE(sql);
    auto r = engine_.run(sql);
    ASSERT_EQ(r.rows.size(), 1u);
    EXPECT_EQ(*r.rows[0][0], "1");
  }
  const std::string commented =
      "-- the users\n"
      "SELECT id, -- their id\n"
      "  geo -- a struct: read through the text cast\n"
      "FROM users -- the catalog table\n"
      "WHERE id = 2 -- one of them\n"
      "-- that is all\n"
      ";\n";
  auto r = engine_.run(commented);
  EXPECT_THAT(r.columns, ElementsAre("id", "geo"));
  EXPECT_THAT(r.types, ElementsAre("INTEGER", "STRUCT(Lat VARCHAR)"));
  ASSERT_EQ(r.rows.size(), 1u);
  EXPECT_EQ(*r.rows[0][1], "{'Lat': 1}");
  EXPECT_EQ(log_.get(r.query_id)->sql, commented);
}

TEST_F(QueryEngineTest, NestedValuesComeBackAsDuckdbText) {
  auto r = engine_.run(
      "SELECT {'a': 1, 'b': [1, 2]} AS s, [1, 2] AS l, MAP {'k': 'v'} AS m, NULL::STRUCT(a INTEGER) AS n, "
      "[[1], []] AS ll");
  EXPECT_THAT(r.types, ElementsAre("STRUCT(a INTEGER, b INTEGER[])", "INTEGER[]", "MAP(VARCHAR, VARCHAR)",
                                   "STRUCT(a INTEGER)", "INTEGER[][]"));
  ASSERT_EQ(r.rows.size(), 1u);
  EXPECT_EQ(r.rows[0][0], "{'a': 1, 'b': [1, 2]}");
  EXPECT_EQ(r.rows[0][1], "[1, 2]");
  EXPECT_EQ(r.rows[0][2], "{k=v}");
  EXPECT_FALSE(r.rows[0][3].has_value());
  EXPECT_EQ(r.rows[0][4], "[[1], []]");
  EXPECT_EQ(
      store_.get("lake", "athena/results/" + r.query_id + ".csv"),
      "\"s\",\"l\",\"m\",\"n\",\"ll\"\n\"{'a': 1, 'b': [1, 2]}\",\"[1, 2]\",\"{k=v}\",,\"[[1], []]\"\n");
}

TEST_F(QueryEngineTest, LongSqlIsRefusedUnparsedAndTheHistoryKeepsABoundedPrefix) {
  // Two-byte characters after an odd-length head: 16 KiB falls inside a character.
  std::string huge = "SELECT 1 --- ";
  while (huge.size() < 7 * 1024 * 1024) huge += "\xC3\xA9";
  const auto metastore_bytes = [&] {
    uint64_t total = 0;
    for (const char* name : {"metastore.db", "metastore.db-wal"}) {
      std::error_code ec;
      const auto size = std::filesystem::file_size(dir_.path() / name, ec);
      if (!ec) total += size;
    }
    return total;
  };
  const uint64_t before = metastore_bytes();
  std::string id;
  for (int i = 0; i < 3; ++i) {
    auto failure = run_failure(engine_, huge, {});
    ASSERT_TRUE(failure);
    EXPECT_THAT(failure->what(), HasSubstr("query.max_sql_bytes"));
    EXPECT_THAT(failure->what(), HasSubstr(std::to_string(huge.size())));
    id = failure->query_id();
  }
  EXPECT_LT(metastore_bytes() - before, 1024u * 1024u);  // the whole text would be 21 MB
  auto record = log_.get(id);
  ASSERT_TRUE(record);
  EXPECT_EQ(record->state, "FAILED");
  EXPECT_LE(record->sql.size(), 16u * 1024u);
  EXPECT_GE(record->sql.size(), 16u * 1024u - 3);
  EXPECT_EQ(huge.compare(0, record->sql.size(), record->sql), 0);
  EXPECT_NE(static_cast<unsigned char>(huge[record->sql.size()]) & 0xC0, 0x80);  // a whole character
  EXPECT_EQ(record->sql_bytes, huge.size());
  EXPECT_EQ(record->sql_sha256, independent_sha256(huge));
  EXPECT_TRUE(record->sql_truncated());

  // Under the cap, a long query runs, and the history still keeps only the prefix.
  const std::string longish = "SELECT 42 AS answer -- " + std::string(100 * 1024, 'c');
  auto r = engine_.run(longish);
  EXPECT_EQ(*r.rows[0][0], "42");
  auto kept = log_.get(r.query_id);
  EXPECT_EQ(kept->state, "SUCCEEDED");
  EXPECT_EQ(kept->sql, longish.substr(0, 16 * 1024));
  EXPECT_EQ(kept->sql_bytes, longish.size());
  EXPECT_EQ(kept->sql_sha256, independent_sha256(longish));
  // A short query is kept whole.
  auto short_record = log_.get(engine_.run("SELECT 2").query_id);
  EXPECT_EQ(short_record->sql, "SELECT 2");
  EXPECT_FALSE(short_record->sql_truncated());
}

TEST_F(QueryEngineTest, ResultsArePagedFromTheCsvObject) {
  auto r = engine_.run(
      "SELECT range AS n, 'a,\"b\"' || range AS t, CASE WHEN range % 7 = 0 THEN NULL ELSE 'x' || chr(10) || "
      "'y' "
      "END AS u FROM range(2500) ORDER BY n");
  EXPECT_EQ(r.row_count, 2500u);
  std::vector<QueryPage> pages;
  std::string token;
  do {
    pages.push_back(engine_.read_results(r.query_id, token, 1000));
    token = pages.back().next_token;
  } while (!token.empty() && pages.size() < 10);
  ASSERT_EQ(pages.size(), 3u);
  EXPECT_EQ(pages[0].rows.size(), 1000u);
  EXPECT_EQ(pages[1].rows.size(), 1000u);
  EXPECT_EQ(pages[2].rows.size(), 500u);
  size_t n = 0;
  for (const auto& page : pages) {
    EXPECT_THAT(page.columns, ElementsAre("n", "t", "u"));
    for (const auto& row : page.rows) {
      ASSERT_EQ(row.size(), 3u);
      EXPECT_EQ(row[0], std::to_string(n));
      EXPECT_EQ(row[1], "a,\"b\"" + std::to_string(n));
      if (n % 7 == 0) {
        EXPECT_FALSE(row[2].has_value()) << n;
      } else {
        EXPECT_EQ(row[2], "x\ny") << n;
      }
      ++n;
    }
  }
  EXPECT_EQ(n, 2500u);
  // One page for everything; bad requests are one-line errors.
  EXPECT_EQ(engine_.read_results(r.query_id, "", 5000).rows.size(), 2500u);
  EXPECT_TRUE(testing_util::fails_with<Error>([&] { engine_.read_results(r.query_id, "3", 10); },
                                              "invalid next token \"3\""));  // inside the header
  EXPECT_TRUE(testing_util::fails_with<Error>([&] { engine_.read_results(r.query_id, "abc", 10); },
                                              "invalid next token \"abc\""));
  EXPECT_TRUE(testing_util::fails_with<Error>([&] { engine_.read_results(r.query_id, "99999999999", 10); },
                                              "invalid next token \"99999999999\""));
  EXPECT_TRUE(testing_util::fails_with<Error>([&] { engine_.read_results(r.query_id, "", 0); },
                                              "max_rows must be at least 1"));
  EXPECT_TRUE(testing_util::fails_with<Error>([&] { engine_.read_results(new_query_id(), "", 10); },
                                              "no query with id"));
  EXPECT_THAT(failure("SELECT nope"), HasSubstr("nope"));  // a FAILED query has no results to page
  EXPECT_TRUE(testing_util::fails_with<Error>([&] { engine_.read_results(log_.list(1)[0].id, "", 10); },
                                              "is FAILED: only a SUCCEEDED query has results"));
}

TEST_F(QueryEngineTest, ConfinementSettingsAreReadBackFromInsideAQuery) {
  auto r = engine_.run(
      "SELECT current_setting('enable_external_access') AS external, current_setting('lock_configuration') "
      "AS "
      "locked, current_setting('allowed_directories') AS allowed, current_setting('temp_directory') AS "
      "spill, "
      "current_setting('autoload_known_extensions') AS autoload");
  ASSERT_EQ(r.rows.size(), 1u);
  EXPECT_EQ(r.rows[0][0], "false");
  EXPECT_EQ(r.rows[0][1], "true");
  EXPECT_EQ(r.rows[0][2], "[" + store_.readable_directories().at(0).string() + "/]");
  EXPECT_EQ(r.rows[0][3], "");
  EXPECT_EQ(r.rows[0][4], "false");
  EXPECT_THAT(failure("SELECT * FROM query('SET lock_configuration = false')"), ::testing::Not("succeeded"));
}

TEST_F(QueryEngineTest, ASortLargerThanMemorySpillsIntoItsOwnDirectory) {
  const std::string sort =
      "SELECT max(s), count(*) FROM (SELECT repeat('x', 100) || range AS s, row_number() OVER (ORDER BY "
      "random()) AS rn FROM range(3000000))";
  QueryEngine no_spill(QueryConfig{.threads = 1, .memory_limit = "64MB"}, catalog_, store_, log_);
  EXPECT_THAT(run_failure(no_spill, sort, {})->what(), HasSubstr("Out of Memory"));
  const auto spill = dir_.path() / "tmp" / "query";
  QueryEngine engine(QueryConfig{.threads = 1, .memory_limit = "64MB", .temp_directory = spill.string()},
                     catalog_, store_, log_);
  auto r = engine.run(sort);
  EXPECT_EQ(r.rows[0][1], "3000000");
  EXPECT_TRUE(std::filesystem::is_empty(spill));  // the query's own directory went with it
}

}  // namespace
}  // namespace sluice::query
