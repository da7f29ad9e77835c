#include "dashboard/sql_template.h"

#include <cctype>
#include <nlohmann/json.hpp>

#include "sql/duckdb.h"

namespace sluice::dashboard {
namespace {

bool valid_name(std::string_view name) {
  if (name.empty() || name.size() > 64) return false;
  if (!std::isalpha(static_cast<unsigned char>(name[0])) && name[0] != '_') return false;
  for (char c : name)
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '_') return false;
  return true;
}

// The end of the quoted token starting at `i` (its closing quote's index + 1), quotes doubled inside.
size_t skip_quoted(std::string_view sql, size_t i) {
  const char quote = sql[i];
  for (++i; i < sql.size(); ++i) {
    if (sql[i] != quote) continue;
    if (i + 1 < sql.size() && sql[i + 1] == quote) {
      ++i;
      continue;
    }
    return i + 1;
  }
  return sql.size();
}

Placeholder placeholder_at(std::string_view sql, size_t at) {
  const size_t close = sql.find("}}", at + 2);
  if (close == std::string_view::npos)
    throw Error("\"{{\" at offset " + std::to_string(at) + " has no closing \"}}\"");
  std::string_view inner = sql.substr(at + 2, close - at - 2);
  while (!inner.empty() && inner.front() == ' ') inner.remove_prefix(1);
  while (!inner.empty() && inner.back() == ' ') inner.remove_suffix(1);
  Placeholder p;
  p.offset = at;
  const size_t dot = inner.find('.');
  p.parameter = std::string(inner.substr(0, dot));
  if (dot != std::string_view::npos) p.part = std::string(inner.substr(dot + 1));
  if (!valid_name(p.parameter) || (dot != std::string_view::npos && p.part != "start" && p.part != "end"))
    throw Error("\"{{" + std::string(inner.substr(0, 80)) + "}}\" at offset " + std::to_string(at) +
                " is not a parameter; expected {{name}}, {{name.start}} or {{name.end}}");
  return p;
}

std::string timestamp_literal(TimePoint t) {
  std::string iso = format_iso8601_utc(t);  // 2026-11-24T12:00:00.000Z
  iso[10] = ' ';
  iso.pop_back();
  return "TIMESTAMP '" + iso + "'";
}

bool is_number(std::string_view text) { return parse_number(text).has_value(); }

// The earliest and latest instants a date range can name: every timestamp falls between them.
constexpr int64_t kFarPastMs = 0;                  // 1970-01-01
constexpr int64_t kFarFutureMs = 253402300799000;  // 9999-12-31T23:59:59Z

std::optional<ParameterValue> range_of(std::string_view text, TimePoint now) {
  ParameterValue v;
  if (text == "all") {
    v.start = from_epoch_ms(kFarPastMs);
    v.end = from_epoch_ms(kFarFutureMs);
    return v;
  }
  if (auto back = parse_duration(text)) {
    v.start = now - *back;
    v.end = now;
    return v;
  }
  const size_t slash = text.find('/');
  if (slash == std::string_view::npos) return std::nullopt;
  auto start = parse_iso8601_utc(text.substr(0, slash));
  auto end = parse_iso8601_utc(text.substr(slash + 1));
  if (!start || !end || *end < *start) return std::nullopt;
  v.start = *start;
  v.end = *end;
  return v;
}

std::string check_text(std::string_view text) {
  if (text.size() > kMaxParameterValueBytes)
    return "a value of " + std::to_string(text.size()) + " bytes is over the limit of " +
           std::to_string(kMaxParameterValueBytes);
  if (text.find('\0') != std::string_view::npos) return "a value may not hold a NUL character";
  return "";
}

}  // namespace

std::vector<Placeholder> placeholders(std::string_view sql) {
  std::vector<Placeholder> out;
  for (size_t i = 0; i < sql.size();) {
    const char c = sql[i];
    if (c == '\'' || c == '"') {
      const size_t end = skip_quoted(sql, i);
      const size_t inside = sql.substr(i, end - i).find("{{");
      if (inside != std::string_view::npos && c == '\'')
        throw Error("the placeholder at offset " + std::to_string(i + inside) +
                    " is inside quotes; write it bare ({{name}}, not '{{name}}'): sluice quotes the value");
      i = end;
    } else if (c == '-' && i + 1 < sql.size() && sql[i + 1] == '-') {
      const size_t nl = sql.find('\n', i);
      i = nl == std::string_view::npos ? sql.size() : nl + 1;
    } else if (c == '{' && i + 1 < sql.size() && sql[i + 1] == '{') {
      out.push_back(placeholder_at(sql, i));
      i = sql.find("}}", i + 2) + 2;
    } else {
      ++i;
    }
  }
  return out;
}

