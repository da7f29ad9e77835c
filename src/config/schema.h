// The JSON Schema (draft 2020-12) of the pipeline file, generated from the key tables the parsers
// use (config/keys.h, pipeline_section()), so that editors and exporters check a file as sluice
// does. It uses type, properties, required, additionalProperties, patternProperties, items, anyOf,
// enum, pattern, minimum/maximum, minProperties/maxProperties, description and default. What it
// cannot say (a bucket or stream must be declared, a target must exist, limits of sizes written
// with a unit, keys required only with one `type`) is checked by the loader alone.
#pragma once

#include <nlohmann/json.hpp>
#include <string>

namespace sluice::config {

// The schema as a JSON value. Never throws (but for memory).
nlohmann::json pipeline_json_schema();
// The same, as text indented by two spaces, with a final newline (what `sluice schema` prints).
std::string pipeline_json_schema_text();

}  // namespace sluice::config
