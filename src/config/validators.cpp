#include "config/validators.h"

#include "extract/extractor.h"
#include "schedule/schedule.h"
#include "schedule/schedule_config.h"
#include "storage/object_store.h"

namespace sluice::config {

std::string validate_bucket(std::string_view bucket) { return storage::validate_bucket_name(bucket); }

std::string validate_timezone(std::string_view zone) { return schedule::timezone_problem(zone); }

std::string validate_destination(std::string_view to) {
  return extract::validate_destination(std::string(to));
}

std::optional<ExpressionProblem> validate_schedule_expression(std::string_view expression,
                                                              std::string_view zone) {
  try {
    schedule::ScheduleExpression::parse(expression, zone);
    return std::nullopt;
  } catch (const schedule::ScheduleError& e) {
    return ExpressionProblem{static_cast<int>(e.column()), e.what()};
  }
}

}  // namespace sluice::config
