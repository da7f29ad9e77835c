#include "dashboard/dashboard_service.h"

#include <algorithm>
#include <cctype>
#include <set>

#include "catalog/schema.h"
#include "query/binder.h"

namespace sluice::dashboard {
namespace {

// How often a visual whose SQL names no table (or does not parse) looks again.
constexpr std::chrono::seconds kTablesRecheck{5};
// Alerts of on_change and manual visuals are evaluated at least this often: a condition over a time
// window ("count < 5 over 10m") moves without new data.
constexpr std::chrono::seconds kAlertHeartbeat{30};
constexpr size_t kMaxDropdownValues = 1000;

// The alert's value in the first row of `result`, nullopt when there is none.
std::optional<double> value_of(const AlertCondition& c, const query::QueryResult& result) {
  if (result.rows.empty()) return std::nullopt;
  for (size_t i = 0; i < result.columns.size(); ++i)
    if (catalog::lower(result.columns[i]) == c.column)
      return result.rows.front()[i] ? parse_number(*result.rows.front()[i]) : std::nullopt;
  return std::nullopt;
}

nlohmann::json optional_time(const std::optional<TimePoint>& t) {
  return t ? nlohmann::json(format_iso8601_utc(*t)) : nlohmann::json(nullptr);
}

nlohmann::json parameter_json(const ParameterConfig& p) {
  nlohmann::json out{{"name", p.name}, {"type", to_string(p.type)}, {"label", p.label}};
  if (p.type == ParameterType::kDateRange) {
    const auto v = default_value(p, now_ms());
    out["default"] = {{"start", format_iso8601_utc(v.start)}, {"end", format_iso8601_utc(v.end)}};
  } else {
    out["default"] = p.default_value;
  }
  return out;
}

std::vector<std::string> parameters_used(const VisualConfig& v) {
  std::set<std::string> names;
  try {
    for (const auto& ph : placeholders(v.sql)) names.insert(ph.parameter);
  } catch (const Error&) {
    // The parser reported it; the visual's request will say it again.
  }
  return {names.begin(), names.end()};
}

// Every field maps to a column the result has; VisualProblem naming the first that does not.
void check_fields(const VisualConfig& v, const query::QueryResult& result) {
  for (const auto& [field, column] : v.fields) {
    if (std::find(result.columns.begin(), result.columns.end(), column) != result.columns.end()) continue;
    std::string returned;
    for (const auto& c : result.columns) returned += (returned.empty() ? "" : ", ") + c;
    throw VisualProblem("field \"" + field + "\" maps to column \"" + column +
                        "\", which the query does not return (it returns: " + returned + ")");
  }
}

}  // namespace

DashboardService::DashboardService(std::vector<DashboardConfig> dashboards, std::string database,
                                   catalog::Catalog& catalog, RunQuery run_query, OnAlert on_alert)
    : dashboards_(std::move(dashboards)),
      database_(std::move(database)),
      catalog_(catalog),
      run_query_(std::move(run_query)),
      on_alert_(std::move(on_alert)) {}

const DashboardConfig* DashboardService::find(std::string_view name) const {
  for (const auto& d : dashboards_)
    if (d.name == name) return &d;
  return nullptr;
}

nlohmann::json DashboardService::list_json() const {
  nlohmann::json out = nlohmann::json::array();
  for (const auto& d : dashboards_)
    out.push_back(
        {{"name", d.name}, {"title", d.title}, {"sheets", d.sheets.size()}, {"visuals", d.visual_count()}});
  return out;
}

std::vector<std::string> DashboardService::tables_of(const DashboardConfig& d, const VisualConfig& v) {
  const TimePoint now = now_ms();
  {
    std::lock_guard lock(mutex_);
    auto& s = states_[key(d, v)];
    if (!s.tables.empty() || (s.tables_checked && now - *s.tables_checked < kTablesRecheck)) return s.tables;
  }
  std::vector<std::string> tables;
  try {
    tables = query::tables_read(render(v.sql, d.parameters, defaults(d.parameters, now)), database_);
  } catch (const Error&) {
    // SQL that does not parse reads nothing; its request shows the error.
  }
  std::lock_guard lock(mutex_);
  auto& s = states_[key(d, v)];
  s.tables = tables;
  s.tables_checked = now;
  return tables;
}

std::map<std::string, int64_t> DashboardService::versions_of(const std::vector<std::string>& tables) {
  std::map<std::string, int64_t> out;
  for (const auto& t : tables) {
    const size_t dot = t.find('.');
    auto info = catalog_.table(t.substr(0, dot), t.substr(dot + 1));
    out[t] = info ? to_epoch_ms(info->updated) : 0;
  }
  return out;
}

nlohmann::json DashboardService::alerts_json(const DashboardConfig& d, const VisualConfig& v) {
  nlohmann::json out = nlohmann::json::array();
  std::lock_guard lock(mutex_);
  const auto& statuses = states_[key(d, v)].alerts;
  for (const auto& a : v.alerts) {
    auto it = statuses.find(a.name);
    const AlertStatus status = it == statuses.end() ? AlertStatus{} : it->second;
    out.push_back({{"name", a.name},
                   {"condition", a.condition.text},
                   {"state", to_string(status.state)},
                   {"since", optional_time(status.since)},
                   {"value", status.value ? nlohmann::json(*status.value) : nlohmann::json(nullptr)},
                   {"message", status.message.empty() ? "not evaluated yet" : status.message}});
  }
  return out;
}

nlohmann::json DashboardService::definition_json(const DashboardConfig& d) {
  nlohmann::json parameters = nlohmann::json::array();
  for (const auto& p : d.parameters) parameters.push_back(parameter_json(p));
  nlohmann::json sheets = nlohmann::json::array();
  for (const auto& s : d.sheets) {
    nlohmann::json visuals = nlohmann::json::array();
    for (const auto& v : s.visuals) {
      nlohmann::json fields = nlohmann::json::object();
      for (const auto& [f, c] : v.fields) fields[f] = c;
      nlohmann::json refresh{{"mode", to_string(v.refresh.mode)}};
      if (v.refresh.mode == RefreshMode::kInterval) refresh["seconds"] = v.refresh.interval.count() / 1000.0;
      visuals.push_back(
          {{"id", v.id},
           {"type", to_string(v.type)},
           {"title", v.title},
           {"description", v.description},
           {"fields", fields},
           {"options", {{"bins", v.bins}, {"page_size", v.page_size}, {"max_rows", v.max_rows}}},
           {"refresh", refresh},
           {"tables", tables_of(d, v)},
           {"parameters", parameters_used(v)},
           {"drill", v.drill ? nlohmann::json{{"parameter", v.drill->parameter}, {"field", v.drill->field}}
                             : nlohmann::json(nullptr)},
           {"alerts", alerts_json(d, v)}});
    }
    sheets.push_back({{"title", s.title}, {"visuals", visuals}});
  }
  return {{"name", d.name}, {"title", d.title}, {"parameters", parameters}, {"sheets", sheets}};
}

query::QueryResult DashboardService::run(const DashboardConfig& d, const VisualConfig& v,
                                         const std::map<std::string, ParameterValue>& values,
                                         const std::atomic<bool>* cancel, bool fresh) {
  query::RunOptions options;
  options.database = database_;
  options.max_inline_rows = v.max_rows;
  options.cancel = cancel;
  options.cancelled_by = "the page (it left or asked again)";
  std::string sql;
  try {
    sql = render(v.sql, d.parameters, values);
  } catch (const Error& e) {
    throw VisualProblem(std::string("visual ") + v.id + ": " + e.what());
  }
  // An interval visual is refreshed because time passes (its SQL reads now()): never from the cache.
  const bool cacheable = v.refresh.mode != RefreshMode::kInterval;
  const std::string cache_key = sql + '\x1f' + std::to_string(v.max_rows);
  const auto versions = cacheable ? versions_of(tables_of(d, v)) : ResultCache::Versions{};
  if (cacheable && !fresh) {
    if (auto hit = cache_.find(cache_key, versions)) return std::move(*hit);
  }
  auto result = run_query_(sql, options);
  check_fields(v, result);
  if (cacheable) cache_.put(cache_key, versions, result);
  return result;
}

DashboardService::VisualData DashboardService::visual_data(const DashboardConfig& d, const VisualConfig& v,
                                                           const nlohmann::json& parameters,
                                                           const std::atomic<bool>* cancel, bool fresh) {
  const TimePoint now = now_ms();
  auto values = defaults(d.parameters, now);
  if (!parameters.is_null() && !parameters.is_object())
    throw Error("parameters must be an object of parameter names to values");
  bool at_defaults = true;  // alerts are about the dashboard as declared, not a filtered view
  if (!parameters.is_null()) {
    for (const auto& [name, value] : parameters.items()) {
      const ParameterConfig* p = d.parameter(name);
      if (!p) throw Error("dashboard \"" + d.name + "\" has no parameter \"" + name.substr(0, 64) + "\"");
      values[name] = value_from_json(*p, value);
      at_defaults =
          at_defaults && p->type != ParameterType::kDateRange && values[name].text == p->default_value;
    }
  }
  VisualData out;
  try {
    out.result = run(d, v, values, cancel, fresh);
  } catch (const query::QueryCancelled&) {
    throw;
  } catch (const Error&) {
    if (at_defaults && !v.alerts.empty()) evaluate_alerts(d, v, nullptr, now);
    throw;
  }
  if (at_defaults && !v.alerts.empty()) evaluate_alerts(d, v, &out.result, now);
  out.alerts = alerts_json(d, v);
  return out;
}

void DashboardService::evaluate_alerts(const DashboardConfig& d, const VisualConfig& v,
                                       const query::QueryResult* result, TimePoint now) {
  std::vector<AlertEvent> changed;
  {
    std::lock_guard lock(mutex_);
    auto& state = states_[key(d, v)];
    state.evaluated = now;
    for (const auto& a : v.alerts) {
      auto& status = state.alerts[a.name];
      const auto value = result ? value_of(a.condition, *result) : std::nullopt;
      const AlertState previous = status.state;
      const bool moved = advance(a.condition, status, value, now);
      if (!result) status.message = "unknown: the visual's query failed";
      if (moved) changed.push_back(AlertEvent{d.name, v.id, &a, previous, status});
    }
  }
  for (const auto& event : changed)
    if (on_alert_) on_alert_(event);
}

std::vector<std::string> DashboardService::parameter_values(const DashboardConfig& d,
                                                            const ParameterConfig& p,
                                                            const std::atomic<bool>* cancel) {
  query::RunOptions options;
  options.database = database_;
  options.max_inline_rows = kMaxDropdownValues;
  options.cancel = cancel;
  options.cancelled_by = "the page";
  const auto result =
      run_query_(render(p.values_sql, d.parameters, defaults(d.parameters, now_ms())), options);
  std::vector<std::string> out;
  std::set<std::string> seen;
  for (const auto& row : result.rows)
    if (!row.empty() && row[0] && seen.insert(*row[0]).second) out.push_back(*row[0]);
  return out;
}

std::vector<std::string> DashboardService::tables(const DashboardConfig& d) {
  std::set<std::string> tables;
  for (const auto& s : d.sheets)
    for (const auto& v : s.visuals)
      for (auto& t : tables_of(d, v)) tables.insert(t);
  return {tables.begin(), tables.end()};
}

nlohmann::json DashboardService::versions_json(const DashboardConfig& d) {
  nlohmann::json out = nlohmann::json::object();
  for (const auto& [t, version] : versions_of(tables(d))) out[t] = version;
  return {{"tables", out}};
}

size_t DashboardService::evaluate_due(TimePoint now, const std::atomic<bool>* stop) {
  size_t ran = 0;
  for (const auto& d : dashboards_) {
    for (const auto& s : d.sheets) {
      for (const auto& v : s.visuals) {
        if (v.alerts.empty()) continue;
        if (stop && stop->load()) return ran;
        const auto versions = versions_of(tables_of(d, v));
        bool due = false;
        {
          std::lock_guard lock(mutex_);
          const auto& state = states_[key(d, v)];
          due = !state.evaluated || now - *state.evaluated >= kAlertHeartbeat ||
                (v.refresh.mode == RefreshMode::kInterval && now - *state.evaluated >= v.refresh.interval) ||
                (v.refresh.mode == RefreshMode::kOnChange && versions != state.versions);
        }
        if (!due) continue;
        ++ran;
        std::optional<query::QueryResult> result;
        try {
          result = run(d, v, defaults(d.parameters, now), stop, /*fresh=*/true);
        } catch (const query::QueryCancelled&) {
          return ran;
        } catch (const SystemError&) {
          continue;  // the system's own failure: not the alert's state; the next tick tries again
        } catch (const Error&) {
          // The query's fault: its alerts become unknown below.
        }
        evaluate_alerts(d, v, result ? &*result : nullptr, now);
        std::lock_guard lock(mutex_);
        states_[key(d, v)].versions = versions;
      }
    }
  }
  return ran;
}

}  // namespace sluice::dashboard
