#include "schedule/schedule.h"

#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#include <date/date.h>
#include <date/tz.h>
#pragma GCC diagnostic pop

#include <algorithm>
#include <cctype>
#include <charconv>

namespace sluice::schedule {
namespace {

using namespace std::chrono;
using date::days;
using date::sys_days;

constexpr int kMinYear = 1970;
constexpr int kMaxYear = 2199;

struct Token {
  std::string_view text;
  size_t offset;  // within the whole expression
};

std::string upper(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return out;
}

// Splits `s` (which starts at `offset` in the expression) on `sep`, keeping offsets.
std::vector<Token> split(std::string_view s, size_t offset, char sep) {
  std::vector<Token> out;
  size_t start = 0;
  for (size_t i = 0; i <= s.size(); ++i) {
    if (i == s.size() || s[i] == sep) {
      out.push_back({s.substr(start, i - start), offset + start});
      start = i + 1;
    }
  }
  return out;
}

struct FieldSpec {
  const char* name;
  int min;
  int max;
  const std::array<const char*, 12>* names;  // names for min.. (months JAN.., weekdays SUN..)
};

constexpr std::array<const char*, 12> kMonthNames = {"JAN", "FEB", "MAR", "APR", "MAY", "JUN",
                                                     "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"};
constexpr std::array<const char*, 12> kDayNames = {"SUN", "MON", "TUE", "WED", "THU", "FRI",
                                                   "SAT", "",    "",    "",    "",    ""};

const FieldSpec kMinutes{"minutes", 0, 59, nullptr};
const FieldSpec kHours{"hours", 0, 23, nullptr};
const FieldSpec kDayOfMonth{"day-of-month", 1, 31, nullptr};
const FieldSpec kMonth{"month", 1, 12, &kMonthNames};
const FieldSpec kDayOfWeek{"day-of-week", 1, 7, &kDayNames};
const FieldSpec kYear{"year", kMinYear, kMaxYear, nullptr};

[[noreturn]] void fail(size_t column, const std::string& expression, const FieldSpec* field,
                       const std::string& message) {
  std::string text = expression + ": ";
  if (field) text += std::string(field->name) + " field: ";
  throw ScheduleError(column, text + message);
}

// A value: a number or, where the field has them, a name.
int parse_value(const Token& t, const FieldSpec& f, const std::string& expr) {
  if (t.text.empty()) fail(t.offset, expr, &f, "empty value");
  int value = 0;
  auto [end, ec] = std::from_chars(t.text.data(), t.text.data() + t.text.size(), value);
  if (ec == std::errc() && end == t.text.data() + t.text.size()) {
    if (value < f.min || value > f.max) {
      fail(t.offset, expr, &f,
           "value " + std::string(t.text) + " out of range " + std::to_string(f.min) + "-" +
               std::to_string(f.max));
    }
    return value;
  }
  if (f.names) {
    const std::string name = upper(t.text);
    for (int i = 0; i < 12; ++i) {
      if ((*f.names)[i][0] != '\0' && name == (*f.names)[i]) return f.min + i;
    }
    fail(t.offset, expr, &f,
         "\"" + std::string(t.text) + "\" is not a number from " + std::to_string(f.min) + " to " +
             std::to_string(f.max) + " or a name (" + (f.names == &kMonthNames ? "JAN-DEC" : "SUN-SAT") +
             ")");
  }
  fail(t.offset, expr, &f,
       "\"" + std::string(t.text) + "\" is not a number from " + std::to_string(f.min) + " to " +
           std::to_string(f.max));
}

// Parses the common grammar: '*' or a comma list of  value | value-value | (*|value|range)/step.
// Sets bits [value - f.min] in `bits`.
template <size_t N>
void parse_list(const Token& field, const FieldSpec& f, const std::string& expr, std::bitset<N>& bits,
                int bit_offset) {
  for (const Token& item : split(field.text, field.offset, ',')) {
    if (item.text.empty()) fail(item.offset, expr, &f, "empty item in list");
    int lo = f.min, hi = f.max, step = 1;
    std::string_view range = item.text;
    size_t slash = range.find('/');
    bool has_step = slash != std::string_view::npos;
    if (has_step) {
      Token step_token{range.substr(slash + 1), item.offset + slash + 1};
      auto [end, ec] =
          std::from_chars(step_token.text.data(), step_token.text.data() + step_token.text.size(), step);
      if (step_token.text.empty() || ec != std::errc() ||
          end != step_token.text.data() + step_token.text.size() || step < 1) {
        fail(step_token.offset, expr, &f,
             "step \"" + std::string(step_token.text) + "\" must be a positive integer");
      }
      if (step > f.max - f.min + 1 && f.max - f.min + 1 > 1) {
        fail(step_token.offset, expr, &f,
             "step " + std::to_string(step) + " is larger than the field's range " + std::to_string(f.min) +
                 "-" + std::to_string(f.max));
      }
      range = range.substr(0, slash);
    }
    if (range == "*") {
      // full range
    } else {
      size_t dash = range.find('-', 1);
      if (dash != std::string_view::npos) {
        lo = parse_value({range.substr(0, dash), item.offset}, f, expr);
        hi = parse_value({range.substr(dash + 1), item.offset + dash + 1}, f, expr);
        if (lo > hi) {
          fail(item.offset, expr, &f,
               "range " + std::string(range) + " goes backwards (" + std::to_string(lo) + " > " +
                   std::to_string(hi) + ")");
        }
      } else {
        lo = parse_value({range, item.offset}, f, expr);
        if (!has_step) hi = lo;  // "5/10" means 5, 15, 25, ... up to the field's maximum
      }
    }
    for (int v = lo; v <= hi; v += step) bits.set(static_cast<size_t>(v - bit_offset));
  }
}

unsigned last_day_of(int year, unsigned month) {
  return static_cast<unsigned>((date::year{year} / date::month{month} / date::last).day());
}

// 1 = Sunday .. 7 = Saturday, as in EventBridge.
int weekday_of(const date::year_month_day& ymd) {
  return static_cast<int>(date::weekday{sys_days{ymd}}.c_encoding()) + 1;
}

// rate(value unit): value a positive integer; singular unit exactly when value is 1.
std::chrono::milliseconds parse_rate(std::string_view body, const std::string& expr) {
  std::vector<Token> parts;
  for (const Token& t : split(body, 5, ' '))
    if (!t.text.empty()) parts.push_back(t);
  if (parts.size() != 2) fail(5, expr, nullptr, "expected rate(value unit), e.g. rate(5 minutes)");
  int64_t value = 0;
  auto [end, ec] = std::from_chars(parts[0].text.data(), parts[0].text.data() + parts[0].text.size(), value);
  if (ec != std::errc() || end != parts[0].text.data() + parts[0].text.size() || value < 1 ||
      value > 1'000'000) {
    fail(parts[0].offset, expr, nullptr,
         "rate value \"" + std::string(parts[0].text) + "\" must be a positive integer");
  }
  const std::string unit(parts[1].text);
  int64_t unit_ms = 0;
  bool plural = false;
  if (unit == "minute" || unit == "minutes")
    unit_ms = 60'000, plural = unit.back() == 's';
  else if (unit == "hour" || unit == "hours")
    unit_ms = 3'600'000, plural = unit.back() == 's';
  else if (unit == "day" || unit == "days")
    unit_ms = 86'400'000, plural = unit.back() == 's';
  else
    fail(parts[1].offset, expr, nullptr, "rate unit \"" + unit + "\" must be minute(s), hour(s) or day(s)");
  if (value == 1 && plural)
    fail(parts[1].offset, expr, nullptr,
         "a rate of 1 takes a singular unit (\"" + unit.substr(0, unit.size() - 1) + "\")");
  if (value > 1 && !plural)
    fail(parts[1].offset, expr, nullptr, "a rate above 1 takes a plural unit (\"" + unit + "s\")");
  return std::chrono::milliseconds(value * unit_ms);
}

// Day-of-month other than '?': L, LW, NW (15W) or a list.
void parse_day_of_month(const Token& dom, const std::string& expr, detail::Cron& c) {
  const std::string d = upper(dom.text);
  if (d == "L") {
    c.last_day = true;
  } else if (d == "LW") {
    c.last_weekday = true;
  } else if (d.size() > 1 && d.back() == 'W') {
    c.nearest_weekday = parse_value({dom.text.substr(0, dom.text.size() - 1), dom.offset}, kDayOfMonth, expr);
  } else if (d.find_first_of("LW") != std::string::npos) {
    fail(dom.offset, expr, &kDayOfMonth,
         "\"" + std::string(dom.text) + "\": L, LW and NW (e.g. 15W) stand alone");
  } else {
    parse_list(dom, kDayOfMonth, expr, c.days, 0);
  }
}

// Day-of-week other than '?': L (Saturday), x#n, xL or a list.
void parse_day_of_week(const Token& dow, const std::string& expr, detail::Cron& c) {
  const std::string w = upper(dow.text);
  const size_t hash = w.find('#');
  if (w == "L") {
    c.weekdays.set(7);  // L alone in day-of-week is Saturday, the last day of the week
  } else if (hash != std::string::npos) {
    c.nth_weekday = parse_value({dow.text.substr(0, hash), dow.offset}, kDayOfWeek, expr);
    const std::string_view n = dow.text.substr(hash + 1);
    if (n.size() != 1 || n[0] < '1' || n[0] > '5') {
      fail(dow.offset + hash + 1, expr, &kDayOfWeek,
           "in x#n, n must be 1 to 5, got \"" + std::string(n) + "\"");
    }
    c.nth = n[0] - '0';
  } else if (w.size() > 1 && w.back() == 'L') {
    c.last_of_weekday = parse_value({dow.text.substr(0, dow.text.size() - 1), dow.offset}, kDayOfWeek, expr);
  } else {
    parse_list(dow, kDayOfWeek, expr, c.weekdays, 0);
  }
}

}  // namespace

std::optional<CatchUp> parse_catch_up(std::string_view text) {
  if (text == "none") return CatchUp::kNone;
  if (text == "latest") return CatchUp::kLatest;
  if (text == "all") return CatchUp::kAll;
  return std::nullopt;
}

ScheduleExpression ScheduleExpression::parse(std::string_view text, std::string_view zone) {
  ScheduleExpression e;
  e.text_ = std::string(text);
  const std::string& expr = e.text_;
  try {
    e.zone_ = date::locate_zone(zone);
    e.zone_name_ = std::string(zone);
  } catch (const std::exception&) {
    throw ScheduleError(0, "unknown time zone \"" + std::string(zone) +
                               "\"; expected an IANA name such as UTC or Europe/Paris");
  }

  const bool is_cron = text.rfind("cron(", 0) == 0;
  const bool is_rate = text.rfind("rate(", 0) == 0;
  if (!is_cron && !is_rate) fail(0, expr, nullptr, "expected cron(...) or rate(...)");
  if (text.empty() || text.back() != ')') fail(text.size(), expr, nullptr, "missing closing parenthesis");
  const std::string_view body = text.substr(5, text.size() - 6);

  if (is_rate) {
    e.rate_period_ = parse_rate(body, expr);
    return e;
  }

  std::vector<Token> fields;
  for (const Token& t : split(body, 5, ' '))
    if (!t.text.empty()) fields.push_back(t);
  if (fields.size() != 6) {
    fail(5, expr, nullptr,
         "expected 6 fields (minutes hours day-of-month month day-of-week year), got " +
             std::to_string(fields.size()));
  }
  detail::Cron& c = e.cron_;
  parse_list(fields[0], kMinutes, expr, c.minutes, 0);
  parse_list(fields[1], kHours, expr, c.hours, 0);
  parse_list(fields[3], kMonth, expr, c.months, 0);
  parse_list(fields[5], kYear, expr, c.years, kMinYear);

  const Token& dom = fields[2];
  const Token& dow = fields[4];
  c.any_day = dom.text == "?";
  c.any_weekday = dow.text == "?";
  if (c.any_day == c.any_weekday) {
    fail(c.any_day ? dom.offset : dow.offset, expr, nullptr,
         c.any_day ? "day-of-month and day-of-week cannot both be '?'; give one of them a value"
                   : "one of day-of-month and day-of-week must be '?' (EventBridge does not combine them)");
  }
  if (!c.any_day) parse_day_of_month(dom, expr, c);
  if (!c.any_weekday) parse_day_of_week(dow, expr, c);
  return e;
}

bool ScheduleExpression::day_matches(int year, unsigned month, unsigned day) const {
  const detail::Cron& c = cron_;
  const date::year_month_day ymd{date::year{year}, date::month{month}, date::day{day}};
  const unsigned last = last_day_of(year, month);
  if (!c.any_day) {
    if (c.last_day) return day == last;
    if (c.last_weekday || c.nearest_weekday) {
      // The weekday nearest to the target day, never leaving the month.
      unsigned target =
          c.last_weekday ? last : std::min<unsigned>(static_cast<unsigned>(c.nearest_weekday), last);
      const int wd = weekday_of({date::year{year}, date::month{month}, date::day{target}});
      if (wd == 7)
        target = target == 1 ? 3 : target - 1;  // Saturday
      else if (wd == 1)
        target = target == last ? target - 2 : target + 1;  // Sunday
      return day == target;
    }
    return c.days.test(day);
  }
  const int wd = weekday_of(ymd);
  if (c.nth_weekday) return wd == c.nth_weekday && (day - 1) / 7 + 1 == static_cast<unsigned>(c.nth);
  if (c.last_of_weekday) return wd == c.last_of_weekday && day + 7 > last;
  return c.weekdays.test(static_cast<size_t>(wd));
}

std::optional<TimePoint> ScheduleExpression::next_cron_after(TimePoint t) const {
  const detail::Cron& c = cron_;
  // Start from the local calendar day of `t` (minus one, so a repeated hour of the previous local
  // day is not skipped) and walk forward; the first candidate instant after `t` is the answer,
  // because the DST mapping below keeps candidates in non-decreasing order.
  const auto local_now = zone_->to_local(time_point_cast<seconds>(t));
  date::year_month_day start{floor<days>(local_now) - days{1}};
  // No wall time more than a few hours before local_now can map to an instant after t (UTC offsets
  // change by at most a few hours), so those are skipped without a zone lookup.
  const auto local_floor = local_now - hours(3);
  for (int year = static_cast<int>(start.year()); year <= kMaxYear; ++year) {
    if (year < kMinYear || !c.years.test(static_cast<size_t>(year - kMinYear))) continue;
    const unsigned first_month =
        year == static_cast<int>(start.year()) ? static_cast<unsigned>(start.month()) : 1;
    for (unsigned month = first_month; month <= 12; ++month) {
      if (!c.months.test(month)) continue;
      const bool start_month =
          year == static_cast<int>(start.year()) && month == static_cast<unsigned>(start.month());
      const unsigned first_day = start_month ? static_cast<unsigned>(start.day()) : 1;
      const unsigned last = last_day_of(year, month);
      for (unsigned day = first_day; day <= last; ++day) {
        if (!day_matches(year, month, day)) continue;
        const date::local_days local_day{date::year{year} / date::month{month} / date::day{day}};
        for (int hour = 0; hour < 24; ++hour) {
          if (!c.hours.test(static_cast<size_t>(hour))) continue;
          if (local_day + hours(hour + 1) <= local_floor) continue;
          for (int minute = 0; minute < 60; ++minute) {
            if (!c.minutes.test(static_cast<size_t>(minute))) continue;
            const date::local_seconds local = local_day + hours(hour) + minutes(minute);
            if (local < local_floor) continue;
            const date::local_info info = zone_->get_info(local);
            date::sys_seconds instant;
            switch (info.result) {
              case date::local_info::unique:
              case date::local_info::ambiguous:  // first occurrence: the earlier offset
                instant = date::sys_seconds{local.time_since_epoch()} - info.first.offset;
                break;
              case date::local_info::nonexistent:  // in the gap: the first valid instant after it
                instant = info.second.begin;
                break;
            }
            if (instant > t) return time_point_cast<milliseconds>(instant);
          }
        }
      }
    }
  }
  return std::nullopt;
}

std::optional<TimePoint> ScheduleExpression::next_after(TimePoint t) const {
  if (!is_rate()) return next_cron_after(t);
  // anchor + k * period, the smallest such instant strictly after t.
  if (t < anchor_) return anchor_;
  const auto elapsed = t - anchor_;
  const auto k = elapsed / rate_period_ + 1;
  return anchor_ + k * rate_period_;
}

Plan plan(const ScheduleExpression& expression, std::optional<TimePoint> last_fired, TimePoint now,
          CatchUp policy, size_t max_catch_up) {
  Plan result;
  if (last_fired && *last_fired < now) {
    std::vector<TimePoint> missed;
    for (auto slot = expression.next_after(*last_fired); slot && *slot <= now;
         slot = expression.next_after(*slot)) {
      missed.push_back(*slot);
      // Keep only what the policy can use, so a long outage of a per-minute schedule stays cheap.
      const size_t keep = policy == CatchUp::kAll ? max_catch_up : 1;
      if (missed.size() > 2 * keep + 64)
        missed.erase(missed.begin(), missed.end() - static_cast<ptrdiff_t>(keep));
    }
    if (!missed.empty()) result.latest = missed.back();
    if (policy == CatchUp::kLatest && !missed.empty()) result.due.push_back(missed.back());
    if (policy == CatchUp::kAll) {
      const size_t from = missed.size() > max_catch_up ? missed.size() - max_catch_up : 0;
      result.due.assign(missed.begin() + static_cast<ptrdiff_t>(from), missed.end());
    }
  }
  result.next = expression.next_after(now);
  return result;
}

std::string format_in_zone(TimePoint t, std::string_view zone, const char* format) {
  const date::time_zone* tz = nullptr;
  try {
    tz = date::locate_zone(zone);
  } catch (const std::exception&) {
    throw Error("unknown time zone \"" + std::string(zone) + "\"");
  }
  return date::format(format, date::make_zoned(tz, time_point_cast<seconds>(t)));
}

}  // namespace sluice::schedule
