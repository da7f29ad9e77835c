#include "config/keys.h"

#include <stdexcept>

namespace sluice::config {

const KeySpec& Section::operator[](std::string_view name) const {
  for (const auto& key : keys)
    if (key.name == name) return key;
  throw std::logic_error("the key table has no key \"" + std::string(name) + "\"");
}

std::vector<std::string> Section::names() const {
  std::vector<std::string> out;
  for (const auto& key : keys) out.emplace_back(key.name);
  return out;
}

}  // namespace sluice::config
