// What the config component reports about a pipeline file: one Diagnostic per problem, rendered as
// "FILE:LINE:COLUMN: PATH: MESSAGE", and ConfigError carrying all of them at once.
#pragma once

#include <string>
#include <vector>

#include "common/error.h"

namespace sluice::config {

// One problem in the file (1-based line and column; 0 when the problem has no place, e.g. a file
// that cannot be read).
struct Diagnostic {
  std::string file;
  int line = 0;
  int column = 0;
  std::string path;  // e.g. "sources.users.timeout.total"
  std::string message;
  // "FILE:LINE:COLUMN: PATH: MESSAGE"; the place and the path are left out when unknown. Never throws
  // (but for memory).
  std::string to_string() const;
};

// Thrown by load/parse with every diagnostic found (not just the first); what() is all of them,
// one per line.
class ConfigError : public Error {
 public:
  explicit ConfigError(std::vector<Diagnostic> diagnostics);
  const std::vector<Diagnostic>& diagnostics() const { return diagnostics_; }

 private:
  std::vector<Diagnostic> diagnostics_;
};

}  // namespace sluice::config
