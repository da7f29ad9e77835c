// Table schemas as the Glue Data Catalog keeps them: columns with Glue/Hive type names (int, bigint,
// double, string, boolean, struct<...>, array<...>, date, timestamp ...), names lower-cased, and the
// rules a crawler uses to infer a schema from data and to merge the schemas of many files:
//   - JSON numbers: int when every value fits 32 bits, else bigint; any fraction or exponent: double
//   - widening: int -> bigint -> double -> string; boolean and a number -> string; null adopts the other
//   - objects: struct<...> merged field by field (fields in first-seen order); arrays: array<merged>
//   - struct or array against a scalar, or struct against array, cannot be widened: the column becomes
//     string (DuckDB reads any JSON value into a string as its JSON text) and the merge reports it.
// Each column keeps the key as it appears in the data (`source`), since JSON keys are matched
// case-sensitively when read, while Glue and the SQL surface use the lower-cased name.
#pragma once

#include <memory>
#include <nlohmann/json_fwd.hpp>
#include <string>
#include <string_view>
#include <vector>

namespace sluice::catalog {

struct Type {
  enum class Kind {
    kNull,  // only nulls seen so far: adopts whatever comes next (shown as string)
    kBoolean,
    kTinyint,
    kSmallint,
    kInt,
    kBigint,
    kFloat,
    kDouble,
    kDecimal,  // `decimal` holds "(p,s)"
    kString,
    kBinary,
    kDate,
    kTimestamp,
    kStruct,
    kArray,
  };
  Kind kind = Kind::kNull;
  std::string decimal;  // "(18,3)" for kDecimal
  struct Field;
  std::vector<Field> fields;            // kStruct, in first-seen order
  std::shared_ptr<const Type> element;  // kArray

  static Type of(Kind kind) { return Type{kind, {}, {}, nullptr}; }
  bool operator==(const Type& other) const;
};

struct Type::Field {
  std::string name;    // lower-cased (Glue)
  std::string source;  // as in the data
  Type type;
};

struct Column {
  std::string name;    // lower-cased, as Glue shows and SQL uses it
  std::string source;  // the key as it appears in the data
  Type type;
};

// "int", "struct<lat:string,lng:string>", "array<bigint>" — Glue's rendering.
std::string glue_type(const Type& type);
// The DuckDB type that reads this column: "INTEGER", "STRUCT(\"lat\" VARCHAR)", "BIGINT[]". Struct field
// names are the source keys, since DuckDB matches JSON keys case-sensitively.
std::string duckdb_type(const Type& type);
// Parses a DuckDB type name as DESCRIBE prints it ("BIGINT", "VARCHAR[]", "STRUCT(a BIGINT, b
// VARCHAR)", "DECIMAL(18,3)", "TIMESTAMP WITH TIME ZONE"); unknown names become string.
Type from_duckdb_type(std::string_view text);

// Lower-cases ASCII letters (Glue column and table names).
std::string lower(std::string_view text);

// The result of widening `a` and `b`: the narrowest type that holds both. `conflict` is set when
// they are of kinds that cannot be widened into each other (the result is then string).
Type widen(const Type& a, const Type& b, bool* conflict);

struct MergeResult {
  std::vector<Column> columns;
  std::vector<std::string> changes;    // "added column email (string)", "widened id: int -> bigint"
  std::vector<std::string> conflicts;  // "column geo: struct<...> vs string cannot be widened; now string"
};
// Merges `incoming` into `existing`: existing columns keep their order and widen; new columns are
// appended in their order. Columns match by lower-cased name. `where` names the file for messages.
MergeResult merge(const std::vector<Column>& existing, const std::vector<Column>& incoming,
                  std::string_view where);

// Schema inference over JSON records (an array of objects, or JSON Lines), with simdjson. Throws
// sluice::Error naming the byte offset when the text is not JSON, or a record is not an object.
std::vector<Column> infer_json(std::string_view text, bool json_lines);

// Serialisation for the metastore.
nlohmann::json to_json(const std::vector<Column>& columns);
std::vector<Column> columns_from_json(const nlohmann::json& json);

}  // namespace sluice::catalog
