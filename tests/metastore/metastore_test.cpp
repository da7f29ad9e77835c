#include "metastore/metastore.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <thread>

#include "common/error.h"
#include "metastore/event_queue.h"
#include "metastore/run_log.h"
#include "metastore/schedule_state.h"
#include "tests/common/expect_error.h"
#include "tests/common/temp_dir.h"

namespace sluice::metastore {
namespace {

using namespace std::chrono_literals;

class MetastoreTest : public ::testing::Test {
 protected:
  std::filesystem::path file() const { return dir_.path() / "metastore.db"; }
  testing_util::TempDir dir_;
};

TEST_F(MetastoreTest, MigrationsAreIdempotentAndVersioned) {
  { Metastore db(file()); }
  Metastore db(file());
  Statement s(db, "SELECT version FROM schema_version");
  ASSERT_TRUE(s.step());
  EXPECT_EQ(s.column_int64(0), 4);
  Statement journal(db, "PRAGMA journal_mode");
  ASSERT_TRUE(journal.step());
  EXPECT_EQ(journal.column_text(0), "wal");
}

TEST_F(MetastoreTest, NewerSchemaIsRefusedWithAClearError) {
  {
    Metastore db(file());
    db.exec("UPDATE schema_version SET version = 99");
  }
  try {
    Metastore db(file());
    FAIL();
  } catch (const Error& e) {
    EXPECT_THAT(std::string(e.what()), ::testing::HasSubstr("schema version 99"));
  }
}

TEST_F(MetastoreTest, TransactionRollsBackOnException) {
  Metastore db(file());
  RunLog runs(db);
  EXPECT_TRUE(testing_util::fails_with<Error>(
      [&] {
        db.transaction([&] {
          runs.start({.name = "a", .trigger = "manual"});
          throw Error("boom");
        });
      },
      "boom"));
  EXPECT_TRUE(runs.list(10).empty());
}

TEST_F(MetastoreTest, RunLifecycleAndListing) {
  Metastore db(file());
  RunLog runs(db);
  const TimePoint slot = TimePoint(1'700'000'000'000ms);
  int64_t a = runs.start({.name = "users", .trigger = "schedule", .schedule = "daily", .slot = slot});
  int64_t b = runs.start({.name = "posts", .trigger = "manual"});
  runs.finish(a,
              {.status = RunStatus::kSucceeded, .records = 10, .bytes = 5645, .object = "s3://raw/u.json"});
  runs.finish(b, {.status = RunStatus::kFailed, .error = "HTTP 404"});
  auto list = runs.list(10);
  ASSERT_EQ(list.size(), 2u);
  EXPECT_EQ(list[0].id, b);  // newest first
  EXPECT_EQ(list[0].status, RunStatus::kFailed);
  EXPECT_EQ(list[0].error, "HTTP 404");
  EXPECT_FALSE(list[0].slot.has_value());
  EXPECT_EQ(list[1].records, 10u);
  EXPECT_EQ(list[1].bytes, 5645u);
  EXPECT_EQ(list[1].object, "s3://raw/u.json");
  EXPECT_EQ(list[1].slot, slot);
  EXPECT_EQ(list[1].schedule, "daily");
  EXPECT_TRUE(list[1].ended.has_value());
  EXPECT_EQ(runs.list(1).size(), 1u);
  EXPECT_TRUE(testing_util::fails_with<Error>([&] { runs.finish(999, {}); }, "no run with id 999"));
}

TEST_F(MetastoreTest, UnfinishedRunsBecomeInterruptedAndAreRetriedOnce) {
  int64_t a = 0, b = 0;
  {
    Metastore db(file());
    RunLog runs(db);
    a = runs.start({.name = "users", .trigger = "schedule"});
    b = runs.start({.name = "posts", .trigger = "schedule"});
    runs.finish(b, {.status = RunStatus::kInterrupted, .error = "stopped"});
  }  // the process "dies" with run a still running
  Metastore db(file());
  RunLog runs(db);
  auto found = runs.mark_unfinished_interrupted();
  ASSERT_EQ(found.size(), 1u);
  EXPECT_EQ(found[0].id, a);
  EXPECT_EQ(runs.get(a)->status, RunStatus::kInterrupted);
  auto pending = runs.pending_retries();
  ASSERT_EQ(pending.size(), 2u);
  EXPECT_EQ(pending[0].id, a);
  EXPECT_EQ(pending[1].id, b);
  int64_t retry = runs.start({.name = "users", .trigger = "retry"});
  runs.mark_retried(a, retry);
  runs.mark_retried(b, 0);
  EXPECT_TRUE(runs.pending_retries().empty());
  EXPECT_EQ(runs.get(a)->retried_by, retry);
}

TEST_F(MetastoreTest, ScheduleStateIsMonotonicAndAnchorsOnce) {
  Metastore db(file());
  ScheduleState state(db);
  EXPECT_FALSE(state.load("daily").last_fired.has_value());
  state.record_fired("daily", TimePoint(2000ms));
  state.record_fired("daily", TimePoint(1000ms));  // older: ignored
  EXPECT_EQ(state.load("daily").last_fired, TimePoint(2000ms));
  EXPECT_EQ(state.set_anchor_if_absent("daily", TimePoint(5000ms)), TimePoint(5000ms));
  EXPECT_EQ(state.set_anchor_if_absent("daily", TimePoint(9000ms)), TimePoint(5000ms));
  EXPECT_EQ(state.load("daily").last_fired, TimePoint(2000ms));  // the anchor did not reset it
}

TEST_F(MetastoreTest, StartSlotRecordsTheRunsAndTheFiredSlot) {
  Metastore db(file());
  RunLog runs(db);
  ScheduleState state(db);
  const TimePoint slot(60'000ms);
  auto ids = runs.start_slot(
      "daily", slot, {{.name = "users", .trigger = "schedule"}, {.name = "posts", .trigger = "schedule"}},
      state);
  EXPECT_EQ(ids.size(), 2u);
  EXPECT_EQ(state.load("daily").last_fired, slot);
  EXPECT_EQ(runs.list(10).size(), 2u);
}

storage::ObjectEvent event(const std::string& key) {
  return {.bucket = "raw", .key = key, .size = 3, .etag = "abc", .time = TimePoint(1000ms)};
}

TEST_F(MetastoreTest, EventQueueTwoPhaseAndRecovery) {
  Metastore db(file());
  EventQueue q(db);
  auto committed = q.prepare(event("a"));
  q.commit(committed);
  auto aborted = q.prepare(event("b"));
  q.abort(aborted);
  q.prepare(event("c-exists"));
  q.prepare(event("d-missing"));
  EXPECT_TRUE(q.claim("proc", 10, 30s).size() == 1);  // pending events are invisible
  q.recover([](const storage::ObjectEvent& e) { return e.key == "c-exists"; });
  auto list = q.list();
  ASSERT_EQ(list.size(), 2u);
  EXPECT_EQ(list[0].event.key, "a");
  EXPECT_EQ(list[1].event.key, "c-exists");
  EXPECT_EQ(list[1].state, "ready");
}

TEST_F(MetastoreTest, ClaimLeaseAckFailPerConsumer) {
  Metastore db(file());
  EventQueue q(db);
  for (const char* k : {"a", "b", "c"}) q.commit(q.prepare(event(k)));
  const TimePoint t0(1'000'000ms);
  auto first = q.claim("proc", 2, 30s, t0);
  ASSERT_EQ(first.size(), 2u);
  EXPECT_EQ(first[0].event.key, "a");
  EXPECT_EQ(first[0].attempts, 1);
  auto second = q.claim("proc", 10, 30s, t0);  // a and b are leased
  ASSERT_EQ(second.size(), 1u);
  EXPECT_EQ(second[0].event.key, "c");
  q.ack("proc", first[0].id);
  q.fail("proc", second[0].id, "bad input");
  EXPECT_TRUE(q.claim("proc", 10, 30s, t0 + 1s).empty());
  // The lease on b expires: it comes back, with its attempt counted.
  auto again = q.claim("proc", 10, 30s, t0 + 31s);
  ASSERT_EQ(again.size(), 1u);
  EXPECT_EQ(again[0].event.key, "b");
  EXPECT_EQ(again[0].attempts, 2);
  // Another consumer sees every event independently.
  EXPECT_EQ(q.claim("crawler", 10, 30s, t0).size(), 3u);
}

TEST_F(MetastoreTest, ConcurrentUseFromTwoThreadsAndTwoConnections) {
  Metastore db(file());
  Metastore other(file());  // as another process would
  RunLog runs(db);
  RunLog other_runs(other);
  auto work = [](RunLog& log) {
    for (int i = 0; i < 100; ++i) log.finish(log.start({.name = "x", .trigger = "manual"}), {});
  };
  std::thread t1([&] { work(runs); });
  std::thread t2([&] { work(runs); });
  std::thread t3([&] { work(other_runs); });
  t1.join();
  t2.join();
  t3.join();
  EXPECT_EQ(runs.list(1000).size(), 300u);
}

TEST(MetastoreNotification, UrlEncodingOfKeys) {
  EXPECT_EQ(s3_url_encode_key("raw/a b+c=d.json"), "raw/a+b%2Bc%3Dd.json");
  EXPECT_EQ(s3_url_encode_key("é"), "%C3%A9");
}

}  // namespace
}  // namespace sluice::metastore
