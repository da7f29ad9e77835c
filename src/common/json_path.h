// Dotted paths into parsed JSON (simdjson DOM), as pipeline files write them: "info.next",
// "results", "user.id". Shared by the extract's records_path/next_field, the ingest API's
// partition_key_field and the delivery's partitionKeyFromQuery. Header-only: callers link simdjson.
#pragma once

#include <simdjson.h>

#include <optional>
#include <string>
#include <string_view>

namespace sluice::json {

// The value at `path` (object keys separated by '.'); false when a key is missing or a step is not
// an object.
inline bool at_path(simdjson::dom::element root, std::string_view path, simdjson::dom::element& out) {
  simdjson::dom::element current = root;
  size_t start = 0;
  while (true) {
    const auto dot = path.find('.', start);
    const std::string_view key =
        path.substr(start, dot == std::string_view::npos ? std::string_view::npos : dot - start);
    simdjson::dom::object object;
    if (current.get_object().get(object) || object[key].get(current)) return false;
    if (dot == std::string_view::npos) break;
    start = dot + 1;
  }
  out = current;
  return true;
}

// A scalar as text: a string as it is, a number or boolean as its JSON; nullopt for null, arrays and
// objects.
inline std::optional<std::string> scalar_text(simdjson::dom::element value) {
  if (value.is_string()) return std::string(value.get_string().value_unsafe());
  if (value.is_number() || value.is_bool()) return simdjson::minify(value);
  return std::nullopt;
}

}  // namespace sluice::json
