// Test helper: the names and Glue types of catalogued columns, for assertions.
#pragma once

#include <string>
#include <vector>

#include "catalog/schema.h"

namespace sluice::catalog {

inline std::vector<std::string> names(const std::vector<Column>& columns) {
  std::vector<std::string> out;
  for (const auto& c : columns) out.push_back(c.name);
  return out;
}

inline std::vector<std::string> types(const std::vector<Column>& columns) {
  std::vector<std::string> out;
  for (const auto& c : columns) out.push_back(glue_type(c.type));
  return out;
}

}  // namespace sluice::catalog
