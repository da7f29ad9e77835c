#include "dashboard/alert.h"

#include <cctype>
#include <charconv>
#include <cmath>
#include <vector>

namespace sluice::dashboard {
namespace {

std::vector<std::string> words_of(std::string_view text) {
  std::vector<std::string> out;
  size_t i = 0;
  while (i < text.size()) {
    while (i < text.size() && std::isspace(static_cast<unsigned char>(text[i]))) ++i;
    size_t start = i;
    // An operator stands alone even when written against its operands ("count>0").
    if (i < text.size() && std::string_view("<>=!").find(text[i]) != std::string_view::npos) {
      while (i < text.size() && std::string_view("<>=!").find(text[i]) != std::string_view::npos) ++i;
    } else {
      while (i < text.size() && !std::isspace(static_cast<unsigned char>(text[i])) &&
             std::string_view("<>=!").find(text[i]) == std::string_view::npos)
        ++i;
    }
    if (i > start) out.emplace_back(text.substr(start, i - start));
  }
  return out;
}

std::optional<AlertCondition::Op> op_of(const std::string& word) {
  using Op = AlertCondition::Op;
  if (word == ">") return Op::kGt;
  if (word == ">=") return Op::kGe;
  if (word == "<") return Op::kLt;
  if (word == "<=") return Op::kLe;
  if (word == "=" || word == "==") return Op::kEq;
  if (word == "!=" || word == "<>") return Op::kNe;
  return std::nullopt;
}

bool valid_column(const std::string& word) {
  if (word.empty() || word.size() > 255) return false;
  if (!std::isalpha(static_cast<unsigned char>(word[0])) && word[0] != '_') return false;
  for (char c : word)
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '_') return false;
  return true;
}

std::string format_number(double v) {
  char buffer[32];
  auto [ptr, ec] = std::to_chars(buffer, buffer + sizeof buffer, v);
  return ec == std::errc() ? std::string(buffer, ptr) : std::string("?");
}

}  // namespace

std::optional<double> parse_number(std::string_view text) {
  double value = 0;
  const char* end = text.data() + text.size();
  auto [ptr, ec] = std::from_chars(text.data(), end, value);
  if (text.empty() || ec != std::errc() || ptr != end || !std::isfinite(value)) return std::nullopt;
  return value;
}

bool AlertCondition::holds(double value) const {
  switch (op) {
    case Op::kGt:
      return value > threshold;
    case Op::kGe:
      return value >= threshold;
    case Op::kLt:
      return value < threshold;
    case Op::kLe:
      return value <= threshold;
    case Op::kEq:
      return value == threshold;
    case Op::kNe:
      return value != threshold;
  }
  return false;
}

std::optional<AlertCondition> parse_alert_condition(std::string_view text, std::string& why) {
  const std::string expected =
      "expected COLUMN OP NUMBER [over DURATION] (OP one of > >= < <= = != ; e.g. \"failed_runs > 0\" or "
      "\"count < 5 over 10m\"), got \"" +
      std::string(text.substr(0, 200)) + "\"";
  const auto words = words_of(text);
  if (words.size() != 3 && words.size() != 5) {
    why = expected;
    return std::nullopt;
  }
  AlertCondition c;
  c.text = std::string(text);
  const auto op = op_of(words[1]);
  const auto threshold = parse_number(words[2]);
  if (!valid_column(words[0]) || !op || !threshold) {
    why = expected;
    return std::nullopt;
  }
  c.column.reserve(words[0].size());
  for (char ch : words[0]) c.column += static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
  c.op = *op;
  c.threshold = *threshold;
  if (words.size() == 5) {
    const auto sustain = words[3] == "over" ? parse_duration(words[4]) : std::nullopt;
    if (!sustain) {
      why = expected;
      return std::nullopt;
    }
    c.sustain = *sustain;
  }
  return c;
}

std::string_view to_string(AlertState state) {
  switch (state) {
    case AlertState::kUnknown:
      return "unknown";
    case AlertState::kOk:
      return "ok";
    case AlertState::kFiring:
      return "firing";
  }
  return "unknown";
}

bool advance(const AlertCondition& condition, AlertStatus& status, std::optional<double> value,
             TimePoint now) {
  const AlertState before = status.state;
  status.value = value;
  AlertState next = AlertState::kUnknown;
  if (!value) {
    status.breaching_since.reset();
    status.message = "no value: the query returned no row, NULL or a non-number in " + condition.column;
  } else if (!condition.holds(*value)) {
    status.breaching_since.reset();
    next = AlertState::kOk;
    status.message =
        condition.column + " = " + format_number(*value) + " (fires when " + condition.text + ")";
  } else {
    if (!status.breaching_since) status.breaching_since = now;
    const bool sustained = now - *status.breaching_since >= condition.sustain;
    next = sustained ? AlertState::kFiring
                     : (before == AlertState::kFiring ? AlertState::kFiring : AlertState::kOk);
    status.message =
        condition.column + " = " + format_number(*value) + ": " + condition.text +
        (sustained ? "" : " (holding since " + format_iso8601_utc(*status.breaching_since) + ")");
  }
  status.state = next;
  if (next != before) status.since = now;
  return next != before;
}

}  // namespace sluice::dashboard
