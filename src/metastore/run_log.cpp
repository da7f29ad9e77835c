#include "metastore/run_log.h"

#include "common/error.h"
#include "metastore/schedule_state.h"

namespace sluice::metastore {
namespace {

std::optional<int64_t> opt_ms(const std::optional<TimePoint>& t) {
  return t ? std::optional<int64_t>(to_epoch_ms(*t)) : std::nullopt;
}

RunStatus parse_status(const std::string& s) {
  if (s == "succeeded") return RunStatus::kSucceeded;
  if (s == "failed") return RunStatus::kFailed;
  if (s == "interrupted") return RunStatus::kInterrupted;
  return RunStatus::kRunning;
}

constexpr const char* kColumns =
    "SELECT id, kind, name, trigger, schedule, slot_ms, started_ms, ended_ms, status, records, bytes, "
    "object, error, "
    "retried_by FROM runs ";

}  // namespace

std::string_view to_string(RunStatus status) {
  switch (status) {
    case RunStatus::kRunning:
      return "running";
    case RunStatus::kSucceeded:
      return "succeeded";
    case RunStatus::kFailed:
      return "failed";
    case RunStatus::kInterrupted:
      return "interrupted";
  }
  return "running";
}

int64_t RunLog::start(const RunStart& run) {
  return db_.transaction([&] {
    Statement insert(db_,
                     "INSERT INTO runs (kind, name, trigger, schedule, slot_ms, started_ms, status) "
                     "VALUES (?, ?, ?, ?, ?, ?, 'running')");
    insert.bind(1, run.kind).bind(2, run.name).bind(3, run.trigger).bind(4, run.schedule);
    insert.bind(5, opt_ms(run.slot)).bind(6, to_epoch_ms(now_ms())).run();
    return db_.last_insert_id();
  });
}

int64_t RunLog::record(const RunStart& run, const RunOutcome& outcome) {
  return db_.transaction([&] {
    const int64_t id = start(run);
    finish(id, outcome);
    return id;
  });
}

std::vector<int64_t> RunLog::start_slot(const std::string& schedule, TimePoint slot,
                                        const std::vector<RunStart>& runs, ScheduleState& state) {
  return db_.transaction([&] {
    std::vector<int64_t> ids;
    for (const auto& run : runs) ids.push_back(start(run));
    state.record_fired(schedule, slot);
    return ids;
  });
}

void RunLog::finish(int64_t id, const RunOutcome& outcome) {
  db_.transaction([&] {
    Statement update(
        db_,
        "UPDATE runs SET ended_ms = ?, status = ?, records = ?, bytes = ?, object = ?, error = ? "
        "WHERE id = ?");
    update.bind(1, to_epoch_ms(now_ms())).bind(2, to_string(outcome.status));
    update.bind(3, static_cast<int64_t>(outcome.records)).bind(4, static_cast<int64_t>(outcome.bytes));
    update.bind(5, outcome.object).bind(6, outcome.error).bind(7, id).run();
    if (db_.changes() != 1) throw Error("metastore: no run with id " + std::to_string(id));
  });
}

std::optional<RunRecord> RunLog::last(std::string_view kind, std::string_view name) {
  std::optional<int64_t> id;
  {
    std::lock_guard lock(db_.mutex());
    Statement select(db_, "SELECT max(id) FROM runs WHERE kind = ? AND name = ?");
    select.bind(1, kind).bind(2, name);
    if (select.step()) id = select.column_optional_int64(0);
  }
  return id ? get(*id) : std::nullopt;
}

std::map<std::string, int64_t> RunLog::status_counts(std::string_view kind, std::string_view name) {
  std::lock_guard lock(db_.mutex());
  Statement select(db_, "SELECT status, count(*) FROM runs WHERE kind = ? AND name = ? GROUP BY status");
  select.bind(1, kind).bind(2, name);
  std::map<std::string, int64_t> out;
  while (select.step()) out[select.column_text(0)] = select.column_int64(1);
  return out;
}

std::vector<RunRecord> RunLog::query(std::string_view where_and_order, std::optional<int64_t> arg) {
  std::lock_guard lock(db_.mutex());
  Statement select(db_, std::string(kColumns) + std::string(where_and_order));
  if (arg) select.bind(1, *arg);
  std::vector<RunRecord> out;
  while (select.step()) {
    RunRecord r;
    r.id = select.column_int64(0);
    r.kind = select.column_text(1);
    r.name = select.column_text(2);
    r.trigger = select.column_text(3);
    r.schedule = select.column_text(4);
    if (auto v = select.column_optional_int64(5)) r.slot = from_epoch_ms(*v);
    r.started = from_epoch_ms(select.column_int64(6));
    if (auto v = select.column_optional_int64(7)) r.ended = from_epoch_ms(*v);
    r.status = parse_status(select.column_text(8));
    r.records = static_cast<uint64_t>(select.column_int64(9));
    r.bytes = static_cast<uint64_t>(select.column_int64(10));
    r.object = select.column_text(11);
    r.error = select.column_text(12);
    r.retried_by = select.column_optional_int64(13);
    out.push_back(std::move(r));
  }
  return out;
}

std::vector<RunRecord> RunLog::list(int limit) { return query("ORDER BY id DESC LIMIT ?", limit); }

std::optional<RunRecord> RunLog::get(int64_t id) {
  auto rows = query("WHERE id = ?", id);
  if (rows.empty()) return std::nullopt;
  return rows.front();
}

std::vector<RunRecord> RunLog::mark_unfinished_interrupted() {
  return db_.transaction([&] {
    auto running = query("WHERE status = 'running' ORDER BY id", std::nullopt);
    Statement update(db_,
                     "UPDATE runs SET status = 'interrupted', ended_ms = ?, "
                     "error = 'the process stopped while the run was in flight' WHERE status = 'running'");
    update.bind(1, to_epoch_ms(now_ms())).run();
    for (auto& r : running) r.status = RunStatus::kInterrupted;
    return running;
  });
}

std::vector<RunRecord> RunLog::pending_retries() {
  return query("WHERE status = 'interrupted' AND retried_by IS NULL ORDER BY id", std::nullopt);
}

void RunLog::mark_retried(int64_t id, int64_t retry_id) {
  db_.transaction([&] {
    Statement(db_, "UPDATE runs SET retried_by = ? WHERE id = ?").bind(1, retry_id).bind(2, id).run();
  });
}

}  // namespace sluice::metastore
