#include "config/schema.h"

#include "config/keys.h"
#include "config/pipeline.h"

namespace sluice::config {
namespace {

using nlohmann::json;

json schema_of(const KeySpec& key);

json object_of(const Section& section) {
  json properties = json::object();
  json required = json::array();
  for (const auto& key : section.keys) {
    properties[std::string(key.name)] = schema_of(key);
    if (key.required) required.push_back(key.name);
  }
  json out = {{"type", "object"}, {"properties", properties}, {"additionalProperties", false}};
  if (!required.empty()) out["required"] = required;
  if (section.exactly_one_key) out["minProperties"] = out["maxProperties"] = 1;
  return out;
}

json default_of(const KeySpec& key) {
  const std::string text(key.default_value);
  if (key.kind == Kind::kInteger) return std::stoll(text);
  if (key.kind == Kind::kBoolean) return text == "true";
  return text;
}

json allow_null(json schema) {
  json type = schema.value("type", json());
  if (type.is_string()) type = json::array({type});
  type.push_back("null");
  schema["type"] = type;
  return schema;
}

json value_schema(const KeySpec& key) {
  switch (key.kind) {
    case Kind::kString:
      return key.pattern.empty() ? json{{"type", "string"}}
                                 : json{{"type", "string"}, {"pattern", key.pattern}};
    case Kind::kInteger:
      return {{"type", "integer"}, {"minimum", key.min}, {"maximum", key.max}};
    case Kind::kBoolean:
      return {{"type", "boolean"}};
    case Kind::kDuration:
      return {{"type", "string"}, {"pattern", kDurationPattern}};
    case Kind::kSize:
      return {{"type", {"integer", "string"}},
              {"pattern", kSizePattern},
              {"minimum", key.min},
              {"maximum", key.max}};
    case Kind::kEnum:
      return {{"type", "string"}, {"enum", key.values}};
    case Kind::kNames: {
      json item = {{"type", "string"}};
      if (!key.pattern.empty()) item["pattern"] = key.pattern;
      json out = item;
      out["type"] = {"string", "array"};
      out["items"] = item;
      return out;
    }
    case Kind::kScalarMap:
      return {{"type", "object"}, {"additionalProperties", {{"type", {"string", "number", "boolean"}}}}};
    case Kind::kMapping:
      return object_of(*key.section);
    case Kind::kEntries: {
      const json entry = key.nullable ? allow_null(object_of(*key.section)) : object_of(*key.section);
      return {{"type", "object"},
              {"patternProperties", {{kNamePattern, entry}}},
              {"additionalProperties", false}};
    }
    case Kind::kList:
      return {{"type", "array"}, {"items", schema_of(key.items.at(0))}};
    case Kind::kAnyOf: {
      json alternatives = json::array();
      for (const auto& alternative : key.items) alternatives.push_back(schema_of(alternative));
      return {{"anyOf", alternatives}};
    }
  }
  return json::object();
}

json schema_of(const KeySpec& key) {
  json out = value_schema(key);
  if (key.nullable && key.kind != Kind::kEntries) out = allow_null(out);
  if (!key.description.empty()) out["description"] = key.description;
  if (!key.default_value.empty()) out["default"] = default_of(key);
  return out;
}

}  // namespace

json pipeline_json_schema() {
  json out = {{"$schema", "https://json-schema.org/draft/2020-12/schema"},
              {"title", "sluice pipeline file"},
              {"description",
               "The one file that declares a sluice pipeline (see the README's configuration reference)."}};
  out.update(object_of(pipeline_section()));
  return out;
}

std::string pipeline_json_schema_text() { return pipeline_json_schema().dump(2) + "\n"; }

}  // namespace sluice::config
