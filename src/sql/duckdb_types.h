// Internal to src/sql: the SQL names of DuckDB's type ids, shared by the connection layer and the
// appender. Not part of the sql component's public interface (it exposes DuckDB's C types).
#pragma once

#include <duckdb.h>

namespace sluice::sql::internal {

// The SQL spelling of a type id: "BIGINT", "TIMESTAMP WITH TIME ZONE"; nested and parameterised types
// by their kind ("STRUCT", "LIST", "DECIMAL"); "NULL" for the NULL type; nullptr for ids it does not
// know.
const char* base_type_name(duckdb_type id);

}  // namespace sluice::sql::internal
