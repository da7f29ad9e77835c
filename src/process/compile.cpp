#include "process/compile.h"

#include <map>

namespace sluice::process {
namespace {

using sql::quote_identifier;
using sql::quote_literal;

bool is_identifier_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
}

// Index just past the quoted text that starts at `i` (a quote character), `backslashes` for E'...'.
size_t skip_quoted(std::string_view sql, size_t i, bool backslashes) {
  const char quote = sql[i++];
  while (i < sql.size()) {
    if (backslashes && sql[i] == '\\') {
      i += 2;
    } else if (sql[i] == quote) {
      if (i + 1 < sql.size() && sql[i + 1] == quote) {
        i += 2;  // a doubled quote stands for one
      } else {
        return i + 1;
      }
    } else {
      ++i;
    }
  }
  return sql.size();
}

// Index just past a comment, or `i` when none starts there. Block comments nest, as in DuckDB.
size_t skip_comment(std::string_view sql, size_t i) {
  if (sql.substr(i, 2) == "--") {
    const auto end = sql.find('\n', i);
    return end == std::string_view::npos ? sql.size() : end + 1;
  }
  if (sql.substr(i, 2) != "/*") return i;
  int depth = 0;
  while (i < sql.size()) {
    if (sql.substr(i, 2) == "/*") {
      ++depth;
      i += 2;
    } else if (sql.substr(i, 2) == "*/") {
      i += 2;
      if (--depth == 0) return i;
    } else {
      ++i;
    }
  }
  return sql.size();
}

// Index just past a dollar-quoted string ($tag$...$tag$) at `i`, or `i` when none starts there.
size_t skip_dollar_quoted(std::string_view sql, size_t i) {
  size_t j = i + 1;
  while (j < sql.size() && is_identifier_char(sql[j]) && !(j == i + 1 && sql[j] >= '0' && sql[j] <= '9')) ++j;
  if (j >= sql.size() || sql[j] != '$') return i;
  const std::string_view tag = sql.substr(i, j - i + 1);
  const auto end = sql.find(tag, j + 1);
  return end == std::string_view::npos ? sql.size() : end + tag.size();
}

// The SQL flatten (a flatten that is not the first step): struct columns become prefixed columns.
void flatten_into(const sql::Column& column, const std::string& expr, const std::string& name,
                  const std::string& path, const std::string& separator, std::vector<std::string>& select,
                  std::map<std::string, std::pair<std::string, std::string>>& seen) {
  if (column.is_struct && !column.fields.empty()) {
    for (const auto& field : column.fields) {
      flatten_into(field, "struct_extract(" + expr + ", " + quote_literal(field.name) + ")",
                   name + separator + field.name, path + "." + field.name, separator, select, seen);
    }
    return;
  }
  if (column.name.empty()) throw Error("\"" + path + "\" has an empty name, which cannot be a column");
  for (unsigned char c : column.name)
    if (c < 0x20 || c == 0x7f) throw Error("\"" + path + "\" contains a control character");
  std::string lower = name;
  for (char& c : lower)
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  auto [it, inserted] = seen.emplace(lower, std::make_pair(path, name));
  if (!inserted) {
    throw Error("\"" + it->second.first + "\" and \"" + path + "\" both become column \"" +
                it->second.second + "\"" +
                (it->second.second == name ? "" : " (DuckDB column names ignore case)"));
  }
  select.push_back(expr + " AS " + quote_identifier(name));
}

}  // namespace

std::string_view strip_trailing_semicolons(std::string_view sql) {
  size_t content_end = 0;  // just past the last significant character that is not a ';'
  bool ends_with_semicolon = false;
  size_t i = 0;
  while (i < sql.size()) {
    const char c = sql[i];
    if (const size_t after = skip_comment(sql, i); after != i) {
      i = after;
      continue;
    }
    if (c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f') {
      ++i;
      continue;
    }
    if (c == ';') {
      ends_with_semicolon = true;
      ++i;
      continue;
    }
    ends_with_semicolon = false;
    if (c == '\'' || c == '"') {
      const bool escapes = c == '\'' && i > 0 && (sql[i - 1] == 'e' || sql[i - 1] == 'E') &&
                           (i == 1 || !is_identifier_char(sql[i - 2]));
      i = skip_quoted(sql, i, escapes);
    } else if (c == '$' && skip_dollar_quoted(sql, i) != i) {
      i = skip_dollar_quoted(sql, i);
    } else {
      ++i;
    }
    content_end = i;
  }
  return ends_with_semicolon ? sql.substr(0, content_end) : sql;
}

