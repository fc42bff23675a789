// arlt::Error — the one exception type for bad input and runtime failures.
// The message names the file, key or field, what was found and what was expected.
#pragma once
#include <stdexcept>
#include <string>

namespace arlt {

class Error : public std::runtime_error {
 public:
  // exit_code 2: the user's input is wrong; 1: a runtime failure (I/O, out of memory, ...).
  explicit Error(const std::string& message, int exit_code = 2)
      : std::runtime_error(message), exit_code_(exit_code) {}
  int exit_code() const { return exit_code_; }

 private:
  int exit_code_;
};

// A runtime failure that is not the user's input's fault (exit code 1).
inline Error runtime_failure(const std::string& message) { return Error(message, 1); }

}  // namespace arlt
