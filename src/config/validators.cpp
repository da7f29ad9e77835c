#include "config/validators.h"

#include <date/tz.h>

#include <algorithm>
#include <cctype>

#include "extract/extractor.h"
#include "schedule/schedule.h"
#include "storage/object_store.h"

namespace sluice::config {

std::string validate_bucket(std::string_view bucket) { return storage::validate_bucket_name(bucket); }

std::string validate_timezone(std::string_view zone) {
  try {
    date::locate_zone(zone);
    return "";
  } catch (const std::exception&) {
    return "unknown time zone \"" + std::string(zone) +
           "\"; expected an IANA name such as UTC or Europe/Paris";
  }
}

std::string validate_destination(std::string_view to) {
  return extract::validate_destination(std::string(to));
}

std::string destination_bucket(std::string_view to) {
  constexpr std::string_view kScheme = "s3://";
  if (to.substr(0, kScheme.size()) != kScheme) return "";
  to.remove_prefix(kScheme.size());
  return std::string(to.substr(0, to.find('/')));
}

bool valid_env_name(std::string_view name) {
  if (name.empty() || std::isdigit(static_cast<unsigned char>(name[0]))) return false;
  return std::all_of(name.begin(), name.end(),
                     [](char c) { return std::isalnum(static_cast<unsigned char>(c)) || c == '_'; });
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
