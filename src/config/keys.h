// The declarative table of a pipeline file's keys. Each component describes its section once, as a
// Section of KeySpecs (name, type, required, allowed values, pattern, limits, default, description);
// its parser takes the allowed keys, the limits and the messages from it (config::Reader), and the
// JSON Schema of the file (config/schema.h) is generated from the same tables, so that the parser,
// the schema and the README's reference cannot say different things.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace sluice::config {

struct Section;

enum class Kind {
  kString,
  kInteger,    // min..max
  kBoolean,    // true or false
  kDuration,   // "250ms", "5s", "2m", "1h", "1d"; max (and min when set) in milliseconds
  kSize,       // 1048576, "512KiB", "5MiB", "1GiB"; min..max bytes
  kEnum,       // one of `values`
  kNames,      // a name, or a list of names
  kScalarMap,  // a mapping of names to scalar values (headers, rename, input.schema)
  kMapping,    // the keys of `section`
  kEntries,    // a mapping of user-chosen names (see kNamePattern) to `section` each
  kList,       // a list of `items[0]`
  kAnyOf,      // one of `items` (buckets: a name or {name: ...}; steps: flatten or {KIND: ...})
};

struct KeySpec {
  std::string_view name;  // empty for list items and alternatives
  Kind kind = Kind::kString;
  std::string_view description;
  bool required = false;
  // Said after "missing required key \"NAME\"", and after "expected \"V\"" for a one-value enum.
  std::string_view hint;
  std::string_view default_value;        // as written in a pipeline file; empty when there is none
  std::vector<std::string_view> values;  // kEnum, in the order messages list them
  std::string_view pattern;              // a regular expression (ECMA) the value matches, for the schema
  int64_t min = 0;
  int64_t max = 0;  // kInteger, kSize, kDuration; 0 with min 0: no limit
  // `key:` with nothing is allowed (and means the defaults); for kEntries, of each entry.
  bool nullable = false;
  const Section* section = nullptr;  // kMapping, kEntries
  std::vector<KeySpec> items;        // kList: the item; kAnyOf: the alternatives
};

struct Section {
  std::vector<KeySpec> keys;
  bool exactly_one_key = false;  // a one-key mapping (a processing step)

  // The spec named `name`. Throws std::logic_error when there is none: a parser asked for a key its
  // table does not declare (a programming error that every test of that section catches).
  const KeySpec& operator[](std::string_view name) const;
  std::vector<std::string> names() const;  // in table order
};

// What names of sources, schedules, streams... may be: 1..128 of A-Z a-z 0-9 _ - .
inline constexpr size_t kMaxEntryNameBytes = 128;
inline constexpr std::string_view kNamePattern = "^[A-Za-z0-9_.-]{1,128}$";
// Names of environment variables (secrets are read from them, never written in the file).
inline constexpr std::string_view kEnvNamePattern = "^[A-Za-z_][A-Za-z0-9_]*$";
// Durations and sizes as written in the file (values above are limits checked by the parser).
inline constexpr std::string_view kDurationPattern = "^[0-9.]+(ms|s|m|h|d)$";
inline constexpr std::string_view kSizePattern = "^[0-9]{1,15}(B|KB|KiB|MB|MiB|GB|GiB)?$";

}  // namespace sluice::config
