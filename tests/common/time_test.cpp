#include "common/time.h"

#include <date/date.h>
#include <gtest/gtest.h>

using namespace std::chrono_literals;

namespace sluice {
namespace {

TEST(ParseDuration, UnitsAndFractions) {
  EXPECT_EQ(parse_duration("250ms"), 250ms);
  EXPECT_EQ(parse_duration("5s"), 5000ms);
  EXPECT_EQ(parse_duration("1.5s"), 1500ms);
  EXPECT_EQ(parse_duration("2m"), 120000ms);
  EXPECT_EQ(parse_duration("1h"), 3600000ms);
  EXPECT_EQ(parse_duration("1d"), 86400000ms);
}

TEST(ParseDuration, RejectsMalformed) {
  for (const char* bad : {"", "s", "5", "5x", "-5s", "5 s", "1e3s", "..s"}) {
    EXPECT_FALSE(parse_duration(bad).has_value()) << bad;
  }
}

TEST(Iso8601, RoundTrip) {
  TimePoint t = date::sys_days{date::year{2026} / 11 / 24} + 12h + 3min + 4s + 5ms;
  EXPECT_EQ(format_iso8601_utc(t), "2026-11-24T12:03:04.005Z");
  EXPECT_EQ(parse_iso8601_utc("2026-11-24T12:03:04.005Z"), t);
  EXPECT_EQ(parse_iso8601_utc("2026-11-24T12:03:04Z"), t - 5ms);
  EXPECT_FALSE(parse_iso8601_utc("2026-11-24 12:03:04").has_value());
  EXPECT_FALSE(parse_iso8601_utc("2026-11-24T12:03:04Zjunk").has_value());
}

}  // namespace
}  // namespace sluice
