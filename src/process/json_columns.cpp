#include "process/json_columns.h"

#include <charconv>
#include <cstdio>
#include <cstring>
#include <new>

#include "common/error.h"

namespace sluice::process::json {
namespace od = simdjson::ondemand;

std::string printable(std::string_view text) {
  std::string out = "\"";
  for (unsigned char c : text) {
    if (c < 0x20 || c == 0x7f) {
      char escaped[8];
      std::snprintf(escaped, sizeof escaped, "\\u%04x", c);
      out += escaped;
    } else {
      if (c == '"' || c == '\\') out += '\\';
      out += static_cast<char>(c);
    }
  }
  return out + "\"";
}

std::string lower_ascii(std::string_view text) {
  std::string out(text);
  for (char& c : out)
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  return out;
}

std::string_view trim_right(std::string_view text) {
  while (!text.empty() &&
         (text.back() == ' ' || text.back() == '\n' || text.back() == '\r' || text.back() == '\t'))
    text.remove_suffix(1);
  return text;
}

Storage storage_of(const ValueType& type) {
  using Kind = ValueType::Kind;
  switch (type.kind) {
    case Kind::kBoolean:
      return Storage::kBoolean;
    case Kind::kInteger:
      if (type.unrepresentable || (type.above_int64 && type.negative)) return Storage::kVarchar;
      return type.above_int64 ? Storage::kUbigint : Storage::kBigint;
    case Kind::kDouble:
      return type.unrepresentable || type.inexact ? Storage::kVarchar : Storage::kDouble;
    case Kind::kList:
      return Storage::kList;
    case Kind::kStruct:
      return type.fields.empty() ? Storage::kVarchar : Storage::kStruct;
    case Kind::kNull:
    case Kind::kText:
      break;
  }
  return Storage::kVarchar;
}

namespace {

std::string type_sql(const ValueType& type) {
  switch (storage_of(type)) {
    case Storage::kBoolean:
      return "BOOLEAN";
    case Storage::kBigint:
      return "BIGINT";
    case Storage::kUbigint:
      return "UBIGINT";
    case Storage::kDouble:
      return "DOUBLE";
    case Storage::kVarchar:
      return "VARCHAR";
    case Storage::kList:
      return type_sql(*type.element) + "[]";
    case Storage::kStruct: {
      std::string out = "STRUCT(";
      for (size_t i = 0; i < type.fields.size(); ++i)
        out += (i ? ", " : "") + sql::quote_identifier(type.fields[i].name) + " " +
               type_sql(*type.fields[i].type);
      return out + ")";
    }
  }
  return "VARCHAR";
}

sql::LogicalType struct_type(const std::vector<std::string>& names, std::vector<sql::LogicalType> owned) {
  std::vector<duckdb_logical_type> types;
  std::vector<const char*> raw_names;
  for (size_t i = 0; i < owned.size(); ++i) {
    types.push_back(owned[i].get());
    raw_names.push_back(names[i].c_str());
  }
  return sql::LogicalType(duckdb_create_struct_type(types.data(), raw_names.data(), types.size()));
}

sql::LogicalType logical_type(const ValueType& type) {
  switch (storage_of(type)) {
    case Storage::kBoolean:
      return sql::LogicalType(duckdb_create_logical_type(DUCKDB_TYPE_BOOLEAN));
    case Storage::kBigint:
      return sql::LogicalType(duckdb_create_logical_type(DUCKDB_TYPE_BIGINT));
    case Storage::kUbigint:
      return sql::LogicalType(duckdb_create_logical_type(DUCKDB_TYPE_UBIGINT));
    case Storage::kDouble:
      return sql::LogicalType(duckdb_create_logical_type(DUCKDB_TYPE_DOUBLE));
    case Storage::kVarchar:
      break;
    case Storage::kList: {
      const sql::LogicalType element = logical_type(*type.element);
      return sql::LogicalType(duckdb_create_list_type(element.get()));
    }
    case Storage::kStruct: {
      std::vector<std::string> names;
      std::vector<sql::LogicalType> types;
      for (const auto& field : type.fields) {
        names.push_back(field.name);
        types.push_back(logical_type(*field.type));
      }
      return struct_type(names, std::move(types));
    }
  }
  return sql::LogicalType(duckdb_create_logical_type(DUCKDB_TYPE_VARCHAR));
}

sql::Column describe(const std::string& name, const ValueType& type) {
  sql::Column column{.name = name, .type = type_sql(type)};
  if (storage_of(type) == Storage::kStruct) {
    column.is_struct = true;
    for (const auto& field : type.fields) column.fields.push_back(describe(field.name, *field.type));
  }
  return column;
}

}  // namespace

std::string type_sql(const OutputColumn& column) {
  switch (column.kind) {
    case OutputColumn::Kind::kValues:
      return type_sql(column.values->type);
    case OutputColumn::Kind::kMixed:
      return "VARCHAR";
    case OutputColumn::Kind::kStruct:
      break;
  }
  std::string out = "STRUCT(";
  for (size_t i = 0; i < column.fields.size(); ++i)
    out += (i ? ", " : "") + sql::quote_identifier(column.fields[i].name) + " " + type_sql(column.fields[i]);
  return out + ")";
}

sql::LogicalType logical_type(const OutputColumn& column) {
  switch (column.kind) {
    case OutputColumn::Kind::kValues:
      return logical_type(column.values->type);
    case OutputColumn::Kind::kMixed:
      return sql::LogicalType(duckdb_create_logical_type(DUCKDB_TYPE_VARCHAR));
    case OutputColumn::Kind::kStruct:
      break;
  }
  std::vector<std::string> names;
  std::vector<sql::LogicalType> types;
  for (const auto& field : column.fields) {
    names.push_back(field.name);
    types.push_back(logical_type(field));
  }
  return struct_type(names, std::move(types));
}

sql::Column describe(const OutputColumn& column) {
  if (column.kind == OutputColumn::Kind::kValues) return describe(column.name, column.values->type);
  sql::Column described{.name = column.name, .type = type_sql(column)};
  if (column.kind == OutputColumn::Kind::kStruct) {
    described.is_struct = true;
    for (const auto& field : column.fields) described.fields.push_back(describe(field));
  }
  return described;
}

}  // namespace sluice::process::json
