// The scheduler loop of the daemon (EventBridge's scheduled rules): it keeps every schedule's next
// slot, fires slots when they come due, and on start-up applies each schedule's catch-up policy to
// the slots missed while no daemon ran. The slot last fired is persisted by the Runtime, so a
// restart never fires a slot twice.
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <vector>

#include "common/time.h"
#include "daemon/runtime.h"

namespace sluice::daemon {

class SchedulerLoop {
 public:
  explicit SchedulerLoop(Runtime& runtime);

  // Fires every slot due at `now` for every schedule (per its catch-up policy) and returns the
  // earliest next slot of any schedule (nullopt when none will ever fire again).
  std::optional<TimePoint> tick(TimePoint now);

  // One round of the daemon's scheduler loop: retries interrupted runs (Runtime::retry_interrupted),
  // ticks, and returns how long to sleep — until the next slot, at most a minute, at most
  // kRetryPeriod while a run the system failed waits to be retried.
  std::chrono::milliseconds step();
  static constexpr auto kRetryPeriod = std::chrono::seconds(10);

 private:
  Runtime& runtime_;
  bool first_tick_ = true;  // the catch-up policy applies to the first tick only
};

}  // namespace sluice::daemon
