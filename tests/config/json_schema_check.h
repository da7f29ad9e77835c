// A small validator for the subset of JSON Schema (draft 2020-12) that config/schema.h generates —
// type, properties, required, additionalProperties, patternProperties, items, anyOf, enum, pattern,
// minimum/maximum, minProperties/maxProperties — and a YAML-to-JSON conversion with YAML 1.2's core
// types (plain 12 is an integer, plain true a boolean, quoted "12" a string), so that a pipeline
// file can be checked against the schema as an editor would.
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace sluice::testing_util {

// The problems of `value` against `schema`, each "JSON-POINTER: what is wrong"; empty when valid.
// Throws std::invalid_argument for a keyword outside the subset (so the schema cannot use one this
// validator would silently ignore).
std::vector<std::string> schema_problems(const nlohmann::json& schema, const nlohmann::json& value);

// A YAML document as JSON. Throws YAML::Exception for bad YAML.
nlohmann::json yaml_to_json(const std::string& yaml_text);

}  // namespace sluice::testing_util
