#include "common/time.h"

// date.h's parse() trips g++ 12's -Wmaybe-uninitialized inside <chrono>; the library is correct.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#include <date/date.h>

#include <charconv>
#include <cmath>
#include <sstream>

namespace sluice {

std::optional<std::chrono::milliseconds> parse_duration(std::string_view text) {
  size_t unit_at = 0;
  while (unit_at < text.size() &&
         (std::isdigit(static_cast<unsigned char>(text[unit_at])) || text[unit_at] == '.'))
    ++unit_at;
  if (unit_at == 0 || unit_at == text.size()) return std::nullopt;
  double value = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + unit_at, value);
  if (ec != std::errc() || end != text.data() + unit_at || !std::isfinite(value) || value < 0)
    return std::nullopt;
  std::string_view unit = text.substr(unit_at);
  double ms_per_unit = 0;
  if (unit == "ms")
    ms_per_unit = 1;
  else if (unit == "s")
    ms_per_unit = 1000;
  else if (unit == "m")
    ms_per_unit = 60'000;
  else if (unit == "h")
    ms_per_unit = 3'600'000;
  else if (unit == "d")
    ms_per_unit = 86'400'000;
  else
    return std::nullopt;
  double ms = value * ms_per_unit;
  if (ms > 1e15) return std::nullopt;
  return std::chrono::milliseconds(static_cast<int64_t>(std::llround(ms)));
}

std::string format_iso8601_utc(TimePoint t) { return date::format("%FT%TZ", t); }

std::optional<TimePoint> parse_iso8601_utc(std::string_view text) {
  std::istringstream in{std::string(text)};
  TimePoint t;
  in >> date::parse("%FT%TZ", t);
  if (in.fail()) return std::nullopt;
  in.peek();
  if (!in.eof()) return std::nullopt;
  return t;
}

}  // namespace sluice

#pragma GCC diagnostic pop
