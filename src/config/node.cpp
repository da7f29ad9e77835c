#include "config/node.h"

#include <yaml-cpp/yaml.h>

namespace sluice::config {

struct Node::Impl {
  YAML::Node node;
};

Node::Node() = default;
Node::~Node() = default;
Node::Node(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Node::Node(const Node& other) : impl_(other.impl_ ? std::make_unique<Impl>(*other.impl_) : nullptr) {}
Node& Node::operator=(const Node& other) {
  if (this != &other) impl_ = other.impl_ ? std::make_unique<Impl>(*other.impl_) : nullptr;
  return *this;
}

Node Node::parse(const std::string& text) {
  try {
    return Node(std::make_unique<Impl>(Impl{YAML::Load(text)}));
  } catch (const YAML::ParserException& e) {
    throw YamlSyntaxError{{e.mark.line + 1, e.mark.column + 1, e.mark.pos}, e.msg};
  }
}

bool Node::defined() const { return impl_ && impl_->node.IsDefined(); }
bool Node::is_map() const { return defined() && impl_->node.IsMap(); }
bool Node::is_sequence() const { return defined() && impl_->node.IsSequence(); }
bool Node::is_scalar() const { return defined() && impl_->node.IsScalar(); }
bool Node::is_null() const { return defined() && impl_->node.IsNull(); }

const std::string& Node::scalar() const {
  static const std::string kEmpty;
  return is_scalar() ? impl_->node.Scalar() : kEmpty;
}

std::string Node::type_name() const {
  if (!defined()) return "an undefined value";
  switch (impl_->node.Type()) {
    case YAML::NodeType::Map:
      return "a mapping";
    case YAML::NodeType::Sequence:
      return "a list";
    case YAML::NodeType::Scalar:
      return "\"" + impl_->node.Scalar() + "\"";
    case YAML::NodeType::Null:
      return "nothing";
    default:
      return "an undefined value";
  }
}

Mark Node::mark() const {
  if (!defined()) return {};
  const YAML::Mark m = impl_->node.Mark();
  return {m.line + 1, m.column + 1, m.pos};
}

Node Node::operator[](std::string_view key) const {
  if (!is_map()) return {};
  const YAML::Node& map = impl_->node;
  YAML::Node value = map[std::string(key)];
  if (!value.IsDefined()) return {};
  return Node(std::make_unique<Impl>(Impl{value}));
}

Node Node::at(size_t index) const {
  if (!is_sequence() || index >= impl_->node.size()) return {};
  const YAML::Node& list = impl_->node;
  return Node(std::make_unique<Impl>(Impl{list[index]}));
}

size_t Node::size() const { return is_map() || is_sequence() ? impl_->node.size() : 0; }

std::vector<std::pair<Node, Node>> Node::entries() const {
  std::vector<std::pair<Node, Node>> out;
  if (!is_map()) return out;
  for (const auto& entry : impl_->node)
    out.emplace_back(Node(std::make_unique<Impl>(Impl{entry.first})),
                     Node(std::make_unique<Impl>(Impl{entry.second})));
  return out;
}

std::optional<int64_t> Node::as_int64() const {
  int64_t value = 0;
  if (!is_scalar() || !YAML::convert<int64_t>::decode(impl_->node, value)) return std::nullopt;
  return value;
}

std::optional<bool> Node::as_bool() const {
  bool value = false;
  if (!is_scalar() || !YAML::convert<bool>::decode(impl_->node, value)) return std::nullopt;
  return value;
}

}  // namespace sluice::config
