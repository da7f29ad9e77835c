// EventBridge-style schedule expressions and the planning of fires around a restart.
//
//   cron(minutes hours day-of-month month day-of-week year)   e.g. cron(00 10 * * ? *)
//   rate(N minute|minutes|hour|hours|day|days)                 e.g. rate(5 minutes)
//
// Cron fields are wall-clock time in the schedule's IANA zone. Around DST changes:
//  - a slot whose wall time does not exist (the hour skipped in spring) fires once, at the first valid
//    instant after the gap (the transition instant); several such slots collapse into that one fire;
//  - a slot whose wall time occurs twice (the hour repeated in autumn) fires once, at its first
//    occurrence; so an hourly cron fires once at 02:00 on a fall-back night, not twice.
// Rate expressions are absolute periods from an anchor (EventBridge anchors them at rule creation;
// the daemon persists the anchor so restarts keep the same phase).
#pragma once

#include <array>
#include <bitset>
#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/error.h"
#include "common/time.h"

namespace date {
class time_zone;
}

namespace sluice::schedule {

// A parse error with the 0-based offset of the offending text within the expression.
class ScheduleError : public Error {
 public:
  ScheduleError(size_t column, const std::string& message) : Error(message), column_(column) {}
  size_t column() const { return column_; }

 private:
  size_t column_;
};

namespace detail {
// Parsed cron fields. Day-of-month and day-of-week: exactly one is "any" ('?').
struct Cron {
  std::bitset<60> minutes;
  std::bitset<24> hours;
  std::bitset<32> days;       // 1..31
  bool any_day = false;       // '?' in day-of-month
  bool last_day = false;      // L
  bool last_weekday = false;  // LW
  int nearest_weekday = 0;    // NW: the weekday nearest to day N (0: unused)
  std::bitset<13> months;     // 1..12
  std::bitset<8> weekdays;    // 1..7, 1 = Sunday
  bool any_weekday = false;   // '?' in day-of-week
  int last_of_weekday = 0;    // xL: last x-day of the month (0: unused)
  int nth_weekday = 0;        // x#n: x ...
  int nth = 0;                // ... and n
  std::bitset<230> years;     // 1970..2199
};
}  // namespace detail

class ScheduleExpression {
 public:
  // Throws ScheduleError for a malformed expression or an unknown zone (column 0 for the zone).
  static ScheduleExpression parse(std::string_view text, std::string_view zone = "UTC");

  // First fire strictly after `t`; nullopt when there is none (the year field is exhausted).
  std::optional<TimePoint> next_after(TimePoint t) const;

  // Rate expressions fire at anchor + k * period (default anchor: the Unix epoch). Ignored by cron.
  void set_anchor(TimePoint anchor) { anchor_ = anchor; }

  bool is_rate() const { return rate_period_.count() > 0; }
  const std::string& text() const { return text_; }
  const std::string& zone_name() const { return zone_name_; }

 private:
  ScheduleExpression() = default;

  bool day_matches(int year, unsigned month, unsigned day) const;
  std::optional<TimePoint> next_cron_after(TimePoint t) const;

  std::string text_;
  std::string zone_name_ = "UTC";
  const date::time_zone* zone_ = nullptr;
  detail::Cron cron_;
  std::chrono::milliseconds rate_period_{0};
  TimePoint anchor_{};
};

enum class CatchUp { kNone, kLatest, kAll };
// "none" | "latest" | "all"; nullopt otherwise.
std::optional<CatchUp> parse_catch_up(std::string_view text);

struct Plan {
  std::vector<TimePoint> due;       // slots to fire now, ascending
  std::optional<TimePoint> latest;  // the most recent slot in (last_fired, now], fired or skipped
  std::optional<TimePoint> next;    // the first slot after `now`
};

// What to fire at `now` given the last slot fired (persisted by the caller after firing). Slots in
// (last_fired, now] are due: kNone fires none of them, kLatest the most recent, kAll all of them
// (the most recent `max_catch_up`). With no last_fired (first start ever) nothing is due. The result
// depends only on the arguments, which is what makes a restart fire no slot twice. The caller records
// `latest` (or `now` on a first start) as handled, so skipped slots are not reconsidered. The caller records
// `latest` (or `now` on a first start) as handled, so skipped slots are not reconsidered.
Plan plan(const ScheduleExpression& expression, std::optional<TimePoint> last_fired, TimePoint now,
          CatchUp policy, size_t max_catch_up = 1000);

// `t` rendered in `zone` with a strftime-like format of date.h ("%Y-%m-%d", "%Y-%m-%dT%H-%M-%S").
// Throws sluice::Error for an unknown zone.
std::string format_in_zone(TimePoint t, std::string_view zone, const char* format);

}  // namespace sluice::schedule