std::string default_problem(const ParameterConfig& p) {
  switch (p.type) {
    case ParameterType::kDateRange:
      return range_of(p.default_value, now_ms()) ? ""
                                                 : "expected \"all\", a duration back from now (\"7d\", "
                                                   "\"24h\") or START/END in ISO-8601, got \"" +
                                                       p.default_value + "\"";
    case ParameterType::kNumber:
      return is_number(p.default_value) ? "" : "expected a number, got \"" + p.default_value + "\"";
    case ParameterType::kDropdown:
    case ParameterType::kText:
      return check_text(p.default_value);
  }
  return "";
}

ParameterValue default_value(const ParameterConfig& p, TimePoint now) {
  if (p.type == ParameterType::kDateRange) {
    auto v = range_of(p.default_value, now);
    if (!v) throw Error("parameter " + p.name + ": " + default_problem(p));
    return *v;
  }
  return ParameterValue{.text = p.default_value};
}

ParameterValue value_from_json(const ParameterConfig& p, const nlohmann::json& value) {
  const std::string where = "parameter \"" + p.name + "\" (" + std::string(to_string(p.type)) + ")";
  if (p.type == ParameterType::kDateRange) {
    const std::string expected = where + ": expected {\"start\": ISO-8601, \"end\": ISO-8601}";
    if (!value.is_object() || !value.contains("start") || !value.contains("end") ||
        !value["start"].is_string() || !value["end"].is_string())
      throw Error(expected);
    auto start = parse_iso8601_utc(value["start"].get<std::string>());
    auto end = parse_iso8601_utc(value["end"].get<std::string>());
    if (!start || !end) throw Error(expected + " (as 2026-11-24T12:00:00.000Z)");
    if (*end < *start) throw Error(where + ": the end is before the start");
    return ParameterValue{.start = *start, .end = *end};
  }
  if (!value.is_string()) throw Error(where + ": expected a string");
  std::string text = value.get<std::string>();
  if (std::string why = check_text(text); !why.empty()) throw Error(where + ": " + why);
  if (p.type == ParameterType::kNumber && !is_number(text))
    throw Error(where + ": expected a number, got \"" + text.substr(0, 100) + "\"");
  return ParameterValue{.text = std::move(text)};
}

std::string render(std::string_view sql, const std::vector<ParameterConfig>& parameters,
                   const std::map<std::string, ParameterValue>& values) {
  std::string out;
  size_t copied = 0;
  for (const auto& ph : placeholders(sql)) {
    const ParameterConfig* p = nullptr;
    for (const auto& candidate : parameters)
      if (candidate.name == ph.parameter) p = &candidate;
    if (!p) throw Error("{{" + ph.parameter + "}} names no parameter of the dashboard");
    const bool range = p->type == ParameterType::kDateRange;
    if (range == ph.part.empty())
      throw Error(range
                      ? "{{" + ph.parameter + "}} is a date range: write {{" + ph.parameter +
                            ".start}} or {{" + ph.parameter + ".end}}"
                      : "{{" + ph.parameter + "." + ph.part + "}}: only a date range has a start and an end");
    auto it = values.find(ph.parameter);
    if (it == values.end()) throw Error("parameter \"" + ph.parameter + "\" has no value");
    std::string literal;
    if (range)
      literal = timestamp_literal(ph.part == "start" ? it->second.start : it->second.end);
    else if (p->type == ParameterType::kNumber)
      literal = "(" + it->second.text + ")";  // parenthesised: `x -{{n}}` must not become `x --5`
    else
      literal = sql::quote_literal(it->second.text);
    out.append(sql.substr(copied, ph.offset - copied));
    out += literal;
    copied = sql.find("}}", ph.offset) + 2;
  }
  out.append(sql.substr(copied));
  return out;
}

std::map<std::string, ParameterValue> defaults(const std::vector<ParameterConfig>& parameters,
                                               TimePoint now) {
  std::map<std::string, ParameterValue> out;
  for (const auto& p : parameters) out[p.name] = default_value(p, now);
  return out;
}

}  // namespace sluice::dashboard
