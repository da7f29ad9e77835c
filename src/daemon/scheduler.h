// The scheduler loop of the daemon (EventBridge's scheduled rules): it keeps every schedule's next
// slot, fires slots when they come due, and on start-up applies each schedule's catch-up policy to
// the slots missed while no daemon ran. The slot last fired is persisted by the Runtime, so a
// restart never fires a slot twice.
#pragma once

#include <condition_variable>
#include <mutex>
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

  // Retries interrupted runs (Runtime::retry_interrupted) and ticks, until stop() is called, sleeping
  // until the next slot in between — or kRetryPeriod while a run the system failed waits.
  void run();
  static constexpr auto kRetryPeriod = std::chrono::seconds(10);
  void stop();

 private:
  Runtime& runtime_;
  std::mutex mutex_;
  std::condition_variable wake_;
  bool stopping_ = false;
  bool first_tick_ = true;  // the catch-up policy applies to the first tick only
};

}  // namespace sluice::daemon
