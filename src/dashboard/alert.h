// Threshold alerts declared beside a visual (CloudWatch alarms on a dashboard's numbers):
//
//   condition: "failed_runs > 0"              fires as soon as the first row's failed_runs is above 0
//   condition: "count < 5 over 10m"           fires once count has stayed below 5 for 10 minutes
//
// Grammar: COLUMN OP NUMBER [over DURATION], OP one of > >= < <= = == != <>. The value is the named
// column of the query's first row. No row, NULL or a value that is not a number gives "unknown"
// (neither firing nor ok: a dashboard whose data is missing must not look healthy).
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <string_view>

#include "common/time.h"

namespace sluice::dashboard {

struct AlertCondition {
  enum class Op { kGt, kGe, kLt, kLe, kEq, kNe };
  std::string text;    // as written
  std::string column;  // lower-cased, as the query's columns are compared
  Op op = Op::kGt;
  double threshold = 0;
  std::chrono::milliseconds sustain{0};  // "over DURATION": how long it must hold before firing

  bool holds(double value) const;
};

// A decimal number as the whole of `text` ("3", "-1.5", "1e3"), finite; nullopt otherwise. What a
// condition's threshold, a number parameter and an alert's value are read with.
std::optional<double> parse_number(std::string_view text);

// Parses a condition; nullopt after setting `why` to what was expected.
std::optional<AlertCondition> parse_alert_condition(std::string_view text, std::string& why);

enum class AlertState { kUnknown, kOk, kFiring };
std::string_view to_string(AlertState state);

// The state of one alert across evaluations.
struct AlertStatus {
  AlertState state = AlertState::kUnknown;
  std::optional<TimePoint> since;            // when it entered `state`
  std::optional<TimePoint> breaching_since;  // the condition has held since (for "over")
  std::optional<double> value;               // the last value read
  std::string message;                       // one line for people
};

// Moves `status` by one evaluation at `now` with `value` (nullopt: unknown); returns true when its
// state changed (the moment to notify).
bool advance(const AlertCondition& condition, AlertStatus& status, std::optional<double> value,
             TimePoint now);

}  // namespace sluice::dashboard
