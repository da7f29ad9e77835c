// Durations as written in pipeline files, and timestamps as written in run history and events.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace sluice {

using Clock = std::chrono::system_clock;
using TimePoint = std::chrono::time_point<Clock, std::chrono::milliseconds>;

// Parses "<number><unit>" with unit ms, s, m, h or d ("250ms", "5s", "1.5s", "2m"). Returns nullopt
// when the text is not of that form.
std::optional<std::chrono::milliseconds> parse_duration(std::string_view text);

// "2026-11-24T12:00:00.000Z": UTC with milliseconds, the form S3 and the run history use.
std::string format_iso8601_utc(TimePoint t);

// Parses what format_iso8601_utc writes (and the same without fraction). nullopt when malformed.
std::optional<TimePoint> parse_iso8601_utc(std::string_view text);

// Milliseconds since the epoch, the form the metastore stores times in, and back.
inline int64_t to_epoch_ms(TimePoint t) { return t.time_since_epoch().count(); }
inline TimePoint from_epoch_ms(int64_t ms) { return TimePoint(std::chrono::milliseconds(ms)); }

inline TimePoint now_ms() { return std::chrono::time_point_cast<std::chrono::milliseconds>(Clock::now()); }

}  // namespace sluice
