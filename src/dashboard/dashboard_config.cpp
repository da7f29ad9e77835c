#include <algorithm>
#include <set>

#include "dashboard/dashboard_config_parser.h"
#include "dashboard/sql_template.h"

namespace sluice::dashboard {

using config::Kind;
using config::Node;
using config::Reader;
using config::Section;

namespace {

constexpr std::string_view kVisualTypes[] = {"kpi",       "bar",     "stacked_bar", "line",  "area",
                                             "pie",       "donut",   "table",       "pivot", "scatter",
                                             "histogram", "heatmap", "map"};
constexpr std::string_view kParameterTypes[] = {"date_range", "dropdown", "text", "number"};

const Section& drill_section() {
  static const Section section{{
      {.name = "parameter", .description = "the parameter a click sets", .required = true},
      {.name = "field",
       .description = "the visual's field whose value it takes (x, label...)",
       .required = true},
  }};
  return section;
}

const Section& alert_section() {
  static const Section section{{
      {.name = "name", .description = "the alert's name", .required = true, .pattern = config::kNamePattern},
      {.name = "condition",
       .description = "COLUMN OP NUMBER [over DURATION], on the query's first row",
       .required = true},
      {.name = "webhook",
       .description = "http(s) URL POSTed on each change of state",
       .pattern = "^https?://"},
  }};
  return section;
}

const Section& visual_section() {
  static const Section section{{
      {.name = "type",
       .kind = Kind::kEnum,
       .description = "the chart",
       .required = true,
       .values = {std::begin(kVisualTypes), std::end(kVisualTypes)}},
      {.name = "title", .description = "shown above it; default: its id"},
      {.name = "description", .description = "a line under the title"},
      {.name = "sql",
       .description = "SELECT over the catalog; {{param}}, {{range.start}}, {{range.end}} take parameters",
       .required = true},
      {.name = "fields",
       .kind = Kind::kScalarMap,
       .description = "the chart's fields mapped to result columns"},
      {.name = "refresh",
       .description = "on_change (when a table it reads gets data), manual, or an interval (\"30s\")",
       .default_value = "on_change"},
      {.name = "drill",
       .kind = Kind::kMapping,
       .description = "a click sets a parameter",
       .section = &drill_section()},
      {.name = "alerts",
       .kind = Kind::kList,
       .description = "threshold alerts, evaluated after each refresh",
       .items = {{.kind = Kind::kMapping, .section = &alert_section()}}},
      {.name = "bins",
       .kind = Kind::kInteger,
       .description = "histogram bins",
       .default_value = "20",
       .min = 1,
       .max = kMaxBins},
      {.name = "page_size",
       .kind = Kind::kInteger,
       .description = "table rows per page",
       .default_value = "25",
       .min = 1,
       .max = kMaxPageSize},
      {.name = "max_rows",
       .kind = Kind::kInteger,
       .description = "rows sent to the page",
       .default_value = "10000",
       .min = 1,
       .max = kMaxVisualRows},
  }};
  return section;
}

const Section& sheet_section() {
  static const Section section{{
      {.name = "title", .description = "the sheet's tab", .required = true},
      {.name = "visuals",
       .kind = Kind::kEntries,
       .description = "visuals by id, in page order",
       .required = true,
       .hint = "visual",
       .section = &visual_section()},
  }};
  return section;
}

const Section& parameter_section() {
  static const Section section{{
      {.name = "type",
       .kind = Kind::kEnum,
       .description = "the control",
       .required = true,
       .values = {std::begin(kParameterTypes), std::end(kParameterTypes)}},
      {.name = "label", .description = "shown beside the control; default: its name"},
      {.name = "default",
       .description = "date_range: all, 7d, START/END; others: the value",
       .default_value = "\"\" (date_range: all)"},
      {.name = "values", .description = "dropdown: SQL whose first column gives the choices"},
  }};
  return section;
}

config::Diagnostic place(const Reader& r, const Node& node, const std::string& path) {
  const auto m = node.mark();
  return config::Diagnostic{r.file(), m.line, m.column, path, ""};
}

std::optional<Refresh> parse_refresh(const std::string& text) {
  if (text == "on_change") return Refresh{RefreshMode::kOnChange, {}};
  if (text == "manual") return Refresh{RefreshMode::kManual, {}};
  auto every = parse_duration(text);
  if (!every || *every < kMinRefreshInterval) return std::nullopt;
  return Refresh{RefreshMode::kInterval, *every};
}

void parse_fields(Reader& r, const Node& node, const std::string& path, VisualConfig& v) {
  v.fields = r.scalar_map(node, visual_section()["fields"], path);
  const FieldRule& rule = field_rule(v.type);
  std::set<std::string> seen;
  for (const auto& [field, column] : v.fields) {
    const std::string p = path + ".fields." + field;
    v.places.fields.emplace_back(field, place(r, node["fields"][field], p));
    seen.insert(field);
    const bool known = std::count(rule.required.begin(), rule.required.end(), field) ||
                       std::count(rule.optional.begin(), rule.optional.end(), field);
    if (!known) {
      std::string allowed;
      for (auto f : rule.required) allowed += (allowed.empty() ? "" : ", ") + std::string(f);
      for (auto f : rule.optional) allowed += (allowed.empty() ? "" : ", ") + std::string(f);
      r.error(node["fields"], p,
              "a " + std::string(to_string(v.type)) + " has no field \"" + field + "\"" +
                  (allowed.empty() ? " (it takes none: every column is shown)"
                                   : " (its fields: " + allowed + ")"));
    }
  }
  for (auto f : rule.required)
    if (!seen.count(std::string(f)))
      r.error(node["fields"] ? node["fields"] : node, path + ".fields",
              "a " + std::string(to_string(v.type)) + " needs the field \"" + std::string(f) +
                  "\" mapped to a column");
}

void parse_alerts(Reader& r, const Node& node, const std::string& path, VisualConfig& v) {
  const Node list = node["alerts"];
  if (!list) return;
  r.record_written(path + ".alerts");
  if (!list.is_sequence()) {
    r.error(list, path + ".alerts", "expected a list of {name, condition, webhook}, got " + list.type_name());
    return;
  }
  for (size_t i = 0; i < list.size(); ++i) {
    const std::string p = path + ".alerts[" + std::to_string(i) + "]";
    const Node a = list.at(i);
    if (!r.expect_map(a, p)) continue;
    r.check_keys(a, p, alert_section());
    AlertConfig alert;
    if (auto name = r.string(a, alert_section()["name"], p)) alert.name = *name;
    if (auto text = r.string(a, alert_section()["condition"], p)) {
      std::string why;
      if (auto c = parse_alert_condition(*text, why))
        alert.condition = *c;
      else
        r.error(a["condition"], p + ".condition", why);
    }
    if (auto url = r.string(a, alert_section()["webhook"], p)) {
      if (url->rfind("http://", 0) != 0 && url->rfind("https://", 0) != 0)
        r.error(a["webhook"], p + ".webhook", "expected an http:// or https:// URL, got \"" + *url + "\"");
      alert.webhook = *url;
    }
    for (const auto& other : v.alerts)
      if (other.name == alert.name)
        r.error(a, p, "alert \"" + alert.name + "\" is declared twice in this visual");
    v.alerts.push_back(std::move(alert));
  }
}

void check_placeholders(Reader& r, const Node& at, const std::string& path, const std::string& sql,
                        const DashboardConfig& dashboard) {
  try {
    for (const auto& ph : placeholders(sql)) {
      const ParameterConfig* p = dashboard.parameter(ph.parameter);
      if (!p) {
        std::string declared;
        for (const auto& q : dashboard.parameters) declared += (declared.empty() ? "" : ", ") + q.name;
        r.error(at, path,
                "{{" + ph.parameter + "}} names no parameter of this dashboard" +
                    (declared.empty() ? " (it declares none)" : " (declared: " + declared + ")"));
      } else if ((p->type == ParameterType::kDateRange) == ph.part.empty()) {
        r.error(at, path,
                p->type == ParameterType::kDateRange
                    ? "{{" + ph.parameter + "}} is a date range: write {{" + ph.parameter + ".start}} or {{" +
                          ph.parameter + ".end}}"
                    : "{{" + ph.parameter + "." + ph.part + "}}: only a date range has .start and .end");
      }
    }
  } catch (const Error& e) {
    r.error(at, path, e.what());
  }
}

void parse_drill(Reader& r, const Node& node, const std::string& path, const DashboardConfig& d,
                 VisualConfig& v) {
  const Node drill = r.mapping(node, visual_section()["drill"], path);
  if (!drill) return;
  const std::string p = path + ".drill";
  auto parameter = r.string(drill, drill_section()["parameter"], p);
  auto field = r.string(drill, drill_section()["field"], p);
  if (!parameter || !field) return;
  const ParameterConfig* target = d.parameter(*parameter);
  if (!target || target->type == ParameterType::kDateRange)
    r.error(drill["parameter"], p + ".parameter",
            target ? "a drill sets a dropdown, text or number parameter, not the date range \"" + *parameter +
                         "\""
                   : "no parameter named \"" + *parameter + "\" in this dashboard");
  if (!v.column(*field))
    r.error(drill["field"], p + ".field", "the visual maps no column to the field \"" + *field + "\"");
  v.drill = Drill{*parameter, *field};
}

void parse_visual(Reader& r, const Reader::Entry& entry, const DashboardConfig& d, VisualConfig& v) {
  const Section& keys = visual_section();
  const Node& node = entry.value;
  const std::string& path = entry.path;
  v.id = entry.name;
  v.title = entry.name;
  if (!r.expect_map(node, path)) return;
  r.check_keys(node, path, keys);
  if (auto type = r.choice(node, keys["type"], path)) v.type = static_cast<VisualType>(*type);
  if (auto title = r.string(node, keys["title"], path)) v.title = *title;
  if (auto text = r.string(node, keys["description"], path)) v.description = *text;
  if (auto sql = r.string(node, keys["sql"], path)) {
    v.sql = *sql;
    v.places.sql = place(r, node["sql"], path + ".sql");
    check_placeholders(r, node["sql"], path + ".sql", v.sql, d);
  }
  if (node["type"]) parse_fields(r, node, path, v);
  if (auto text = r.string(node, keys["refresh"], path)) {
    if (auto refresh = parse_refresh(*text))
      v.refresh = *refresh;
    else
      r.error(node["refresh"], path + ".refresh",
              "expected on_change, manual or an interval of at least 1s (\"30s\", \"5m\"), got \"" + *text +
                  "\"");
  }
  parse_drill(r, node, path, d, v);
  parse_alerts(r, node, path, v);
  if (auto n = r.integer(node, keys["bins"], path)) v.bins = static_cast<int>(*n);
  if (auto n = r.integer(node, keys["page_size"], path)) v.page_size = static_cast<int>(*n);
  if (auto n = r.integer(node, keys["max_rows"], path)) v.max_rows = static_cast<size_t>(*n);
}

void parse_parameters(Reader& r, const Node& node, const std::string& path, DashboardConfig& d) {
  const Section& keys = parameter_section();
  for (auto entry : r.entries(node, dashboard_section()["parameters"])) {
    entry.path = path + "." + entry.path;
    ParameterConfig p;
    p.name = entry.name;
    p.label = entry.name;
    if (!r.expect_map(entry.value, entry.path)) continue;
    r.check_keys(entry.value, entry.path, keys);
    if (p.name.find_first_of(".-") != std::string::npos ||
        std::isdigit(static_cast<unsigned char>(p.name[0])))
      r.error(
          entry.key, entry.path,
          "parameter names are written {{name}} in SQL: use letters, digits and '_', got \"" + p.name + "\"");
    if (auto type = r.choice(entry.value, keys["type"], entry.path))
      p.type = static_cast<ParameterType>(*type);
    if (auto label = r.string(entry.value, keys["label"], entry.path)) p.label = *label;
    p.default_value = p.type == ParameterType::kDateRange ? "all" : "";
    if (auto value = r.string(entry.value, keys["default"], entry.path)) p.default_value = *value;
    if (std::string why = default_problem(p); !why.empty())
      r.error(entry.value["default"], entry.path + ".default", why);
    if (auto sql = r.string(entry.value, keys["values"], entry.path)) p.values_sql = *sql;
    if (p.type == ParameterType::kDropdown && p.values_sql.empty())
      r.error(entry.value, entry.path, "a dropdown needs values: SQL whose first column gives its choices");
    if (p.type != ParameterType::kDropdown && !p.values_sql.empty())
      r.error(entry.value["values"], entry.path + ".values", "only a dropdown takes values:");
    d.parameters.push_back(std::move(p));
  }
}

void parse_sheets(Reader& r, const Node& node, const std::string& path, DashboardConfig& d) {
  const Node sheets = node["sheets"];
  if (!sheets || !sheets.is_sequence() || sheets.size() == 0) {
    r.error(sheets ? sheets : node, path + ".sheets",
            "expected a list of sheets, each {title, visuals}" +
                (sheets ? ", got " + sheets.type_name() : std::string()));
    return;
  }
  r.record_written(path + ".sheets");
  std::set<std::string> ids;
  for (size_t i = 0; i < sheets.size(); ++i) {
    const std::string p = path + ".sheets[" + std::to_string(i) + "]";
    const Node s = sheets.at(i);
    if (!r.expect_map(s, p)) continue;
    r.check_keys(s, p, sheet_section());
    SheetConfig sheet;
    if (auto title = r.string(s, sheet_section()["title"], p)) sheet.title = *title;
    if (!s["visuals"]) r.error(s, p, "missing required key \"visuals\"");
    for (auto entry : r.entries(s, sheet_section()["visuals"])) {
      entry.path = p + "." + entry.path;
      VisualConfig v;
      parse_visual(r, entry, d, v);
      if (!ids.insert(v.id).second)
        r.error(entry.key, entry.path,
                "visual id \"" + v.id + "\" is used twice in dashboard \"" + d.name + "\"");
      sheet.visuals.push_back(std::move(v));
    }
    d.sheets.push_back(std::move(sheet));
  }
}

}  // namespace

std::string_view to_string(VisualType type) { return kVisualTypes[static_cast<size_t>(type)]; }
std::string_view to_string(ParameterType type) { return kParameterTypes[static_cast<size_t>(type)]; }
std::string_view to_string(RefreshMode mode) {
  switch (mode) {
    case RefreshMode::kOnChange:
      return "on_change";
    case RefreshMode::kInterval:
      return "interval";
    case RefreshMode::kManual:
      return "manual";
  }
  return "on_change";
}

const FieldRule& field_rule(VisualType type) {
  static const FieldRule rules[] = {
      {{"value"}, {"previous"}},            // kpi
      {{"x", "y"}, {"series"}},             // bar
      {{"x", "y", "series"}, {}},           // stacked_bar
      {{"x", "y"}, {"series"}},             // line
      {{"x", "y"}, {"series"}},             // area
      {{"label", "value"}, {}},             // pie
      {{"label", "value"}, {}},             // donut
      {{}, {}},                             // table: every column
      {{"rows", "columns", "value"}, {}},   // pivot
      {{"x", "y"}, {"label", "size"}},      // scatter
      {{"value"}, {}},                      // histogram
      {{"x", "y", "value"}, {}},            // heatmap
      {{"lat", "lng"}, {"label", "size"}},  // map
  };
  return rules[static_cast<size_t>(type)];
}

const std::string* VisualConfig::column(std::string_view field) const {
  for (const auto& [f, c] : fields)
    if (f == field) return &c;
  return nullptr;
}

const ParameterConfig* DashboardConfig::parameter(std::string_view wanted) const {
  for (const auto& p : parameters)
    if (p.name == wanted) return &p;
  return nullptr;
}

const VisualConfig* DashboardConfig::visual(std::string_view id) const {
  for (const auto& s : sheets)
    for (const auto& v : s.visuals)
      if (v.id == id) return &v;
  return nullptr;
}

size_t DashboardConfig::visual_count() const {
  size_t n = 0;
  for (const auto& s : sheets) n += s.visuals.size();
  return n;
}

const Section& dashboard_section() {
  static const Section section{{
      {.name = "title", .description = "shown at the top; default: its name"},
      {.name = "parameters",
       .kind = Kind::kEntries,
       .description = "controls whose values the visuals' SQL takes",
       .hint = "parameter",
       .section = &parameter_section()},
      {.name = "sheets",
       .kind = Kind::kList,
       .description = "tabs of visuals",
       .required = true,
       .items = {{.kind = Kind::kMapping, .section = &sheet_section()}}},
  }};
  return section;
}

void parse_dashboard(Reader& r, const Reader::Entry& entry, DashboardConfig& d) {
  d.name = entry.name;
  d.title = entry.name;
  if (!r.expect_map(entry.value, entry.path)) return;
  r.check_keys(entry.value, entry.path, dashboard_section());
  if (auto title = r.string(entry.value, dashboard_section()["title"], entry.path)) d.title = *title;
  parse_parameters(r, entry.value, entry.path, d);
  parse_sheets(r, entry.value, entry.path, d);
}

}  // namespace sluice::dashboard
