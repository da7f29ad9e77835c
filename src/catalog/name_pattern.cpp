#include "catalog/name_pattern.h"

#include <algorithm>
#include <cctype>
#include <string>
#include <vector>

namespace sluice::catalog {
namespace {

// Whether `name` matches `pattern` whole, case-insensitively: '*' (or ".*") any characters, '.' any
// one character, anything else itself. A dynamic programme over both strings, so no pattern can make
// a request slow (a regular expression engine can backtrack exponentially).
bool glob_match(std::string_view pattern, std::string_view name) {
  std::vector<std::string> tokens;  // "*", ".", or one literal character
  for (size_t i = 0; i < pattern.size(); ++i) {
    if (pattern[i] == '*' || (pattern[i] == '.' && i + 1 < pattern.size() && pattern[i + 1] == '*')) {
      if (pattern[i] == '.') ++i;
      if (tokens.empty() || tokens.back() != "*") tokens.emplace_back("*");
    } else {
      tokens.emplace_back(1, pattern[i]);
    }
  }
  // matched[j]: the tokens so far match name[0, j).
  std::vector<char> matched(name.size() + 1, 0), next(name.size() + 1, 0);
  matched[0] = 1;
  for (const auto& token : tokens) {
    std::fill(next.begin(), next.end(), 0);
    for (size_t j = 0; j <= name.size(); ++j) {
      if (token == "*") {
        next[j] = matched[j] || (j > 0 && next[j - 1]);
      } else if (j > 0 && matched[j - 1]) {
        next[j] = token == "." || std::tolower(static_cast<unsigned char>(token[0])) ==
                                      std::tolower(static_cast<unsigned char>(name[j - 1]));
      }
    }
    matched.swap(next);
  }
  return matched[name.size()];
}

}  // namespace

bool name_matches(std::string_view expression, std::string_view name) {
  size_t begin = 0;
  for (;;) {
    const size_t bar = expression.find('|', begin);
    if (glob_match(expression.substr(begin, bar - begin), name)) return true;
    if (bar == std::string_view::npos) return false;
    begin = bar + 1;
  }
}

}  // namespace sluice::catalog