QueryBuilder::QueryBuilder(sql::Session& session, std::string source) : session_(session) {
  ctes_.emplace_back("s0", "SELECT * FROM " + source);
}

void QueryBuilder::add(const Step& step, size_t index) {
  const std::string previous = ctes_.back().first;
  std::string body;
  switch (step.kind) {
    case Step::Kind::kFlatten:
      body = flatten_body(step, index, previous);
      break;
    case Step::Kind::kFilter:
      body = "SELECT * FROM " + previous + " WHERE (" +
             std::string(strip_trailing_semicolons(step.expression)) + "\n)";
      break;
    case Step::Kind::kSelect:
      body = "SELECT ";
      for (size_t i = 0; i < step.columns.size(); ++i)
        body += (i ? ", " : "") + quote_identifier(step.columns[i]);
      body += " FROM " + previous;
      break;
    case Step::Kind::kRename:
      body = "SELECT * RENAME (";
      for (size_t i = 0; i < step.mapping.size(); ++i)
        body += (i ? ", " : "") + quote_identifier(step.mapping[i].first) + " AS " +
                quote_identifier(step.mapping[i].second);
      body += ") FROM " + previous;
      break;
    case Step::Kind::kCast:
      body = "SELECT * REPLACE (";
      for (size_t i = 0; i < step.mapping.size(); ++i) {
        const auto column = quote_identifier(step.mapping[i].first);
        body += (i ? ", " : "") + std::string("CAST(") + column + " AS " + step.mapping[i].second +
                "\n) AS " + column;
      }
      body += ") FROM " + previous;
      break;
    case Step::Kind::kSql:
      // A subquery, so that the user's SQL may have its own WITH clause.
      body = "WITH input AS (SELECT * FROM " + previous + ") SELECT * FROM (\n" +
             std::string(strip_trailing_semicolons(step.expression)) + "\n)";
      break;
  }
  ctes_.emplace_back("s" + std::to_string(ctes_.size()), body);
}

std::string QueryBuilder::flatten_body(const Step& step, size_t index, const std::string& previous) {
  std::vector<std::string> select;
  std::map<std::string, std::pair<std::string, std::string>> seen;
  try {
    for (const auto& column : session_.describe(query())) {
      flatten_into(column, quote_identifier(column.name), column.name, column.name, step.separator, select,
                   seen);
    }
  } catch (const SystemError&) {
    throw;
  } catch (const Error& e) {
    throw Error(step_label(step, index) + ": " + e.what());
  }
  std::string body = "SELECT ";
  for (size_t i = 0; i < select.size(); ++i) body += (i ? ", " : "") + select[i];
  return body + " FROM " + previous;
}

std::string QueryBuilder::query() const {
  std::string q = "WITH ";
  for (size_t i = 0; i < ctes_.size(); ++i)
    q += (i ? ", " : "") + ctes_[i].first + " AS (" + ctes_[i].second + ")";
  return q + " SELECT * FROM " + ctes_.back().first;
}

std::string standalone_sql(const Step& step) {
  switch (step.kind) {
    case Step::Kind::kFilter:
      return "SELECT * FROM t WHERE (" + std::string(strip_trailing_semicolons(step.expression)) + "\n)";
    case Step::Kind::kSql:
      return "WITH input AS (SELECT 1) SELECT * FROM (\n" +
             std::string(strip_trailing_semicolons(step.expression)) + "\n)";
    case Step::Kind::kCast: {
      std::string q = "SELECT ";
      for (size_t i = 0; i < step.mapping.size(); ++i)
        q += (i ? ", " : "") + std::string("CAST(NULL AS ") + step.mapping[i].second + "\n)";
      return q;
    }
    default:
      return "";
  }
}

std::string step_label(const Step& step, size_t index) {
  static constexpr const char* kNames[] = {"flatten", "filter", "select", "rename", "cast", "sql"};
  return "step " + std::to_string(index + 1) + " (" + kNames[static_cast<size_t>(step.kind)] + ")";
}

}  // namespace sluice::process
