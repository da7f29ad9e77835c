// Binding a query against the catalog without reading any data: the shape of its result (columns
// and types) and the catalogued tables it reads. sluice validate uses it for dashboards' SQL, and the
// dashboards use it to know which tables a visual watches. Each catalogued table the query names is
// an empty view with the table's columns and types, so DuckDB's binder reports unknown tables and
// columns exactly as it would when the query runs.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "catalog/catalog.h"
#include "query/planner.h"

namespace sluice::query {

struct BoundQuery {
  std::vector<std::string> columns;
  std::vector<std::string> types;   // DuckDB type names
  std::vector<std::string> tables;  // "database.table" of each catalogued table read, sorted, distinct
};

// The tables `sql` names ("database.table"; unqualified names are in `database`), sorted, distinct,
// whether catalogued yet or not: a table a crawler has not created yet is watched as well as one
// that exists (and a CTE's name is listed too: it never changes). Throws QueryRefused when the SQL
// does not parse or is not one SELECT.
std::vector<std::string> tables_read(std::string_view sql, const std::string& database);

// Binds `sql` against the catalog. Throws QueryRefused for SQL that does not parse or is not one
// SELECT, and Error with DuckDB's binder message for an unknown table, column or function. DuckDB runs
// confined (no file or network access): binding never reads data.
BoundQuery bind_query(catalog::Catalog& catalog, std::string_view sql, const std::string& database);

}  // namespace sluice::query

namespace sluice::query {

// Parses `sql` alone (no catalog): throws QueryRefused when it does not parse or is not one SELECT.
void parse_select(std::string_view sql);

}  // namespace sluice::query
