#include "daemon/scheduler.h"

#include <spdlog/spdlog.h>

#include "schedule/schedule.h"

namespace sluice::daemon {

SchedulerLoop::SchedulerLoop(Runtime& runtime) : runtime_(runtime) {}

std::optional<TimePoint> SchedulerLoop::tick(TimePoint now) {
  std::optional<TimePoint> earliest;
  for (const auto& sched : runtime_.pipeline().schedules) {
    if (runtime_.cancelled()) break;
    auto expression = schedule::ScheduleExpression::parse(sched.expression, sched.timezone);
    expression.set_anchor(runtime_.anchor(sched.name, now));
    const auto last_fired = runtime_.last_fired(sched.name);
    // The catch-up policy is for slots missed while no daemon ran, so it applies on the first tick;
    // afterwards every slot that comes due fires, even if a long run made the loop late.
    const auto policy = first_tick_ ? sched.catch_up : schedule::CatchUp::kAll;
    const auto plan = schedule::plan(expression, last_fired, now, policy);
    if (!last_fired) {
      // First sight of this schedule: slots from now on are its own; none before.
      runtime_.mark_handled(sched.name, now);
    }
    for (TimePoint slot : plan.due) {
      if (runtime_.cancelled()) break;
      spdlog::info("schedule {}: firing slot {}", sched.name, format_iso8601_utc(slot));
      runtime_.fire_schedule(sched, slot, "schedule");
    }
    if (plan.latest && !runtime_.cancelled()) {
      if (plan.due.empty() || plan.due.back() != *plan.latest) {
        spdlog::info("schedule {}: skipping missed slots up to {} (catch_up: {})", sched.name,
                     format_iso8601_utc(*plan.latest),
                     policy == schedule::CatchUp::kNone ? "none" : "latest");
      }
      runtime_.mark_handled(sched.name, *plan.latest);
    }
    if (plan.next && (!earliest || *plan.next < *earliest)) earliest = plan.next;
  }
  first_tick_ = false;
  return earliest;
}

std::chrono::milliseconds SchedulerLoop::step() {
  // Runs a previous process left unfinished, and runs the system failed (disk full) since.
  runtime_.retry_interrupted();
  const TimePoint now = now_ms();
  const std::optional<TimePoint> next = tick(now);
  // Wake at the next slot, at least once a minute so clock jumps are noticed, and every
  // kRetryPeriod while a run waits to be retried.
  std::chrono::milliseconds wait = runtime_.has_pending_retries() ? kRetryPeriod : std::chrono::minutes(1);
  if (next) wait = std::min(wait, std::chrono::duration_cast<std::chrono::milliseconds>(*next - now));
  return std::max(wait, std::chrono::milliseconds(0));
}

}  // namespace sluice::daemon
