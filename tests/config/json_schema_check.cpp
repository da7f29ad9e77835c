#include "tests/config/json_schema_check.h"

#include <yaml-cpp/yaml.h>

#include <regex>
#include <set>
#include <stdexcept>

namespace sluice::testing_util {
namespace {

using nlohmann::json;

const std::set<std::string>& known_keywords() {
  static const std::set<std::string> keywords{"$schema",
                                              "title",
                                              "description",
                                              "default",
                                              "type",
                                              "properties",
                                              "required",
                                              "additionalProperties",
                                              "patternProperties",
                                              "items",
                                              "anyOf",
                                              "enum",
                                              "pattern",
                                              "minimum",
                                              "maximum",
                                              "minProperties",
                                              "maxProperties"};
  return keywords;
}

bool has_type(const json& value, const std::string& type) {
  if (type == "object") return value.is_object();
  if (type == "array") return value.is_array();
  if (type == "string") return value.is_string();
  if (type == "boolean") return value.is_boolean();
  if (type == "null") return value.is_null();
  if (type == "integer") return value.is_number_integer();
  if (type == "number") return value.is_number();
  throw std::invalid_argument("unknown type " + type);
}

class Checker {
 public:
  std::vector<std::string> problems;

  void check(const json& schema, const json& value, const std::string& where) {
    for (const auto& [keyword, unused] : schema.items())
      if (!known_keywords().count(keyword))
        throw std::invalid_argument("keyword outside the subset: " + keyword);
    if (schema.contains("anyOf")) return check_any_of(schema["anyOf"], value, where);
    if (schema.contains("type") && !type_matches(schema["type"], value))
      return fail(where, "expected type " + schema["type"].dump() + ", got " + value.dump());
    if (schema.contains("enum") &&
        std::find(schema["enum"].begin(), schema["enum"].end(), value) == schema["enum"].end())
      fail(where, value.dump() + " is not one of " + schema["enum"].dump());
    if (value.is_string() && schema.contains("pattern") &&
        !std::regex_search(value.get<std::string>(), std::regex(schema["pattern"].get<std::string>())))
      fail(where, value.dump() + " does not match " + schema["pattern"].get<std::string>());
    if (value.is_number()) check_range(schema, value, where);
    if (value.is_object()) check_object(schema, value, where);
    if (value.is_array() && schema.contains("items"))
      for (size_t i = 0; i < value.size(); ++i)
        check(schema["items"], value[i], where + "/" + std::to_string(i));
  }

 private:
  void fail(const std::string& where, const std::string& what) {
    problems.push_back((where.empty() ? "/" : where) + ": " + what);
  }

  static bool type_matches(const json& type, const json& value) {
    if (type.is_string()) return has_type(value, type);
    return std::any_of(type.begin(), type.end(), [&](const json& t) { return has_type(value, t); });
  }

  void check_any_of(const json& alternatives, const json& value, const std::string& where) {
    for (const auto& alternative : alternatives) {
      Checker trial;
      trial.check(alternative, value, where);
      if (trial.problems.empty()) return;
    }
    fail(where, value.dump() + " matches none of the alternatives");
  }

  void check_range(const json& schema, const json& value, const std::string& where) {
    if (schema.contains("minimum") && value < schema["minimum"])
      fail(where, value.dump() + " is below the minimum");
    if (schema.contains("maximum") && value > schema["maximum"])
      fail(where, value.dump() + " is above the maximum");
  }

  void check_object(const json& schema, const json& value, const std::string& where) {
    if (schema.contains("minProperties") && value.size() < schema["minProperties"].get<size_t>())
      fail(where, "too few keys");
    if (schema.contains("maxProperties") && value.size() > schema["maxProperties"].get<size_t>())
      fail(where, "too many keys");
    for (const auto& required : schema.value("required", json::array()))
      if (!value.contains(required.get<std::string>()))
        fail(where, "missing required key " + required.dump());
    for (const auto& [key, item] : value.items()) {
      const std::string at = where + "/" + key;
      if (schema.contains("properties") && schema["properties"].contains(key)) {
        check(schema["properties"][key], item, at);
        continue;
      }
      bool matched = false;
      const json patterns = schema.value("patternProperties", json::object());
      for (const auto& [pattern, item_schema] : patterns.items()) {
        if (!std::regex_search(key, std::regex(pattern))) continue;
        matched = true;
        check(item_schema, item, at);
      }
      if (matched || !schema.contains("additionalProperties")) continue;
      const json& additional = schema["additionalProperties"];
      if (additional.is_boolean()) {
        if (!additional.get<bool>()) fail(at, "unknown key \"" + key + "\"");
      } else {
        check(additional, item, at);
      }
    }
  }
};

json scalar_to_json(const YAML::Node& node) {
  const std::string& text = node.Scalar();
  if (node.Tag() == "!") return text;  // quoted: always a string
  static const std::regex kInteger("^[-+]?[0-9]+$");
  static const std::regex kFloat("^[-+]?(\\.[0-9]+|[0-9]+(\\.[0-9]*)?)([eE][-+]?[0-9]+)?$");
  if (text == "true" || text == "True" || text == "TRUE") return true;
  if (text == "false" || text == "False" || text == "FALSE") return false;
  if (std::regex_match(text, kInteger)) return std::stoll(text);
  if (std::regex_match(text, kFloat)) return std::stod(text);
  return text;
}

json node_to_json(const YAML::Node& node) {
  switch (node.Type()) {
    case YAML::NodeType::Map: {
      json out = json::object();
      for (const auto& entry : node) out[entry.first.Scalar()] = node_to_json(entry.second);
      return out;
    }
    case YAML::NodeType::Sequence: {
      json out = json::array();
      for (const auto& item : node) out.push_back(node_to_json(item));
      return out;
    }
    case YAML::NodeType::Scalar:
      return scalar_to_json(node);
    default:
      return nullptr;
  }
}

}  // namespace

std::vector<std::string> schema_problems(const json& schema, const json& value) {
  Checker checker;
  checker.check(schema, value, "");
  return checker.problems;
}

json yaml_to_json(const std::string& yaml_text) { return node_to_json(YAML::Load(yaml_text)); }

}  // namespace sluice::testing_util
