#include "schedule/schedule_config.h"

#include <date/tz.h>

#include <array>

namespace sluice::schedule {

using config::Kind;
using config::Node;
using config::Reader;
using config::Section;

std::string timezone_problem(std::string_view zone) {
  try {
    date::locate_zone(zone);
    return "";
  } catch (const std::exception&) {
    return "unknown time zone \"" + std::string(zone) +
           "\"; expected an IANA name such as UTC or Europe/Paris";
  }
}

const Section& schedule_section() {
  static const Section section{{
      {.name = "expression",
       .description = "cron(MIN HOUR DOM MONTH DOW YEAR) or rate(N UNIT)",
       .required = true,
       .pattern = "^(cron|rate)\\(.*\\)$"},
      {.name = "timezone",
       .description = "IANA zone of the cron fields and key templates",
       .default_value = "UTC"},
      {.name = "catch_up",
       .kind = Kind::kEnum,
       .description = "slots missed while stopped",
       .default_value = "latest",
       .values = {"none", "latest", "all"}},
      {.name = "targets",
       .kind = Kind::kNames,
       .description = "sources and crawlers to run, in order",
       .required = true,
       .hint = "the sources and crawlers to run"},
  }};
  return section;
}

namespace {

void parse_expression(Reader& r, const Node& node, const std::string& path, ScheduleConfig& sched) {
  const auto expression = r.string(node, schedule_section()["expression"], path);
  if (!expression) return;
  sched.expression = *expression;
  try {
    ScheduleExpression::parse(*expression, sched.timezone);
  } catch (const ScheduleError& e) {
    // Point at the offending character when the expression is on the same line as its key.
    const Node value = node["expression"];
    const int column = value.mark().column + (r.quoted(value) ? 1 : 0) + static_cast<int>(e.column());
    r.error_at(value.mark().line, column, path + ".expression", e.what());
  }
}

}  // namespace

void parse_schedule(Reader& r, const Reader::Entry& entry, ScheduleConfig& sched) {
  const Section& keys = schedule_section();
  const Node& node = entry.value;
  const std::string& path = entry.path;
  sched.name = entry.name;
  if (!r.expect_map(node, path)) return;
  r.check_keys(node, path, keys);
  if (auto tz = r.string(node, keys["timezone"], path)) {
    if (std::string why = timezone_problem(*tz); !why.empty())
      r.error(node["timezone"], path + ".timezone", why);
    else
      sched.timezone = *tz;
  }
  parse_expression(r, node, path, sched);
  if (auto policy = r.choice(node, keys["catch_up"], path))
    sched.catch_up = std::array{CatchUp::kNone, CatchUp::kLatest, CatchUp::kAll}[*policy];
  sched.targets = r.names(node, keys["targets"], path);
}

}  // namespace sluice::schedule
