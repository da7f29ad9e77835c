// Checks of single values in the pipeline file, each delegating to the component that owns the
// rule (storage for bucket names, schedule for zones and expressions, extract for destinations). Each
// returns an empty string (or nullopt) when the value is fine, else a sentence saying what is expected.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace sluice::config {

std::string validate_bucket(std::string_view bucket);
std::string validate_timezone(std::string_view zone);
std::string validate_destination(std::string_view to);

struct ExpressionProblem {
  int offset = 0;  // 0-based offset into the expression text
  std::string message;
};
std::optional<ExpressionProblem> validate_schedule_expression(std::string_view expression,
                                                              std::string_view zone);

}  // namespace sluice::config
