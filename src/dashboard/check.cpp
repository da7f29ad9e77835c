#include "dashboard/check.h"

#include <algorithm>

#include "dashboard/sql_template.h"
#include "query/binder.h"

namespace sluice::dashboard {
namespace {

// DuckDB's message on one line: its first line, and the SQL line it points at ("LINE 3:") if any.
std::string one_line(const std::string& message) {
  const size_t nl = message.find('\n');
  if (nl == std::string::npos) return message;
  std::string out = message.substr(0, nl);
  const size_t line = message.find("LINE ", nl);
  const size_t colon = line == std::string::npos ? line : message.find(':', line);
  if (colon != std::string::npos)
    out += " (at line " + message.substr(line + 5, colon - line - 5) + " of the SQL)";
  return out;
}

config::Diagnostic at(const config::Diagnostic& place, std::string message) {
  config::Diagnostic d = place;
  d.message = std::move(message);
  return d;
}

// " (catalogued in DB: a, b)" after DuckDB's "Table with name x does not exist", to say what exists.
std::string catalogued_tables(catalog::Catalog& catalog, const std::string& database) {
  std::string names;
  for (const auto& t : catalog.tables(database)) names += (names.empty() ? "" : ", ") + t.name;
  return " (catalogued in " + database + ": " + (names.empty() ? "none yet" : names) + ")";
}

void check_visual(const DashboardConfig& d, const VisualConfig& v, catalog::Catalog* catalog,
                  const std::string& database, std::vector<config::Diagnostic>& out) {
  std::string sql;
  try {
    sql = render(v.sql, d.parameters, defaults(d.parameters, now_ms()));
  } catch (const Error& e) {
    out.push_back(at(v.places.sql, e.what()));
    return;
  }
  try {
    if (!catalog) {
      query::parse_select(sql);
      return;
    }
    const auto bound = query::bind_query(*catalog, sql, database);
    for (const auto& [field, column] : v.fields) {
      if (std::find(bound.columns.begin(), bound.columns.end(), column) != bound.columns.end()) continue;
      std::string returned;
      for (const auto& c : bound.columns) returned += (returned.empty() ? "" : ", ") + c;
      config::Diagnostic place = v.places.sql;
      for (const auto& [f, p] : v.places.fields)
        if (f == field) place = p;
      out.push_back(at(place, "field \"" + field + "\" maps to column \"" + column +
                                  "\", which the query does not return (it returns: " + returned + ")"));
    }
  } catch (const SystemError&) {
    throw;
  } catch (const Error& e) {
    std::string message = one_line(e.what());
    if (catalog && message.find("does not exist") != std::string::npos)
      message += catalogued_tables(*catalog, database);
    out.push_back(at(v.places.sql, message + (catalog ? " (bound against the catalog)" : "")));
  }
}

}  // namespace

std::vector<config::Diagnostic> check_dashboards(const std::vector<DashboardConfig>& dashboards,
                                                 catalog::Catalog* catalog, const std::string& database) {
  std::vector<config::Diagnostic> out;
  for (const auto& d : dashboards)
    for (const auto& s : d.sheets)
      for (const auto& v : s.visuals) check_visual(d, v, catalog, database, out);
  return out;
}

}  // namespace sluice::dashboard
