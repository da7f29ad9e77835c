// A depth limit for JSON that comes from outside (HTTP bodies), checked before any parser sees it.
//
// Why: nlohmann::json (3.11.2, Debian 12) parses and destroys without recursion, but copying a value
// (e.g. json::value(key, default), which returns a copy), comparing it and dump() recurse once per
// level; about 70,000 levels of [ overflow an 8 MB thread stack. Other parsers and walkers have the
// same hazard. Every endpoint that parses a JSON body calls parse_json_limited (or checks
// json_depth_problem first), so nothing deeper than a few dozen levels is ever built.
#pragma once

#include <cstddef>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>

#include "common/error.h"

namespace sluice {

// The reason `text` is refused when arrays and objects ([ and {) nest deeper than `max_depth`:
// "the body nests deeper than 64 levels at byte N", N being the 0-based offset of the first bracket
// beyond the limit; nullopt otherwise. One pass, no recursion, constant memory; brackets inside
// strings (escapes included) do not count. It does not validate anything else: unbalanced or
// malformed JSON is left to the parser. Never throws (but for std::bad_alloc building the reason).
inline std::optional<std::string> json_depth_problem(std::string_view text, size_t max_depth = 64) {
  size_t depth = 0;
  bool in_string = false;
  for (size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (in_string) {
      if (c == '\\') {
        ++i;  // the escaped character, whatever it is, cannot end the string
      } else if (c == '"') {
        in_string = false;
      }
      continue;
    }
    switch (c) {
      case '"':
        in_string = true;
        break;
      case '[':
      case '{':
        if (++depth > max_depth) {
          return "the body nests deeper than " + std::to_string(max_depth) + " levels at byte " +
                 std::to_string(i);
        }
        break;
      case ']':
      case '}':
        if (depth > 0) --depth;
        break;
      default:
        break;
    }
  }
  return std::nullopt;
}

// Parses `text` as one JSON document after checking its depth. Throws sluice::Error with a one-line
// message: "the body nests deeper than 64 levels at byte N" or "the body is not JSON: <parser's
// reason>" (at most about 200 characters of it, bytes outside printable ASCII shown as '?').
inline nlohmann::json parse_json_limited(std::string_view text, size_t max_depth = 64) {
  if (auto problem = json_depth_problem(text, max_depth)) throw Error(*problem);
  try {
    return nlohmann::json::parse(text);
  } catch (const nlohmann::json::parse_error& e) {
    // The parser quotes what it last read: keep the reason short, printable ASCII and one line.
    std::string reason = e.what();
    if (reason.size() > 200) reason = reason.substr(0, 200) + "...";
    for (char& c : reason) {
      if (static_cast<unsigned char>(c) < 0x20 || static_cast<unsigned char>(c) >= 0x7f) c = '?';
    }
    throw Error("the body is not JSON: " + reason);
  }
}

}  // namespace sluice
