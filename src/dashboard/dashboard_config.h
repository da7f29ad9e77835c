// The dashboards of a pipeline file (QuickSight's dashboards, as code): a dashboard has a title,
// parameters (a date range, a dropdown filled from a query, free text, a number) and sheets of
// visuals. A visual is a SQL query over the catalog that may use the parameters ({{name}},
// {{range.start}}, {{range.end}}: see sql_template.h), a type, the mapping of the chart's fields to
// the query's columns, a refresh, an optional drill-down (a click on a mark sets a parameter) and
// threshold alerts (alert.h). These structs are the contract the parser (dashboard_config_parser.h)
// fills and the console reads through the API.
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "config/diagnostic.h"
#include "dashboard/alert.h"

namespace sluice::dashboard {

enum class VisualType {
  kKpi,
  kBar,
  kStackedBar,
  kLine,
  kArea,
  kPie,
  kDonut,
  kTable,
  kPivot,
  kScatter,
  kHistogram,
  kHeatmap,
  kMap
};
// "kpi", "bar", "stacked_bar", ... as written in the file.
std::string_view to_string(VisualType type);

// The fields a visual type maps to columns: those it needs, and those it may take.
struct FieldRule {
  std::vector<std::string_view> required;
  std::vector<std::string_view> optional;
};
const FieldRule& field_rule(VisualType type);

enum class ParameterType { kDateRange, kDropdown, kText, kNumber };
std::string_view to_string(ParameterType type);

struct ParameterConfig {
  std::string name;  // [A-Za-z_][A-Za-z0-9_]*: it is written {{name}} in SQL
  std::string label;
  ParameterType type = ParameterType::kText;
  // text, dropdown: the value ("" is allowed: SQL can test {{p}} = ''); number: a decimal number;
  // date_range: "all", or a duration back from now ("7d", "24h"), or "START/END" in ISO-8601.
  std::string default_value;
  std::string values_sql;  // dropdown: a query whose first column gives the choices
};

enum class RefreshMode { kOnChange, kInterval, kManual };
std::string_view to_string(RefreshMode mode);

struct Refresh {
  RefreshMode mode = RefreshMode::kOnChange;
  std::chrono::milliseconds interval{0};  // kInterval only
};

// A click on a mark (or its row in the table view) sets `parameter` to the mark's value of `field`.
struct Drill {
  std::string parameter;
  std::string field;  // a field of the visual ("x", "label"), not a column
};

struct AlertConfig {
  std::string name;
  AlertCondition condition;
  std::string webhook;  // http(s) URL POSTed on each change of state; empty: none
};

// Where a visual's parts are written, for problems found after loading (sluice validate).
struct VisualPlaces {
  config::Diagnostic sql;
  std::vector<std::pair<std::string, config::Diagnostic>> fields;  // field name -> its value's place
};

struct VisualConfig {
  std::string id;  // unique in its dashboard
  VisualType type = VisualType::kTable;
  std::string title;
  std::string description;
  std::string sql;
  std::vector<std::pair<std::string, std::string>> fields;  // field -> column, in file order
  Refresh refresh;
  std::optional<Drill> drill;
  std::vector<AlertConfig> alerts;
  int bins = 20;             // histogram
  int page_size = 25;        // table
  size_t max_rows = 10'000;  // rows sent to the page
  VisualPlaces places;

  // The column mapped to `field`, or nullptr.
  const std::string* column(std::string_view field) const;
};

struct SheetConfig {
  std::string title;
  std::vector<VisualConfig> visuals;
};

struct DashboardConfig {
  std::string name;
  std::string title;
  std::vector<ParameterConfig> parameters;
  std::vector<SheetConfig> sheets;

  const ParameterConfig* parameter(std::string_view name) const;
  const VisualConfig* visual(std::string_view id) const;
  size_t visual_count() const;
};

}  // namespace sluice::dashboard
