#include "config/reader.h"

#include <algorithm>
#include <cctype>

#include "common/time.h"

namespace sluice::config {
namespace {

// Edit distance, to suggest the key a user probably meant.
size_t edit_distance(std::string_view a, std::string_view b) {
  std::vector<size_t> row(b.size() + 1);
  for (size_t j = 0; j <= b.size(); ++j) row[j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    size_t diagonal = row[0];
    row[0] = i;
    for (size_t j = 1; j <= b.size(); ++j) {
      size_t above = row[j];
      row[j] = std::min({row[j] + 1, row[j - 1] + 1, diagonal + (a[i - 1] == b[j - 1] ? 0 : 1)});
      diagonal = above;
    }
  }
  return row[b.size()];
}

std::string join(const std::vector<std::string>& items, std::string_view separator) {
  std::string out;
  for (size_t i = 0; i < items.size(); ++i) {
    if (i) out += separator;
    out += items[i];
  }
  return out;
}

std::string unknown_key_message(const std::string& key, const Section& section) {
  std::string best;
  size_t best_distance = 3;
  for (const auto& candidate : section.keys) {
    const size_t d = edit_distance(key, candidate.name);
    if (d < best_distance) best_distance = d, best = candidate.name;
  }
  return "unknown key \"" + key + "\"" +
         (best.empty() ? "; expected one of: " + join(section.names(), ", ")
                       : "; did you mean \"" + best + "\"?");
}

}  // namespace

Reader::Reader(std::string file, std::string_view text) : file_(std::move(file)), text_(text) {}

void Reader::error(const Node& at, const std::string& path, const std::string& message) {
  const Mark mark = at.mark();
  error_at(mark.line, mark.column, path, message);
}

void Reader::error_at(int line, int column, const std::string& path, const std::string& message) {
  if (diagnostics_.size() == kMaxDiagnostics) {
    diagnostics_.push_back(Diagnostic{file_, line, column, path,
                                      "too many problems; stopped after " + std::to_string(kMaxDiagnostics)});
    fail();
  }
  diagnostics_.push_back(Diagnostic{file_, line, column, path, message});
}

void Reader::fail() { throw ConfigError(std::move(diagnostics_)); }

std::string Reader::child(const std::string& path, std::string_view key) {
  return path.empty() ? std::string(key) : path + "." + std::string(key);
}

bool Reader::quoted(const Node& scalar) const {
  const auto offset = static_cast<size_t>(scalar.mark().offset);
  return offset < text_.size() && (text_[offset] == '"' || text_[offset] == '\'');
}

bool Reader::expect_map(const Node& node, const std::string& path) {
  if (node.is_map()) return true;
  error(node, path, "expected a mapping, got " + node.type_name());
  return false;
}

void Reader::check_keys(const Node& map, const std::string& path, const Section& section) {
  for (const auto& [key_node, value] : map.entries()) {
    const std::string key = key_node.scalar();
    const bool known = std::any_of(section.keys.begin(), section.keys.end(),
                                   [&](const KeySpec& spec) { return spec.name == key; });
    if (known)
      record_written(child(path, key));
    else
      error(key_node, child(path, key), unknown_key_message(key, section));
  }
}

Node Reader::required_value(const Node& map, const KeySpec& key, const std::string& path) {
  Node value = map[key.name];
  if (!value && key.required) {
    error(map, child(path, key.name),
          "missing required key \"" + std::string(key.name) + "\"" +
              (key.hint.empty() ? "" : " (" + std::string(key.hint) + ")"));
  }
  return value;
}

std::optional<std::string> Reader::string(const Node& map, const KeySpec& key, const std::string& path) {
  const Node value = required_value(map, key, path);
  if (!value) return std::nullopt;
  if (!value.is_scalar()) {
    error(value, child(path, key.name), "expected a string, got " + value.type_name());
    return std::nullopt;
  }
  return value.scalar();
}

std::optional<int64_t> Reader::integer(const Node& map, const KeySpec& key, const std::string& path) {
  const Node value = required_value(map, key, path);
  if (!value) return std::nullopt;
  const auto number = value.as_int64();
  if (!number) {
    error(value, child(path, key.name), "expected an integer, got " + value.type_name());
    return std::nullopt;
  }
  if (*number < key.min || *number > key.max) {
    error(value, child(path, key.name),
          "expected an integer from " + std::to_string(key.min) + " to " + std::to_string(key.max) +
              ", got " + std::to_string(*number));
    return std::nullopt;
  }
  return number;
}

std::optional<bool> Reader::boolean(const Node& map, const KeySpec& key, const std::string& path) {
  const Node value = required_value(map, key, path);
  if (!value) return std::nullopt;
  const auto flag = value.as_bool();
  if (!flag) error(value, child(path, key.name), "expected true or false, got " + value.type_name());
  return flag;
}

std::optional<std::chrono::milliseconds> Reader::duration(const Node& map, const KeySpec& key,
                                                          const std::string& path) {
  const auto text = string(map, key, path);
  if (!text) return std::nullopt;
  const Node value = map[key.name];
  const auto parsed = parse_duration(*text);
  if (!parsed) {
    error(value, child(path, key.name),
          "expected a duration like 250ms, 5s, 2m or 1h, got \"" + *text + "\"");
    return std::nullopt;
  }
  if (parsed->count() > key.max) {
    error(value, child(path, key.name),
          "duration \"" + *text + "\" is longer than the maximum of " + std::to_string(key.max / 1000) + "s");
    return std::nullopt;
  }
  if (parsed->count() < key.min) {
    error(value, child(path, key.name),
          key.min == 1 ? std::string("expected a duration above 0")
                       : "expected a duration of at least " + std::to_string(key.min) + "ms");
    return std::nullopt;
  }
  return parsed;
}

std::optional<uint64_t> Reader::size(const Node& map, const KeySpec& key, const std::string& path) {
  const auto text = string(map, key, path);
  if (!text) return std::nullopt;
  const Node value = map[key.name];
  const auto bytes = parse_size(*text);
  if (!bytes) {
    error(value, child(path, key.name),
          "expected a size like 1048576, 512KiB or 5MiB, got \"" + *text + "\"");
    return std::nullopt;
  }
  const auto min = static_cast<uint64_t>(key.min), max = static_cast<uint64_t>(key.max);
  if (*bytes < min || *bytes > max) {
    error(value, child(path, key.name),
          "expected a size from " + std::to_string(min) + " to " + std::to_string(max) + " bytes, got " +
              std::to_string(*bytes));
    return std::nullopt;
  }
  return bytes;
}

std::optional<size_t> Reader::choice(const Node& map, const KeySpec& key, const std::string& path) {
  const auto text = string(map, key, path);
  if (!text) return std::nullopt;
  const auto it = std::find(key.values.begin(), key.values.end(), *text);
  if (it != key.values.end()) return static_cast<size_t>(it - key.values.begin());
  std::string expected;
  if (key.values.size() == 1) {
    expected = "expected \"" + std::string(key.values[0]) + "\" (" + std::string(key.hint) + ")";
  } else {
    expected = "expected one of " + join({key.values.begin(), key.values.end()}, ", ");
  }
  error(map[key.name], child(path, key.name), expected + ", got \"" + *text + "\"");
  return std::nullopt;
}

std::optional<std::string> Reader::env_name(const Node& map, const KeySpec& key, const std::string& path) {
  auto name = string(map, key, path);
  if (name && !valid_env_name(*name)) {
    error(map[key.name], child(path, key.name),
          "expected an environment variable name (letters, digits, _), got \"" + *name + "\"");
    return std::nullopt;
  }
  return name;
}

std::vector<std::pair<std::string, std::string>> Reader::scalar_map(const Node& map, const KeySpec& key,
                                                                    const std::string& path) {
  const Node value = required_value(map, key, path);
  if (!value) return {};
  return scalar_map_of(value, child(path, key.name));
}

std::vector<std::pair<std::string, std::string>> Reader::scalar_map_of(const Node& value,
                                                                       const std::string& path) {
  std::vector<std::pair<std::string, std::string>> out;
  if (!expect_map(value, path)) return out;
  for (const auto& [name_node, entry] : value.entries()) {
    const std::string name = name_node.scalar();
    if (!entry.is_scalar()) {
      error(entry, child(path, name), "expected a string value, got " + entry.type_name());
      continue;
    }
    out.emplace_back(name, entry.scalar());
  }
  return out;
}

std::vector<std::string> Reader::names(const Node& map, const KeySpec& key, const std::string& path) {
  const Node value = required_value(map, key, path);
  if (!value) return {};
  return names_of(value, child(path, key.name));
}

std::vector<std::string> Reader::names_of(const Node& value, const std::string& path) {
  if (value.is_scalar()) return {value.scalar()};  // a single name is a list of one
  std::vector<std::string> out;
  if (!value.is_sequence()) {
    error(value, path, "expected a list of names, got " + value.type_name());
    return out;
  }
  for (size_t i = 0; i < value.size(); ++i) {
    const Node item = value.at(i);
    if (!item.is_scalar()) {
      error(item, path + "[" + std::to_string(i) + "]", "expected a name, got " + item.type_name());
      continue;
    }
    out.push_back(item.scalar());
  }
  return out;
}

Node Reader::mapping(const Node& map, const KeySpec& key, const std::string& path) {
  const Node value = required_value(map, key, path);
  const std::string p = child(path, key.name);
  if (!value || !expect_map(value, p)) return {};
  if (key.section) check_keys(value, p, *key.section);
  return value;
}

std::vector<Reader::Entry> Reader::entries(const Node& map, const KeySpec& key) {
  std::vector<Entry> out;
  const Node value = map[key.name];
  if (!value || !expect_map(value, std::string(key.name))) return out;
  for (auto& [name_node, entry] : value.entries()) {
    const std::string name = name_node.scalar();
    const std::string p = std::string(key.name) + "." + name;
    // Names appear in commands, keys and logs: keep them plain.
    if (!valid_entry_name(name)) {
      error(name_node, p,
            std::string(key.hint) + " names use letters, digits, '_', '-' and '.', got \"" + name + "\"");
      continue;
    }
    record_written(p);
    out.push_back(Entry{name, name_node, entry, p});
  }
  return out;
}

std::string Reader::declared_buckets_list() const {
  if (declared_.buckets.empty()) return " (none are)";
  return " (declared: " + join({declared_.buckets.begin(), declared_.buckets.end()}, ", ") + ")";
}

void Reader::check_bucket_declared(const Node& at, const std::string& path, const std::string& bucket) {
  if (declared_.buckets.count(bucket)) return;
  error(at, path, "bucket \"" + bucket + "\" is not declared under buckets:" + declared_buckets_list());
}

std::optional<uint64_t> parse_size(std::string_view text) {
  size_t digits = 0;
  while (digits < text.size() && std::isdigit(static_cast<unsigned char>(text[digits]))) ++digits;
  if (digits == 0 || digits > 15) return std::nullopt;
  const uint64_t value = std::stoull(std::string(text.substr(0, digits)));
  const std::string_view unit = text.substr(digits);
  if (unit.empty() || unit == "B") return value;
  if (unit == "KiB" || unit == "KB") return value << 10;
  if (unit == "MiB" || unit == "MB") return value << 20;
  if (unit == "GiB" || unit == "GB") return value << 30;
  return std::nullopt;
}

bool valid_entry_name(std::string_view name) {
  if (name.empty() || name.size() > kMaxEntryNameBytes) return false;
  return std::all_of(name.begin(), name.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-' || c == '.';
  });
}

bool valid_env_name(std::string_view name) {
  if (name.empty() || std::isdigit(static_cast<unsigned char>(name[0]))) return false;
  return std::all_of(name.begin(), name.end(),
                     [](char c) { return std::isalnum(static_cast<unsigned char>(c)) || c == '_'; });
}

}  // namespace sluice::config
