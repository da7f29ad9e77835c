// The `schedules:` section of the pipeline file: the config of one EventBridge-style scheduled rule,
// its key table (for the parser and the JSON Schema) and its parser. Whether the targets exist is
// checked by the composition (config/pipeline.cpp), which knows the sources and crawlers.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "config/keys.h"
#include "config/reader.h"
#include "schedule/schedule.h"

namespace sluice::schedule {

// When it fires, every target (a source or crawler name) runs, in this order.
struct ScheduleConfig {
  std::string name;
  std::string expression;        // "cron(00 10 * * ? *)" or "rate(5 minutes)"
  std::string timezone = "UTC";  // IANA zone in which cron fields and key templates are evaluated
  CatchUp catch_up = CatchUp::kLatest;
  std::vector<std::string> targets;
};

// Empty when `zone` is an IANA zone name, else a sentence saying what is expected.
std::string timezone_problem(std::string_view zone);

// The keys of one schedule (schedules.NAME).
const config::Section& schedule_section();

// Fills `schedule` from one entry of schedules:, recording every problem in `reader` (an expression
// problem at its character when the expression is on its key's line). Throws only ConfigError past
// the reader's limit of problems.
void parse_schedule(config::Reader& reader, const config::Reader::Entry& entry, ScheduleConfig& schedule);

}  // namespace sluice::schedule
