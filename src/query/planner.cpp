#include "query/planner.h"

#include <algorithm>
#include <nlohmann/json.hpp>

#include "catalog/schema.h"

namespace sluice::query {
namespace {

using nlohmann::json;
using Op = Condition::Op;

std::string text_of(const json& node, const char* key) {
  auto it = node.find(key);
  return it != node.end() && it->is_string() ? it->get<std::string>() : std::string();
}

// The column a COLUMN_REF names, when it is unqualified or qualified by `table_names`.
bool column_of(const json& node, const std::vector<std::string>& table_names, std::string& column) {
  if (text_of(node, "class") != "COLUMN_REF") return false;
  const auto& names = node.value("column_names", json::array());
  if (names.empty() || names.size() > 2) return false;
  if (names.size() == 2 && std::find(table_names.begin(), table_names.end(),
                                     catalog::lower(names[0].get<std::string>())) == table_names.end())
    return false;
  column = catalog::lower(names.back().get<std::string>());
  return true;
}

// A non-null VARCHAR constant.
bool string_constant(const json& node, std::string& value) {
  if (text_of(node, "class") != "CONSTANT") return false;
  const auto& v = node.value("value", json::object());
  if (v.value("is_null", true)) return false;
  if (v.value("type", json::object()).value("id", "") != "VARCHAR") return false;
  if (!v.contains("value") || !v["value"].is_string()) return false;
  value = v["value"].get<std::string>();
  return true;
}

Op flip(Op op) {
  switch (op) {
    case Op::kLt:
      return Op::kGt;
    case Op::kLe:
      return Op::kGe;
    case Op::kGt:
      return Op::kLt;
    case Op::kGe:
      return Op::kLe;
    default:
      return op;
  }
}

void conditions_of(const json& node, const std::vector<std::string>& table_names,
                   std::vector<Condition>& out) {
  if (!node.is_object()) return;
  const std::string cls = text_of(node, "class");
  const std::string type = text_of(node, "type");
  if (cls == "CONJUNCTION" && type == "CONJUNCTION_AND") {
    for (const auto& child : node.value("children", json::array())) conditions_of(child, table_names, out);
    return;
  }
  if (cls == "COMPARISON") {
    static const std::pair<const char*, Op> kOps[] = {
        {"COMPARE_EQUAL", Op::kEq},       {"COMPARE_NOTEQUAL", Op::kNe},
        {"COMPARE_LESSTHAN", Op::kLt},    {"COMPARE_LESSTHANOREQUALTO", Op::kLe},
        {"COMPARE_GREATERTHAN", Op::kGt}, {"COMPARE_GREATERTHANOREQUALTO", Op::kGe}};
    const auto found =
        std::find_if(std::begin(kOps), std::end(kOps), [&](const auto& p) { return type == p.first; });
    if (found == std::end(kOps)) return;
    Condition c;
    std::string value;
    if (column_of(node.value("left", json()), table_names, c.column) &&
        string_constant(node.value("right", json()), value)) {
      c.op = found->second;
    } else if (column_of(node.value("right", json()), table_names, c.column) &&
               string_constant(node.value("left", json()), value)) {
      c.op = flip(found->second);
    } else {
      return;
    }
    c.values.push_back(value);
    out.push_back(std::move(c));
    return;
  }
  if (cls == "OPERATOR" && type == "COMPARE_IN") {
    const auto& children = node.value("children", json::array());
    Condition c;
    c.op = Op::kIn;
    if (children.size() < 2 || !column_of(children[0], table_names, c.column)) return;
    for (size_t i = 1; i < children.size(); ++i) {
      std::string value;
      if (!string_constant(children[i], value)) return;
      c.values.push_back(value);
    }
    out.push_back(std::move(c));
    return;
  }
  if (cls == "BETWEEN") {
    std::string column, low, high;
    if (!column_of(node.value("input", json()), table_names, column) ||
        !string_constant(node.value("lower", json()), low) ||
        !string_constant(node.value("upper", json()), high))
      return;
    out.push_back(Condition{column, Op::kGe, {low}});
    out.push_back(Condition{column, Op::kLe, {high}});
  }
}

TableReference reference_of(const json& table) {
  return TableReference{
      catalog::lower(text_of(table, "schema_name")), catalog::lower(text_of(table, "table_name")), {}};
}

void walk(const json& node, std::vector<TableReference>& out) {
  if (node.is_array()) {
    for (const auto& item : node) walk(item, out);
    return;
  }
  if (!node.is_object()) return;
  const std::string type = text_of(node, "type");
  if (type == "SELECT_NODE") {
    const json& from = node.value("from_table", json());
    const bool direct = from.is_object() && text_of(from, "type") == "BASE_TABLE";
    if (direct) {
      TableReference ref = reference_of(from);
      std::vector<std::string> names = {ref.table};
      if (!text_of(from, "alias").empty()) names.push_back(catalog::lower(text_of(from, "alias")));
      conditions_of(node.value("where_clause", json()), names, ref.conditions);
      out.push_back(std::move(ref));
    }
    for (auto it = node.begin(); it != node.end(); ++it) {
      if (direct && it.key() == "from_table") continue;
      walk(it.value(), out);
    }
    return;
  }
  if (type == "BASE_TABLE") {
    out.push_back(reference_of(node));
    return;
  }
  for (auto it = node.begin(); it != node.end(); ++it) walk(it.value(), out);
}

std::string first_word(std::string_view sql) {
  size_t i = 0;
  while (i < sql.size() && (std::isspace(static_cast<unsigned char>(sql[i])) || sql[i] == '(')) ++i;
  size_t j = i;
  while (j < sql.size() && std::isalpha(static_cast<unsigned char>(sql[j]))) ++j;
  std::string word(sql.substr(i, j - i));
  for (char& c : word) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return word;
}

}  // namespace

std::vector<TableReference> analyze(const json& serialized, std::string_view sql) {
  if (serialized.value("error", false)) {
    const std::string kind = serialized.value("error_type", "");
    const std::string message = serialized.value("error_message", "the query could not be parsed");
    if (kind == "parser") throw QueryRefused("Parser Error: " + message);
    const std::string word = first_word(sql);
    throw QueryRefused("only SELECT queries can run (queries are read-only); got " +
                       (word.empty() ? std::string("a statement that is not a SELECT") : word));
  }
  const auto& statements = serialized.value("statements", json::array());
  if (statements.empty()) throw QueryRefused("the query is empty");
  if (statements.size() > 1) {
    throw QueryRefused("one statement per query, got " + std::to_string(statements.size()));
  }
  std::vector<TableReference> out;
  walk(statements[0], out);
  return out;
}

bool partition_may_match(const std::vector<Condition>& conditions, const std::vector<std::string>& keys,
                         const std::vector<std::string>& values) {
  for (const auto& c : conditions) {
    const auto key = std::find(keys.begin(), keys.end(), c.column);
    if (key == keys.end()) continue;
    const std::string& v = values.at(static_cast<size_t>(key - keys.begin()));
    bool ok = true;
    switch (c.op) {
      case Op::kEq:
        ok = v == c.values[0];
        break;
      case Op::kNe:
        ok = v != c.values[0];
        break;
      case Op::kLt:
        ok = v < c.values[0];
        break;
      case Op::kLe:
        ok = v <= c.values[0];
        break;
      case Op::kGt:
        ok = v > c.values[0];
        break;
      case Op::kGe:
        ok = v >= c.values[0];
        break;
      case Op::kIn:
        ok = std::find(c.values.begin(), c.values.end(), v) != c.values.end();
        break;
    }
    if (!ok) return false;
  }
  return true;
}

}  // namespace sluice::query
