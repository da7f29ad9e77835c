// The JSON reader's in-memory form of the records (internal to the processor): each key's values as
// a column of cells (views of their text), objects as trees of such columns, the type each column
// widened to, and how the columns become DuckDB vectors. json_reader.cpp builds it in one pass;
// json_fill.cpp fills DuckDB's vectors from it.
#pragma once

#include <duckdb.h>
#include <simdjson.h>

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "sql/appender.h"
#include "sql/duckdb.h"

namespace sluice::process::json {

struct StringHash {
  using is_transparent = void;
  size_t operator()(std::string_view text) const { return std::hash<std::string_view>{}(text); }
};
using NameIndex = std::unordered_map<std::string, size_t, StringHash, std::equal_to<>>;

// A key or path for a one-line message: quotes, backslashes and control characters escaped.
std::string printable(std::string_view text);
std::string lower_ascii(std::string_view text);
std::string_view trim_right(std::string_view text);

enum class CellKind : uint8_t { kNull, kFalse, kTrue, kNumber, kString, kNested };

// One value as text: a string's content, a number's token, an object's or array's JSON (as in the
// input: not yet compacted).
struct Cell {
  const char* data = nullptr;
  uint32_t size = 0;
  CellKind kind = CellKind::kNull;
};

// What the values at one place have been so far, widened as records are read (json_reader.h has
// the rules). Objects outside lists are Nodes, not ValueTypes: kStruct is for objects in lists.
struct ValueType {
  enum class Kind : uint8_t { kNull, kBoolean, kInteger, kDouble, kText, kList, kStruct };
  struct Field {
    std::string name;
    std::unique_ptr<ValueType> type;
    uint64_t seen_in = 0;  // the object instance that last had it (a repeated key is an error)
  };
  Kind kind = Kind::kNull;
  bool negative = false;         // an integer below zero
  bool above_int64 = false;      // an integer at or above 2^63
  bool inexact = false;          // an integer a DOUBLE would round (beyond ±2^53)
  bool unrepresentable = false;  // a number beyond 64-bit integers and DOUBLE: only its text is exact
  std::vector<Field> fields;     // kStruct, first-seen order
  NameIndex field_index;
  std::unique_ptr<ValueType> element;  // kList
};

// How a ValueType is stored in DuckDB.
enum class Storage : uint8_t { kBoolean, kBigint, kUbigint, kDouble, kVarchar, kList, kStruct };
Storage storage_of(const ValueType& type);

// One key's scalar and array values, a cell per record.
struct ColumnData {
  std::string name;  // the column's name (flattened path) or the struct field's
  std::string path;  // the dotted source path, for messages
  ValueType type;
  std::vector<Cell> cells;
};

// One object level: the record itself, or the objects found at one path.
struct Node {
  struct Child {
    std::string key;
    bool plain = true;             // no quote or backslash: comparable with the raw key
    int column = -1;               // the scalar and array values at this key
    std::unique_ptr<Node> object;  // the objects at this key
  };
  std::string name_prefix;      // flattening: "address_geo_" for address.geo with "_"
  std::string path_prefix;      // "address.geo."
  std::vector<Child> children;  // first-seen order
  NameIndex index;
  NameIndex lower_index;    // not flattening: lower-cased keys (struct fields and columns ignore case)
  std::vector<Cell> spans;  // not flattening: each record's object here as JSON text (kNull: none)
};

// A column as DuckDB gets it: a key's values, a struct of the columns under an object's keys, or
// (a key holding objects in some records and other values in others) VARCHAR with each value's text.
struct OutputColumn {
  enum class Kind : uint8_t { kValues, kStruct, kMixed };
  Kind kind = Kind::kValues;
  std::string name;
  const ColumnData* values = nullptr;  // kValues, kMixed (may be null for kMixed: only objects)
  const Node* object = nullptr;        // kStruct, kMixed
  std::vector<OutputColumn> fields;    // kStruct
};

std::string type_sql(const OutputColumn& column);
sql::LogicalType logical_type(const OutputColumn& column);
sql::Column describe(const OutputColumn& column);

// Fills DuckDB vectors from the columns, a range of records at a time. Strings point into the
// records' text (DuckDB reads them there), which must outlive the vectors; values in lists are
// parsed again from their text by their final type.
class Filler {
 public:
  // Fills records [first, first + count) of `column` into `vector`. Throws Error when a value does
  // not match its column's type (not expected: the types come from the values).
  void fill(duckdb_vector vector, const OutputColumn& column, size_t first, size_t count);

 private:
  void fill_values(duckdb_vector vector, const ColumnData& column, size_t first, size_t count);
  void fill_mixed(duckdb_vector vector, const OutputColumn& column, size_t first, size_t count);
  void put_text(duckdb_vector vector, duckdb_string_t* slots, idx_t row, const Cell& cell);
  void write_nested(duckdb_vector vector, idx_t row, const Cell& cell, const ValueType& type);
  void write_value(duckdb_vector vector, idx_t row, simdjson::ondemand::value value, const ValueType& type);
  void write_list(duckdb_vector vector, idx_t row, simdjson::ondemand::array array, const ValueType& type);
  void write_struct(duckdb_vector vector, idx_t row, simdjson::ondemand::object object,
                    const ValueType& type);
  std::string_view compact(std::string_view json);
  void check(simdjson::error_code error) const;

  simdjson::ondemand::parser parser_;
  std::string padded_;
  std::string compacted_;
  std::vector<uint8_t> present_;  // write_struct: the fields an object had
};

}  // namespace sluice::process::json
