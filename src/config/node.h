// A read-only view of one node of a parsed YAML document, so that the components' section parsers
// read the pipeline file without including yaml-cpp. A Node is a cheap handle (copies share the
// document); an absent key gives an undefined Node (false in a condition), never an exception.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace sluice::config {

// Where a node starts in the text: 1-based line and column, 0-based byte offset.
struct Mark {
  int line = 0;
  int column = 0;
  int offset = 0;
};

class Node {
 public:
  Node();  // undefined
  ~Node();
  Node(const Node& other);
  Node& operator=(const Node& other);

  // Parses a whole document. Throws YamlSyntaxError with the place of the first syntax error.
  static Node parse(const std::string& text);

  explicit operator bool() const { return defined(); }
  bool defined() const;  // false for an absent key or element
  bool is_map() const;
  bool is_sequence() const;
  bool is_scalar() const;
  bool is_null() const;  // `key:` with nothing, or `~`/`null`
  // The text of a scalar (empty for other nodes).
  const std::string& scalar() const;
  // "a mapping", "a list", "\"TEXT\"" (a scalar, quoted), "nothing": for "expected X, got Y" messages.
  std::string type_name() const;
  Mark mark() const;  // of an undefined node: {0, 0, 0}

  // The value of `key` in a mapping; undefined when absent or when this is not a mapping.
  Node operator[](std::string_view key) const;
  // Element `index` of a list; undefined when out of range or when this is not a list.
  Node at(size_t index) const;
  size_t size() const;  // elements of a list, entries of a mapping; 0 otherwise
  // The entries of a mapping in file order: (key node, value node); empty for other nodes.
  std::vector<std::pair<Node, Node>> entries() const;

  // A scalar read as YAML reads it (123, -4; true/false/yes/no/on/off); nullopt when it is not one.
  std::optional<int64_t> as_int64() const;
  std::optional<bool> as_bool() const;

 private:
  struct Impl;
  explicit Node(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

// A YAML syntax error: the message of the parser and where it stopped.
struct YamlSyntaxError {
  Mark mark;
  std::string message;
};

}  // namespace sluice::config
