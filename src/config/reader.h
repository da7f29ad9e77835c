// config::Reader: what every section parser reads the pipeline file with. It walks config::Nodes,
// takes the allowed keys, limits and messages from the key tables (config/keys.h), and collects
// diagnostics with file:line:column instead of stopping at the first problem. It also remembers
// which keys the file wrote (Pipeline::written) and what the file declares (buckets, streams) so that
// a section can check a reference to another one where it reads it.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "config/diagnostic.h"
#include "config/keys.h"
#include "config/node.h"

namespace sluice::config {

// What the file declares, filled by the composition (config/pipeline.cpp) as it parses sections in
// order: buckets before everything that writes into them, streams before the deliveries reading them.
struct Declared {
  std::set<std::string> buckets;
  std::set<std::string> streams;
};

class Reader {
 public:
  // A hostile or broken file (YAML aliases can repeat one mistake millions of times) must not take
  // memory and minutes: reading stops at a page of problems.
  static constexpr size_t kMaxDiagnostics = 100;

  // `file` names the file in messages; `text` is the document (for the place of quoted values).
  Reader(std::string file, std::string_view text);

  const std::string& file() const { return file_; }

  // Records a problem at `at` (or at line:column). Throws ConfigError with everything found so far
  // once kMaxDiagnostics problems are recorded.
  void error(const Node& at, const std::string& path, const std::string& message);
  void error_at(int line, int column, const std::string& path, const std::string& message);
  bool has_errors() const { return !diagnostics_.empty(); }
  // Throws ConfigError with every problem recorded (call when has_errors()).
  [[noreturn]] void fail();

  // "a.b" + "c" -> "a.b.c"; "" + "c" -> "c".
  static std::string child(const std::string& path, std::string_view key);
  // True when the scalar is written in quotes (its text starts one column after its mark).
  bool quoted(const Node& scalar) const;

  // False (after a diagnostic) when `node` is not a mapping.
  bool expect_map(const Node& node, const std::string& path);
  // Reports every key of `map` that `section` does not declare, suggesting the nearest declared one,
  // and records the declared ones as written.
  void check_keys(const Node& map, const std::string& path, const Section& section);

  // The value of `key` in `map`, checked against its spec. nullopt when absent (after a diagnostic
  // when the spec says it is required) or wrong (after a diagnostic). Never throws but ConfigError
  // past kMaxDiagnostics.
  std::optional<std::string> string(const Node& map, const KeySpec& key, const std::string& path);
  std::optional<int64_t> integer(const Node& map, const KeySpec& key, const std::string& path);
  std::optional<bool> boolean(const Node& map, const KeySpec& key, const std::string& path);
  std::optional<std::chrono::milliseconds> duration(const Node& map, const KeySpec& key,
                                                    const std::string& path);
  std::optional<uint64_t> size(const Node& map, const KeySpec& key, const std::string& path);
  // kEnum: the index of the value in key.values.
  std::optional<size_t> choice(const Node& map, const KeySpec& key, const std::string& path);
  // A string naming an environment variable.
  std::optional<std::string> env_name(const Node& map, const KeySpec& key, const std::string& path);
  // kScalarMap: the entries in file order (empty when absent or wrong).
  std::vector<std::pair<std::string, std::string>> scalar_map(const Node& map, const KeySpec& key,
                                                              const std::string& path);
  std::vector<std::pair<std::string, std::string>> scalar_map_of(const Node& value, const std::string& path);
  // kNames: a single name is a list of one.
  std::vector<std::string> names(const Node& map, const KeySpec& key, const std::string& path);
  std::vector<std::string> names_of(const Node& value, const std::string& path);
  // kMapping: the value when it is a mapping, its keys checked against key.section; undefined when
  // absent or not a mapping (after a diagnostic).
  Node mapping(const Node& map, const KeySpec& key, const std::string& path);

  // kEntries: one entry of a named mapping such as sources: (name, key node, value node), for each
  // entry whose name is plain (the others get a diagnostic). Empty when absent or not a mapping.
  struct Entry {
    std::string name;
    Node key;
    Node value;
    std::string path;  // "sources.NAME"
  };
  std::vector<Entry> entries(const Node& map, const KeySpec& key);

  // Cross-section references, checked where they are read.
  Declared& declared() { return declared_; }
  // " (declared: a, b)" or " (none are)".
  std::string declared_buckets_list() const;
  // A diagnostic unless `bucket` is declared under buckets:.
  void check_bucket_declared(const Node& at, const std::string& path, const std::string& bucket);

  // Dotted paths of the keys the file wrote ("sources.users.retry.max_attempts").
  void record_written(const std::string& path) { written_.insert(path); }
  const std::set<std::string>& written() const { return written_; }

 private:
  Node required_value(const Node& map, const KeySpec& key, const std::string& path);

  std::string file_;
  std::string_view text_;
  std::vector<Diagnostic> diagnostics_;
  Declared declared_;
  std::set<std::string> written_;
};

// Sizes as written in pipeline files: 1048576, 512KiB, 5MiB, 1GiB (KB, MB, GB are the same as KiB...).
std::optional<uint64_t> parse_size(std::string_view text);
// Names of sources, schedules, streams...: 1..kMaxEntryNameBytes of letters, digits, '_', '-', '.'.
bool valid_entry_name(std::string_view name);
bool valid_env_name(std::string_view name);

}  // namespace sluice::config
