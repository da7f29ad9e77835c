// sluice::Error — the one exception type for failures a user can cause or needs to read.
// Its message is a complete, one-line sentence with context (file, key, record, what was expected);
// callers at process and request boundaries catch it and print or return it as-is.
//
// sluice::SystemError — the system's own failure (disk full, I/O error, out of memory, a low-disk
// threshold reached), as opposed to a bad input or request. It is retryable: the operation left no
// trace, and trying again after the cause has gone succeeds. It is never a reason to quarantine
// input; over HTTP it is 503 with Retry-After.
#pragma once

#include <cerrno>
#include <cstring>
#include <stdexcept>
#include <string>

namespace sluice {

class Error : public std::runtime_error {
 public:
  explicit Error(const std::string& message) : std::runtime_error(message) {}
};

class SystemError : public Error {
 public:
  using Error::Error;
};

// True for errno values that mean the system, not the caller, failed: no space, quota, I/O errors,
// no memory, too many open files. Callers that turn an errno into an exception throw SystemError for
// these and Error for the rest.
inline bool is_system_errno(int e) {
  switch (e) {
    case ENOSPC:
    case EDQUOT:
    case EIO:
    case ENOMEM:
    case EMFILE:
    case ENFILE:
    case EROFS:  // a file system remounted read-only after an error
    case EFBIG:
      return true;
    default:
      return false;
  }
}

// Throws for the errno of a failed call: SystemError when the system failed (is_system_errno),
// Error otherwise. `what` says what was being done, with the file: "cannot write /x/y".
[[noreturn]] inline void throw_errno(const std::string& what, int error) {
  const std::string message = what + ": " + std::strerror(error);
  if (is_system_errno(error)) throw SystemError(message);
  throw Error(message);
}

}  // namespace sluice
