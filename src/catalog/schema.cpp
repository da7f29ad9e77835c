#include "catalog/schema.h"

#include <simdjson.h>

#include <algorithm>
#include <nlohmann/json.hpp>

#include "common/error.h"
#include "sql/duckdb.h"

namespace sluice::catalog {
namespace {

using Kind = Type::Kind;

bool is_numeric(Kind k) {
  return k == Kind::kTinyint || k == Kind::kSmallint || k == Kind::kInt || k == Kind::kBigint ||
         k == Kind::kFloat || k == Kind::kDouble || k == Kind::kDecimal;
}
bool is_integral(Kind k) {
  return k == Kind::kTinyint || k == Kind::kSmallint || k == Kind::kInt || k == Kind::kBigint;
}
int integral_rank(Kind k) {
  switch (k) {
    case Kind::kTinyint:
      return 1;
    case Kind::kSmallint:
      return 2;
    case Kind::kInt:
      return 3;
    default:
      return 4;
  }
}
bool is_nested(Kind k) { return k == Kind::kStruct || k == Kind::kArray; }

std::string upper(std::string_view text) {
  std::string out(text);
  for (char& c : out)
    if (c >= 'a' && c <= 'z') c = static_cast<char>(c - 'a' + 'A');
  return out;
}

// Recursive-descent parser of DuckDB type names.
class DuckTypeParser {
 public:
  explicit DuckTypeParser(std::string_view text) : text_(text) {}

  Type parse() {
    skip_space();
    Type type;
    if (peek_word("STRUCT")) {
      pos_ += 6;
      type = Type::of(Kind::kStruct);
      expect('(');
      while (true) {
        skip_space();
        Type::Field field;
        field.source = name();
        field.name = lower(field.source);
        field.type = parse();
        type.fields.push_back(std::move(field));
        skip_space();
        if (pos_ < text_.size() && text_[pos_] == ',') {
          ++pos_;
          continue;
        }
        expect(')');
        break;
      }
    } else {
      // A scalar (or MAP(...)/UNION(...), read whole and shown as string): up to a top-level , ) or [.
      const size_t start = pos_;
      int depth = 0;
      while (pos_ < text_.size()) {
        const char c = text_[pos_];
        if (c == '(') ++depth;
        if (c == ')') {
          if (depth == 0) break;
          --depth;
        }
        if (depth == 0 && (c == ',' || c == '[')) break;
        ++pos_;
      }
      type = scalar(text_.substr(start, pos_ - start));
    }
    // Array suffixes: T[] (lists) and T[N] (fixed arrays).
    while (true) {
      skip_space();
      if (pos_ >= text_.size() || text_[pos_] != '[') break;
      const auto close = text_.find(']', pos_);
      pos_ = close == std::string_view::npos ? text_.size() : close + 1;
      Type array = Type::of(Kind::kArray);
      array.element = std::make_shared<const Type>(std::move(type));
      type = std::move(array);
    }
    return type;
  }

 private:
  static Type scalar(std::string_view raw) {
    while (!raw.empty() && raw.back() == ' ') raw.remove_suffix(1);
    const std::string name = upper(raw);
    if (name == "BOOLEAN") return Type::of(Kind::kBoolean);
    if (name == "TINYINT") return Type::of(Kind::kTinyint);
    if (name == "SMALLINT" || name == "UTINYINT") return Type::of(Kind::kSmallint);
    if (name == "INTEGER" || name == "USMALLINT") return Type::of(Kind::kInt);
    if (name == "BIGINT" || name == "UINTEGER") return Type::of(Kind::kBigint);
    if (name == "FLOAT") return Type::of(Kind::kFloat);
    if (name == "DOUBLE" || name == "UBIGINT" || name == "HUGEINT" || name == "UHUGEINT")
      return Type::of(Kind::kDouble);
    if (name.rfind("DECIMAL", 0) == 0) {
      Type t = Type::of(Kind::kDecimal);
      t.decimal = name.size() > 7 ? name.substr(7) : "(18,3)";
      t.decimal.erase(std::remove(t.decimal.begin(), t.decimal.end(), ' '), t.decimal.end());
      return t;
    }
    if (name == "BLOB") return Type::of(Kind::kBinary);
    if (name == "DATE") return Type::of(Kind::kDate);
    if (name.rfind("TIMESTAMP", 0) == 0) return Type::of(Kind::kTimestamp);
    if (name == "NULL" || name == "\"NULL\"") return Type::of(Kind::kNull);
    return Type::of(Kind::kString);  // VARCHAR, UUID, TIME, INTERVAL, JSON, MAP(...), UNION(...)
  }

