// "A slot and the runs it starts are recorded in one SQLite transaction, so restarting the daemon
// never fires a slot twice" (README). RunLog::start_slot is that transaction; these tests cut it short
// the ways a process dies — killed in the middle of it (a child process that _exits from SQLite's
// update hook while a statement writes), or a statement failing — and reopen the metastore to show
// that either the runs and the fired slot are both there, or neither is.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sqlite3.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstring>
#include <functional>

#include "metastore/metastore.h"
#include "metastore/run_log.h"
#include "metastore/schedule_state.h"
#include "tests/common/expect_error.h"
#include "tests/common/temp_dir.h"

namespace sluice::metastore {
namespace {

using namespace std::chrono_literals;

constexpr int kDiedOnPurpose = 42;
const TimePoint kSlot(1'700'000'040'000ms);

// When the child process dies: while writing the nth row of `table`.
struct DeathPoint {
  std::string table;
  int row = 1;
  int seen = 0;
};

// The update hook: dies (as kill -9 would, no cleanup) when the death point's row is written.
void die_at(void* arg, int /*operation*/, const char* /*database*/, const char* table, sqlite3_int64) {
  auto* point = static_cast<DeathPoint*>(arg);
  if (point->table == table && ++point->seen == point->row) ::_exit(kDiedOnPurpose);
}

class SlotTransaction : public ::testing::Test {
 protected:
  std::filesystem::path file() const { return dir_.path() / "metastore.db"; }

  static std::vector<RunStart> two_runs() {
    return {{.name = "users", .trigger = "schedule", .schedule = "daily", .slot = kSlot},
            {.kind = "crawl", .name = "lake", .trigger = "schedule", .schedule = "daily", .slot = kSlot}};
  }

  // Fires the slot in a child process that dies at `point` (or, with an empty table, right after
  // start_slot returned, before anything else); returns the child's exit status.
  int fire_in_child(DeathPoint point) {
    const pid_t pid = ::fork();
    if (pid == 0) {
      int code = 1;
      try {
        Metastore db(file());
        RunLog runs(db);
        ScheduleState state(db);
        if (!point.table.empty()) ::sqlite3_update_hook(db.handle(), die_at, &point);
        runs.start_slot("daily", kSlot, two_runs(), state);
        code = point.table.empty() ? kDiedOnPurpose : 0;  // 0: the death point was never reached
      } catch (...) {
        code = 2;
      }
      ::_exit(code);
    }
    int status = 0;
    ::waitpid(pid, &status, 0);
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  }

  testing_util::TempDir dir_;
};

TEST_F(SlotTransaction, AProcessKilledWhileRecordingTheFiredSlotLeavesNeitherTheRunsNorTheSlot) {
  { Metastore create(file()); }  // the schema exists before the child runs
  ASSERT_EQ(fire_in_child({.table = "schedule_state"}), kDiedOnPurpose);
  Metastore db(file());
  RunLog runs(db);
  ScheduleState state(db);
  EXPECT_TRUE(runs.list(10).empty()) << "runs of a slot that is not recorded as fired";
  EXPECT_EQ(state.load("daily").last_fired, std::nullopt);
  EXPECT_TRUE(runs.mark_unfinished_interrupted().empty());
  // The slot is still due, and fires whole.
  const auto ids = runs.start_slot("daily", kSlot, two_runs(), state);
  EXPECT_EQ(ids.size(), 2u);
  EXPECT_EQ(state.load("daily").last_fired, kSlot);
}

TEST_F(SlotTransaction, AProcessKilledBetweenTheRunsOfASlotLeavesNoneOfThem) {
  { Metastore create(file()); }
  ASSERT_EQ(fire_in_child({.table = "runs", .row = 2}), kDiedOnPurpose);
  Metastore db(file());
  RunLog runs(db);
  ScheduleState state(db);
  EXPECT_TRUE(runs.list(10).empty());
  EXPECT_EQ(state.load("daily").last_fired, std::nullopt);
}

TEST_F(SlotTransaction, AProcessKilledRightAfterTheSlotWasRecordedLeavesBothAndItsRunsAreRetried) {
  { Metastore create(file()); }
  ASSERT_EQ(fire_in_child({}), kDiedOnPurpose);
  Metastore db(file());
  RunLog runs(db);
  ScheduleState state(db);
  EXPECT_EQ(state.load("daily").last_fired, kSlot);
  auto recorded = runs.list(10);
  ASSERT_EQ(recorded.size(), 2u);
  for (const auto& run : recorded) {
    EXPECT_EQ(run.status, RunStatus::kRunning);
    EXPECT_EQ(run.slot, kSlot);
  }
  // The next owner finds them unfinished: they are retried, the slot is not fired again.
  EXPECT_EQ(runs.mark_unfinished_interrupted().size(), 2u);
  EXPECT_EQ(runs.pending_retries().size(), 2u);
}

TEST_F(SlotTransaction, AFailingSecondStatementRollsBackTheRunsWithIt) {
  Metastore db(file());
  RunLog runs(db);
  ScheduleState state(db);
  // Recording the fired slot fails, as a full disk or an I/O error would make it.
  db.exec(
      "CREATE TEMP TRIGGER refuse_slot BEFORE INSERT ON schedule_state "
      "BEGIN SELECT RAISE(ABORT, 'injected: cannot record the slot'); END");
  EXPECT_TRUE(testing_util::fails_with<Error>([&] { runs.start_slot("daily", kSlot, two_runs(), state); },
                                              "injected: cannot record the slot"));
  EXPECT_TRUE(runs.list(10).empty());
  EXPECT_EQ(state.load("daily").last_fired, std::nullopt);
  db.exec("DROP TRIGGER temp.refuse_slot");
  EXPECT_EQ(runs.start_slot("daily", kSlot, two_runs(), state).size(), 2u);
  EXPECT_EQ(runs.list(10).size(), 2u);
  EXPECT_EQ(state.load("daily").last_fired, kSlot);
}

}  // namespace
}  // namespace sluice::metastore
