// DashboardService: what the console's dashboard API does (src/daemon/routes_dashboards.cpp) — the
// definitions the page draws, a visual's data for the page's parameter values, a dropdown's choices,
// the data version of each table a dashboard reads (the page re-runs on_change visuals when it moves),
// and the alerts: evaluated after each refresh (at the parameters' defaults) by the page's requests
// and by the daemon's alert loop (evaluate_due), whose changes of state go to `on_alert` (the run
// history and the webhook). Queries go through `run_query` (the daemon's query engine: the history,
// the saved CSV and cancellation come with it); tables through the Catalog interface.
#pragma once

#include <atomic>
#include <functional>
#include <map>
#include <mutex>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "catalog/catalog.h"
#include "dashboard/dashboard_config.h"
#include "dashboard/result_cache.h"
#include "dashboard/sql_template.h"
#include "query/engine.h"

namespace sluice::dashboard {

// A change of an alert's state, for the run history and the webhook.
struct AlertEvent {
  std::string dashboard, visual;
  const AlertConfig* alert = nullptr;  // valid while the service lives
  AlertState previous = AlertState::kUnknown;
  AlertStatus status;
};

// A problem of a visual's definition against its data (a field mapped to a column the query does not
// return): the page shows it in the visual, as it shows a failing query.
class VisualProblem : public Error {
 public:
  using Error::Error;
};

class DashboardService {
 public:
  using RunQuery =
      std::function<query::QueryResult(const std::string& sql, const query::RunOptions& options)>;
  using OnAlert = std::function<void(const AlertEvent& event)>;

  // `database` is the default database of unqualified table names. Nothing runs until asked.
  DashboardService(std::vector<DashboardConfig> dashboards, std::string database, catalog::Catalog& catalog,
                   RunQuery run_query, OnAlert on_alert);

  const std::vector<DashboardConfig>& dashboards() const { return dashboards_; }
  const DashboardConfig* find(std::string_view name) const;

  // [{"name","title","sheets","visuals"}] for GET /v1/dashboards.
  nlohmann::json list_json() const;
  // The definition the page draws (see README "Dashboards API"), with each visual's tables and
  // alert states.
  nlohmann::json definition_json(const DashboardConfig& dashboard);

  // A visual's data for the page: the query's result (query_result_to_json's shape is the caller's)
  // and the alerts after this refresh. `parameters` is the JSON object the page sent (absent ones
  // take their defaults); when it holds only defaults the alerts are evaluated on this result. The
  // result of an on_change or manual visual is reused (ResultCache) until a table it reads changes,
  // unless `fresh` (the page's refresh button); interval visuals always run.
  // Throws Error for a bad parameter value, query::QueryFailed when the SQL fails, VisualProblem when
  // a field maps to a column the result lacks.
  struct VisualData {
    query::QueryResult result;
    nlohmann::json alerts;
  };
  VisualData visual_data(const DashboardConfig& dashboard, const VisualConfig& visual,
                         const nlohmann::json& parameters, const std::atomic<bool>* cancel,
                         bool fresh = false);

  // A dropdown's choices: the first column of its values SQL, distinct, in the query's order (at most
  // 1,000). Throws as visual_data.
  std::vector<std::string> parameter_values(const DashboardConfig& dashboard,
                                            const ParameterConfig& parameter,
                                            const std::atomic<bool>* cancel);

  // The catalogued tables ("db.table") the dashboard's visuals read, sorted, distinct.
  std::vector<std::string> tables(const DashboardConfig& dashboard);

  // {"tables": {"db.table": N}}: N changes whenever the table gets new data (its last catalog update).
  nlohmann::json versions_json(const DashboardConfig& dashboard);

  // Evaluates the alerts of every visual whose refresh is due at `now`: never evaluated yet, its
  // interval elapsed, a table it reads changed (on_change), or 30 s passed (conditions over time windows
  // move without new data). A visual whose query fails makes its alerts unknown. Returns how many
  // visuals ran. Stops early when `stop` becomes true.
  size_t evaluate_due(TimePoint now, const std::atomic<bool>* stop);

 private:
  struct VisualState {
    std::optional<TimePoint> evaluated;
    std::map<std::string, int64_t> versions;  // of its tables when last evaluated
    std::vector<std::string> tables;          // cached once non-empty
    std::optional<TimePoint> tables_checked;
    std::map<std::string, AlertStatus> alerts;  // by alert name
  };

  static std::string key(const DashboardConfig& d, const VisualConfig& v) { return d.name + "/" + v.id; }
  std::vector<std::string> tables_of(const DashboardConfig& d, const VisualConfig& v);
  std::map<std::string, int64_t> versions_of(const std::vector<std::string>& tables);
  nlohmann::json alerts_json(const DashboardConfig& d, const VisualConfig& v);
  void evaluate_alerts(const DashboardConfig& d, const VisualConfig& v, const query::QueryResult* result,
                       TimePoint now);
  query::QueryResult run(const DashboardConfig& d, const VisualConfig& v,
                         const std::map<std::string, ParameterValue>& values, const std::atomic<bool>* cancel,
                         bool fresh);

  std::vector<DashboardConfig> dashboards_;
  std::string database_;
  catalog::Catalog& catalog_;
  RunQuery run_query_;
  OnAlert on_alert_;
  ResultCache cache_;
  std::mutex mutex_;  // guards states_
  std::map<std::string, VisualState> states_;
};

}  // namespace sluice::dashboard
