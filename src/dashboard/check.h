// sluice validate's checks of the dashboards that need more than the file: every visual's SQL (and
// every dropdown's values SQL), rendered at the parameters' defaults, is parsed; when a catalog is
// given it is also bound against it (unknown tables and columns), and each field must map to a
// column the query returns. Problems are reported at the SQL's or the field's file:line:column.
#pragma once

#include <string>
#include <vector>

#include "catalog/catalog.h"
#include "config/diagnostic.h"
#include "dashboard/dashboard_config.h"

namespace sluice::dashboard {

// `catalog` may be null (no data directory yet): then the SQL is only parsed. `database` is the
// default database of unqualified names. Throws SystemError when DuckDB cannot run.
std::vector<config::Diagnostic> check_dashboards(const std::vector<DashboardConfig>& dashboards,
                                                 catalog::Catalog* catalog, const std::string& database);

}  // namespace sluice::dashboard
