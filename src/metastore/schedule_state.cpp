#include "metastore/schedule_state.h"

namespace sluice::metastore {
namespace {}  // namespace

ScheduleState::State ScheduleState::load(const std::string& name) {
  std::lock_guard lock(db_.mutex());
  Statement select(db_, "SELECT last_fired_ms, anchor_ms FROM schedule_state WHERE name = ?");
  select.bind(1, name);
  State state;
  if (select.step()) {
    if (auto v = select.column_optional_int64(0)) state.last_fired = from_epoch_ms(*v);
    if (auto v = select.column_optional_int64(1)) state.anchor = from_epoch_ms(*v);
  }
  return state;
}

void ScheduleState::record_fired(const std::string& name, TimePoint slot) {
  db_.transaction([&] {
    Statement upsert(db_,
                     "INSERT INTO schedule_state (name, last_fired_ms) VALUES (?1, ?2) "
                     "ON CONFLICT(name) DO UPDATE SET last_fired_ms = max(coalesce(last_fired_ms, ?2), ?2)");
    upsert.bind(1, name).bind(2, to_epoch_ms(slot)).run();
  });
}

TimePoint ScheduleState::set_anchor_if_absent(const std::string& name, TimePoint t) {
  return db_.transaction([&] {
    Statement upsert(db_,
                     "INSERT INTO schedule_state (name, anchor_ms) VALUES (?1, ?2) "
                     "ON CONFLICT(name) DO UPDATE SET anchor_ms = coalesce(anchor_ms, ?2)");
    upsert.bind(1, name).bind(2, to_epoch_ms(t)).run();
    return *load(name).anchor;
  });
}

}  // namespace sluice::metastore
