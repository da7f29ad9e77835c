// Parameters in a visual's SQL. A visual writes {{name}} where a parameter's value goes, and
// {{name.start}} / {{name.end}} for the two ends of a date range. sluice replaces each with a SQL
// literal it builds itself — a quoted string (quotes doubled), a number it parsed, or
// TIMESTAMP 'YYYY-MM-DD HH:MM:SS.mmm' (UTC) — so a value can never change the query's structure.
// A placeholder must therefore be written bare, not inside quotes ('{{name}}' is refused).
#pragma once

#include <map>
#include <nlohmann/json_fwd.hpp>
#include <string>
#include <string_view>
#include <vector>

#include "common/error.h"
#include "common/time.h"
#include "dashboard/dashboard_config.h"

namespace sluice::dashboard {

struct Placeholder {
  std::string parameter;
  std::string part;   // "", "start" or "end"
  size_t offset = 0;  // of "{{" in the SQL
};

// The placeholders of `sql` in order. Throws Error naming the offset for "{{" without "}}", a name
// that is not [A-Za-z_][A-Za-z0-9_]*(.start|.end)?, or a placeholder inside a quoted string.
std::vector<Placeholder> placeholders(std::string_view sql);

// A parameter's value: text for text, dropdown and number; the two ends for a date range.
struct ParameterValue {
  std::string text;
  TimePoint start{};
  TimePoint end{};
};

// The most bytes a text value may have (longer ones are refused, not cut).
inline constexpr size_t kMaxParameterValueBytes = 4096;

// The value a parameter takes when the page does not send one, at `now`. Throws Error for a default
// that does not parse (the parser checks defaults, so this is a programming error).
ParameterValue default_value(const ParameterConfig& parameter, TimePoint now);

// Checks a default as written in the file; returns "" or what is wrong.
std::string default_problem(const ParameterConfig& parameter);

// A value sent by the page: a string (text, dropdown, number) or {"start": ISO, "end": ISO}
// (date_range). Throws Error saying what was expected.
ParameterValue value_from_json(const ParameterConfig& parameter, const nlohmann::json& value);

// `sql` with every placeholder replaced by its parameter's literal. Every placeholder must name a
// parameter of `parameters` with a value in `values` and a part its type has. Throws Error.
std::string render(std::string_view sql, const std::vector<ParameterConfig>& parameters,
                   const std::map<std::string, ParameterValue>& values);

// The parameters' values at their defaults, at `now`.
std::map<std::string, ParameterValue> defaults(const std::vector<ParameterConfig>& parameters, TimePoint now);

}  // namespace sluice::dashboard