  std::string name() {
    std::string out;
    if (pos_ < text_.size() && text_[pos_] == '"') {
      ++pos_;
      while (pos_ < text_.size()) {
        if (text_[pos_] == '"') {
          if (pos_ + 1 < text_.size() && text_[pos_ + 1] == '"') {
            out += '"';
            pos_ += 2;
            continue;
          }
          ++pos_;
          break;
        }
        out += text_[pos_++];
      }
      return out;
    }
    while (pos_ < text_.size() && text_[pos_] != ' ') out += text_[pos_++];
    return out;
  }
  bool peek_word(std::string_view word) const {
    return upper(text_.substr(pos_, word.size())) == word && pos_ + word.size() < text_.size() &&
           text_[pos_ + word.size()] == '(';
  }
  void expect(char c) {
    skip_space();
    if (pos_ >= text_.size() || text_[pos_] != c)
      throw Error("cannot read DuckDB type \"" + std::string(text_) + "\": expected '" + c + "' at " +
                  std::to_string(pos_));
    ++pos_;
  }
  void skip_space() {
    while (pos_ < text_.size() && text_[pos_] == ' ') ++pos_;
  }

  std::string_view text_;
  size_t pos_ = 0;
};

Type type_of_json(simdjson::dom::element value) {
  using simdjson::dom::element_type;
  switch (value.type()) {
    case element_type::NULL_VALUE:
      return Type::of(Kind::kNull);
    case element_type::BOOL:
      return Type::of(Kind::kBoolean);
    case element_type::INT64: {
      const int64_t v = value.get_int64().value_unsafe();
      return Type::of(v >= INT32_MIN && v <= INT32_MAX ? Kind::kInt : Kind::kBigint);
    }
    case element_type::UINT64:
    case element_type::DOUBLE:
      return Type::of(Kind::kDouble);
    case element_type::STRING:
      return Type::of(Kind::kString);
    case element_type::ARRAY: {
      Type array = Type::of(Kind::kArray);
      Type element = Type::of(Kind::kNull);
      simdjson::dom::array items;
      if (value.get_array().get(items)) return Type::of(Kind::kString);
      for (simdjson::dom::element item : items) {
        bool conflict = false;
        element = widen(element, type_of_json(item), &conflict);
      }
      array.element = std::make_shared<const Type>(std::move(element));
      return array;
    }
    case element_type::OBJECT: {
      Type object = Type::of(Kind::kStruct);
      simdjson::dom::object members;
      if (value.get_object().get(members)) return Type::of(Kind::kString);
      for (auto field : members) {
        Type::Field f;
        f.source = std::string(field.key);
        f.name = lower(f.source);
        f.type = type_of_json(field.value);
        auto same = std::find_if(object.fields.begin(), object.fields.end(),
                                 [&](const Type::Field& g) { return g.name == f.name; });
        if (same == object.fields.end()) {
          object.fields.push_back(std::move(f));
        } else {
          bool conflict = false;
          same->type = widen(same->type, f.type, &conflict);
        }
      }
      return object;
    }
  }
  return Type::of(Kind::kString);
}

nlohmann::json type_to_json(const Type& type);
Type type_from_json(const nlohmann::json& j);

nlohmann::json type_to_json(const Type& type) {
  switch (type.kind) {
    case Kind::kNull:
      return {{"type", "null"}};
    case Kind::kStruct: {
      nlohmann::json fields = nlohmann::json::array();
      for (const auto& f : type.fields)
        fields.push_back({{"name", f.name}, {"source", f.source}, {"type", type_to_json(f.type)}});
      return {{"type", "struct"}, {"fields", fields}};
    }
    case Kind::kArray:
      return {{"type", "array"},
              {"element", type_to_json(type.element ? *type.element : Type::of(Kind::kNull))}};
    default:
      return {{"type", glue_type(type)}};
  }
}

Type type_from_json(const nlohmann::json& j) {
  const std::string name = j.at("type").get<std::string>();
  if (name == "null") return Type::of(Kind::kNull);
  if (name == "struct") {
    Type t = Type::of(Kind::kStruct);
    for (const auto& f : j.at("fields"))
      t.fields.push_back(Type::Field{f.at("name").get<std::string>(), f.at("source").get<std::string>(),
                                     type_from_json(f.at("type"))});
    return t;
  }
  if (name == "array") {
    Type t = Type::of(Kind::kArray);
    t.element = std::make_shared<const Type>(type_from_json(j.at("element")));
    return t;
  }
  static const std::pair<const char*, Kind> kScalars[] = {
      {"boolean", Kind::kBoolean}, {"tinyint", Kind::kTinyint},    {"smallint", Kind::kSmallint},
      {"int", Kind::kInt},         {"bigint", Kind::kBigint},      {"float", Kind::kFloat},
      {"double", Kind::kDouble},   {"string", Kind::kString},      {"binary", Kind::kBinary},
      {"date", Kind::kDate},       {"timestamp", Kind::kTimestamp}};
  for (const auto& [text, kind] : kScalars)
    if (name == text) return Type::of(kind);
  if (name.rfind("decimal", 0) == 0) {
    Type t = Type::of(Kind::kDecimal);
    t.decimal = name.substr(7);
    return t;
  }
  throw Error("metastore: unknown catalog type \"" + name + "\"");
}

}  // namespace

bool Type::operator==(const Type& other) const {
  if (kind != other.kind || decimal != other.decimal || fields.size() != other.fields.size()) return false;
  for (size_t i = 0; i < fields.size(); ++i) {
    if (fields[i].name != other.fields[i].name || !(fields[i].type == other.fields[i].type)) return false;
  }
  if (kind == Kind::kArray) {
    const Type null = Type::of(Kind::kNull);
    return (element ? *element : null) == (other.element ? *other.element : null);
  }
  return true;
}

std::string lower(std::string_view text) {
  std::string out(text);
  for (char& c : out)
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  return out;
}

std::string glue_type(const Type& type) {
  switch (type.kind) {
    case Kind::kNull:
    case Kind::kString:
      return "string";
    case Kind::kBoolean:
      return "boolean";
    case Kind::kTinyint:
      return "tinyint";
    case Kind::kSmallint:
      return "smallint";
    case Kind::kInt:
      return "int";
    case Kind::kBigint:
      return "bigint";
    case Kind::kFloat:
      return "float";
    case Kind::kDouble:
      return "double";
    case Kind::kDecimal:
      return "decimal" + type.decimal;
    case Kind::kBinary:
      return "binary";
    case Kind::kDate:
      return "date";
    case Kind::kTimestamp:
      return "timestamp";
    case Kind::kStruct: {
      std::string out = "struct<";
      for (size_t i = 0; i < type.fields.size(); ++i)
        out += (i ? "," : "") + type.fields[i].name + ":" + glue_type(type.fields[i].type);
      return out + ">";
    }
    case Kind::kArray:
      return "array<" + glue_type(type.element ? *type.element : Type::of(Kind::kNull)) + ">";
  }
  return "string";
}

std::string duckdb_type(const Type& type) {
  switch (type.kind) {
    case Kind::kNull:
    case Kind::kString:
      return "VARCHAR";
    case Kind::kBoolean:
      return "BOOLEAN";
    case Kind::kTinyint:
      return "TINYINT";
    case Kind::kSmallint:
      return "SMALLINT";
    case Kind::kInt:
      return "INTEGER";
    case Kind::kBigint:
      return "BIGINT";
    case Kind::kFloat:
      return "FLOAT";
    case Kind::kDouble:
      return "DOUBLE";
    case Kind::kDecimal:
      return "DECIMAL" + type.decimal;
    case Kind::kBinary:
      return "BLOB";
    case Kind::kDate:
      return "DATE";
    case Kind::kTimestamp:
      return "TIMESTAMP";
    case Kind::kStruct: {
      if (type.fields.empty()) return "VARCHAR";  // {}: nothing to read into
      std::string out = "STRUCT(";
      for (size_t i = 0; i < type.fields.size(); ++i)
        out += (i ? ", " : "") + sql::quote_identifier(type.fields[i].source) + " " +
               duckdb_type(type.fields[i].type);
      return out + ")";
    }
    case Kind::kArray:
      return duckdb_type(type.element ? *type.element : Type::of(Kind::kNull)) + "[]";
  }
  return "VARCHAR";
}

Type from_duckdb_type(std::string_view text) { return DuckTypeParser(text).parse(); }

Type widen(const Type& a, const Type& b, bool* conflict) {
  if (a.kind == Kind::kNull) return b;
  if (b.kind == Kind::kNull) return a;
  if (a.kind == Kind::kStruct && b.kind == Kind::kStruct) {
    Type out = a;
    for (const auto& field : b.fields) {
      auto same = std::find_if(out.fields.begin(), out.fields.end(),
                               [&](const Type::Field& f) { return f.name == field.name; });
      if (same == out.fields.end())
        out.fields.push_back(field);
      else
        same->type = widen(same->type, field.type, conflict);
    }
    return out;
  }
  if (a.kind == Kind::kArray && b.kind == Kind::kArray) {
    const Type null = Type::of(Kind::kNull);
    Type out = Type::of(Kind::kArray);
    out.element = std::make_shared<const Type>(
        widen(a.element ? *a.element : null, b.element ? *b.element : null, conflict));
    return out;
  }
  if (is_nested(a.kind) || is_nested(b.kind)) {
    *conflict = true;
    return Type::of(Kind::kString);
  }
  if (a == b) return a;
  if (is_numeric(a.kind) && is_numeric(b.kind)) {
    if (is_integral(a.kind) && is_integral(b.kind))
      return integral_rank(a.kind) >= integral_rank(b.kind) ? a : b;
    return Type::of(Kind::kDouble);
  }
  if ((a.kind == Kind::kDate && b.kind == Kind::kTimestamp) ||
      (a.kind == Kind::kTimestamp && b.kind == Kind::kDate))
    return Type::of(Kind::kTimestamp);
  return Type::of(Kind::kString);
}

MergeResult merge(const std::vector<Column>& existing, const std::vector<Column>& incoming,
                  std::string_view where) {
  MergeResult out;
  out.columns = existing;
  for (const auto& column : incoming) {
    auto same = std::find_if(out.columns.begin(), out.columns.end(),
                             [&](const Column& c) { return c.name == column.name; });
    if (same == out.columns.end()) {
      out.columns.push_back(column);
      out.changes.push_back("added column " + column.name + " (" + glue_type(column.type) + ")");
      continue;
    }
    bool conflict = false;
    Type widened = widen(same->type, column.type, &conflict);
    if (conflict) {
      out.conflicts.push_back("column " + column.name + " is " + glue_type(same->type) +
                              " in the table but " + glue_type(column.type) + " in " + std::string(where) +
                              ": these cannot be widened into each other; the column is now string");
    }
    if (!(widened == same->type)) {
      if (same->type.kind == Kind::kNull) {
        out.changes.push_back("typed column " + column.name + " as " + glue_type(widened) +
                              " (only nulls seen before)");
      } else {
        out.changes.push_back("widened column " + column.name + ": " + glue_type(same->type) + " -> " +
                              glue_type(widened));
      }
      same->type = std::move(widened);
    }
  }
  return out;
}

std::vector<Column> infer_json(std::string_view text, bool json_lines) {
  simdjson::dom::parser parser;
  simdjson::padded_string padded(text);
  std::vector<Column> columns;
  uint64_t index = 0;
  auto add_record = [&](simdjson::dom::element record) {
    if (!record.is_object()) {
      throw Error("record " + std::to_string(index) + " is not a JSON object");
    }
    const Type type = type_of_json(record);
    for (const auto& field : type.fields) {
      auto same =
          std::find_if(columns.begin(), columns.end(), [&](const Column& c) { return c.name == field.name; });
      if (same == columns.end()) {
        columns.push_back(Column{field.name, field.source, field.type});
      } else {
        bool conflict = false;
        same->type = widen(same->type, field.type, &conflict);
      }
    }
    ++index;
  };
  if (json_lines) {
    simdjson::dom::document_stream stream;
    if (auto error = parser.parse_many(padded).get(stream)) {
      throw Error(std::string("not JSON Lines: ") + simdjson::error_message(error));
    }
    for (auto it = stream.begin(); it != stream.end(); ++it) {
      simdjson::dom::element record;
      if (auto error = (*it).get(record)) {
        throw Error("not JSON Lines: " + std::string(simdjson::error_message(error)) + " near byte " +
                    std::to_string(it.current_index()));
      }
      add_record(record);
    }
    if (stream.truncated_bytes() > 0) {
      throw Error("not JSON Lines: the last " + std::to_string(stream.truncated_bytes()) +
                  " bytes are an incomplete record");
    }
  } else {
    simdjson::dom::element root;
    if (auto error = parser.parse(padded).get(root)) {
      throw Error(std::string("not a JSON document: ") + simdjson::error_message(error));
    }
    if (root.is_array()) {
      simdjson::dom::array records;
      if (root.get_array().get(records)) throw Error("not a JSON array");
      for (simdjson::dom::element record : records) add_record(record);
    } else {
      add_record(root);
    }
  }
  return columns;
}

nlohmann::json to_json(const std::vector<Column>& columns) {
  nlohmann::json out = nlohmann::json::array();
  for (const auto& c : columns)
    out.push_back({{"name", c.name}, {"source", c.source}, {"type", type_to_json(c.type)}});
  return out;
}

std::vector<Column> columns_from_json(const nlohmann::json& json) {
  std::vector<Column> out;
  for (const auto& c : json)
    out.push_back(Column{c.at("name").get<std::string>(), c.at("source").get<std::string>(),
                         type_from_json(c.at("type"))});
  return out;
}

}  // namespace sluice::catalog
