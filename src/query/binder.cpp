#include "query/binder.h"

#include <algorithm>
#include <nlohmann/json.hpp>
#include <set>

#include "query/engine.h"
#include "sql/duckdb.h"

namespace sluice::query {
namespace {

// A DuckDB that can touch no file: binding must never read data or the machine.
sql::DatabaseOptions confined() {
  sql::DatabaseOptions options;
  options.threads = 1;
  options.allowed_directories = {"/nonexistent-sluice-confinement"};
  return options;
}

std::vector<TableReference> references(sql::Connection& c, std::string_view sql) {
  auto serialized = c.query("SELECT json_serialize_sql(" + sql::quote_literal(sql) + ")");
  if (serialized.row_count() != 1 || !serialized.value(0, 0))
    throw QueryRefused("the query could not be parsed");
  return analyze(nlohmann::json::parse(*serialized.value(0, 0)), sql);
}

struct Found {
  std::vector<catalog::TableInfo> tables;
  std::set<std::string> bare;  // tables also named without their database
};

Found catalogued(catalog::Catalog& catalog, const std::vector<TableReference>& refs,
                 const std::string& database) {
  Found found;
  std::set<std::pair<std::string, std::string>> seen;
  for (const auto& ref : refs) {
    const std::string schema = ref.schema.empty() ? database : ref.schema;
    if (ref.schema.empty()) found.bare.insert(ref.table);
    if (!seen.insert({schema, ref.table}).second) continue;
    if (auto table = catalog.table(schema, ref.table)) found.tables.push_back(std::move(*table));
  }
  return found;
}

}  // namespace

std::vector<std::string> tables_read(std::string_view sql, const std::string& database) {
  sql::Database db(confined());
  sql::Connection c(db);
  std::set<std::string> out;
  for (const auto& ref : references(c, sql))
    out.insert((ref.schema.empty() ? database : ref.schema) + "." + ref.table);
  return {out.begin(), out.end()};
}

BoundQuery bind_query(catalog::Catalog& catalog, std::string_view sql, const std::string& database) {
  sql::Database db(confined());
  sql::Connection c(db);
  const Found found = catalogued(catalog, references(c, sql), database);
  BoundQuery bound;
  std::set<std::string> schemas;
  for (const auto& t : found.tables) {
    const std::string body = empty_table_sql(t);
    if (schemas.insert(t.database).second)
      c.execute("CREATE SCHEMA IF NOT EXISTS " + sql::quote_identifier(t.database));
    c.execute("CREATE VIEW " + sql::quote_identifier(t.database) + "." + sql::quote_identifier(t.name) +
              " AS " + body);
    if (t.database == database && found.bare.count(t.name))
      c.execute("CREATE VIEW main." + sql::quote_identifier(t.name) + " AS " + body);
    bound.tables.push_back(t.database + "." + t.name);
  }
  std::sort(bound.tables.begin(), bound.tables.end());
  for (const auto& column : c.describe(sql)) {
    bound.columns.push_back(column.name);
    bound.types.push_back(column.type);
  }
  return bound;
}

}  // namespace sluice::query

namespace sluice::query {

void parse_select(std::string_view sql) {
  sql::Database db(confined());
  sql::Connection c(db);
  references(c, sql);
}

}  // namespace sluice::query
