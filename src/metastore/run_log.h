// RunLog: the run history (`sluice runs`). A run is one execution of a source, a processor (on one
// object) or a crawler: started 'running', finished 'succeeded', 'failed' or 'interrupted'. Runs a
// killed process left 'running' are marked interrupted at the next start, and runs the system failed
// (disk full) end interrupted; each interrupted run is retried once (retried_by links the retry),
// processing runs through their event instead.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/time.h"
#include "metastore/metastore.h"

namespace sluice::metastore {

class ScheduleState;

enum class RunStatus { kRunning, kSucceeded, kFailed, kInterrupted };
std::string_view to_string(RunStatus status);

// Written as an aggregate: {kind, name, trigger, schedule, slot}.
struct RunStart {
  std::string kind = "source";
  std::string name;
  std::string trigger;   // schedule | manual | retry
  std::string schedule;  // the schedule that fired it, if any
  std::optional<TimePoint> slot;
};

struct RunOutcome {
  RunStatus status = RunStatus::kSucceeded;
  uint64_t records = 0;
  uint64_t bytes = 0;
  std::string object;  // s3://bucket/key
  std::string error;
};

struct RunRecord {
  int64_t id = 0;
  std::string kind, name, trigger, schedule;
  std::optional<TimePoint> slot;
  TimePoint started;
  std::optional<TimePoint> ended;
  RunStatus status = RunStatus::kRunning;
  uint64_t records = 0;
  uint64_t bytes = 0;
  std::string object;
  std::string error;
  std::optional<int64_t> retried_by;
};

class RunLog {
 public:
  explicit RunLog(Metastore& db) : db_(db) {}

  int64_t start(const RunStart& run);
  // Fires a schedule slot: inserts one run per entry of `runs` and records the slot as fired, in
  // one transaction, so that a crash leaves either nothing or both.
  std::vector<int64_t> start_slot(const std::string& schedule, TimePoint slot,
                                  const std::vector<RunStart>& runs, ScheduleState& state);
  void finish(int64_t id, const RunOutcome& outcome);
  // Records a run that is over as it is written (an alert's change of state): one transaction, so
  // that no 'running' row is ever left behind to be retried.
  int64_t record(const RunStart& run, const RunOutcome& outcome);

  std::vector<RunRecord> list(int limit);  // newest first
  std::optional<RunRecord> get(int64_t id);
  // The newest run of `kind` named `name`, if any.
  std::optional<RunRecord> last(std::string_view kind, std::string_view name);
  // How many runs of `kind` named `name` ended in each status ("succeeded" -> 12, ...).
  std::map<std::string, int64_t> status_counts(std::string_view kind, std::string_view name);

  // At start-up: runs still 'running' (their process died) become 'interrupted'; returns them.
  std::vector<RunRecord> mark_unfinished_interrupted();
  // Interrupted runs not yet retried, oldest first.
  std::vector<RunRecord> pending_retries();
  // Links an interrupted run to its retry (0: given up, e.g. the source is gone).
  void mark_retried(int64_t id, int64_t retry_id);

 private:
  std::vector<RunRecord> query(std::string_view where_and_order, std::optional<int64_t> arg);
  Metastore& db_;
};

}  // namespace sluice::metastore
