// ScheduleState: per schedule, the last slot fired and the anchor of rate() schedules.
#pragma once

#include <optional>
#include <string>

#include "common/time.h"
#include "metastore/metastore.h"

namespace sluice::metastore {

class ScheduleState {
 public:
  struct State {
    std::optional<TimePoint> last_fired;
    std::optional<TimePoint> anchor;
  };
  explicit ScheduleState(Metastore& db) : db_(db) {}

  State load(const std::string& name);
  // Never moves backwards: recording an older slot than the one stored changes nothing.
  void record_fired(const std::string& name, TimePoint slot);
  // The stored anchor, or `t` stored as the anchor when there is none yet.
  TimePoint set_anchor_if_absent(const std::string& name, TimePoint t);

 private:
  Metastore& db_;
};

}  // namespace sluice::metastore
