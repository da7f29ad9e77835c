// The `dashboards:` section of the pipeline file: its key tables (for the parser and the JSON
// Schema) and its parser. What needs the rest of the file or the catalog (tables and columns of a
// visual's SQL, fields the query returns) is checked later by check_dashboards (dashboard/check.h).
#pragma once

#include "config/keys.h"
#include "config/reader.h"
#include "dashboard/dashboard_config.h"

namespace sluice::dashboard {

inline constexpr int kMaxBins = 500;
inline constexpr int kMaxPageSize = 1000;
inline constexpr int64_t kMaxVisualRows = 100'000;
inline constexpr std::chrono::milliseconds kMinRefreshInterval{1000};

// The keys of one dashboard (dashboards.NAME).
const config::Section& dashboard_section();

// Fills `dashboard` from one entry of dashboards:, recording every problem in `reader`: unknown keys
// and visual types, fields a type does not have or lacks, alert conditions, refreshes, drills to
// undeclared parameters, placeholders naming no parameter, ids used twice. Throws only ConfigError
// past the reader's limit of problems.
void parse_dashboard(config::Reader& reader, const config::Reader::Entry& entry, DashboardConfig& dashboard);

}  // namespace sluice::dashboard
