// sluice::Error — the one exception type for failures a user can cause or needs to read.
// Its message is a complete, one-line sentence with context (file, key, record, what was expected);
// callers at process and request boundaries catch it and print or return it as-is.
#pragma once

#include <stdexcept>
#include <string>

namespace sluice {

class Error : public std::runtime_error {
 public:
  explicit Error(const std::string& message) : std::runtime_error(message) {}
};

}  // namespace sluice
