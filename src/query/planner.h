// What the query engine needs to know of a query before running it, read from DuckDB's own parse
// tree (json_serialize_sql): that it is one read-only SELECT, which tables it reads, and the
// conditions on each table's columns that allow partition pruning.
//
// Pruning is conservative: only top-level AND-ed conditions of the form `col OP 'text'` (=, <>, <,
// <=, >, >=), `col IN ('a', 'b')` and `col BETWEEN 'a' AND 'b'` in the WHERE of the SELECT that reads
// the table directly (not through a join) are used, and only with string constants, compared as
// strings exactly as DuckDB compares two VARCHARs. Every other reference reads all partitions.
// DuckDB still evaluates the whole WHERE, so pruning never changes a result, only what is read.
#pragma once

#include <nlohmann/json_fwd.hpp>
#include <string>
#include <vector>

#include "common/error.h"

namespace sluice::query {

// A query that is not allowed (not a SELECT, several statements) or does not parse.
class QueryRefused : public Error {
 public:
  using Error::Error;
};

struct Condition {
  enum class Op { kEq, kNe, kLt, kLe, kGt, kGe, kIn };
  std::string column;  // lower-cased
  Op op = Op::kEq;
  std::vector<std::string> values;  // one, or the IN list
};

struct TableReference {
  std::string schema;  // as written, lower-cased; empty when unqualified
  std::string table;   // lower-cased
  std::vector<Condition> conditions;
};

// Reads the output of json_serialize_sql(sql). Throws QueryRefused with DuckDB's parser message for
// a syntax error, and a sentence naming the statement for anything but one SELECT.
std::vector<TableReference> analyze(const nlohmann::json& serialized, std::string_view sql);

// Whether a partition with these values (in `keys` order, keys lower-cased) can hold rows that pass
// every condition on a partition key. Conditions on other columns are ignored.
bool partition_may_match(const std::vector<Condition>& conditions, const std::vector<std::string>& keys,
                         const std::vector<std::string>& values);

}  // namespace sluice::query
