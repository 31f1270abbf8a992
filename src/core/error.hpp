// Error types of januskit. Library code throws; the CLI turns an exception into one `error: …` line
// and an exit code (1, or 2 for usage errors). Messages name the file or flag and say what to do.
#pragma once

#include <sstream>
#include <stdexcept>
#include <string>
#include <string_view>

namespace januskit {

// Any failure the user can act on: a bad file, a wrong config, an unsupported model, no device.
class Error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// A flag or argument with a value that cannot be used (exit code 2, like a parse error).
class UsageError : public Error {
 public:
  using Error::Error;
};

// Concatenates its arguments with operator<< (g++ 12 has no <format>).
template <typename... Args>
std::string cat(const Args&... args) {
  std::ostringstream out;
  (out << ... << args);
  return out.str();
}

// "PATH: PROBLEM" — the shape of every file error, so the user always sees which file is meant.
class FileError : public Error {
 public:
  FileError(std::string_view path, std::string_view problem)
      : Error(cat(path, ": ", problem)) {}
};

// One line for the terminal: "error: " + the message with newlines folded into "; ".
std::string format_error_line(std::string_view message);

// Exit code the CLI uses for an exception: 2 for UsageError, 1 for everything else.
int exit_code_for(const std::exception& e);

}  // namespace januskit
