#include "core/error.hpp"

namespace januskit {

std::string format_error_line(std::string_view message) {
  std::string line = "error: ";
  bool pending_separator = false;
  for (char c : message) {
    if (c == '\n' || c == '\r') {
      pending_separator = true;
      continue;
    }
    if (pending_separator) {
      // Fold embedded line breaks: the contract is exactly one line on stderr.
      while (!line.empty() && line.back() == ' ') line.pop_back();
      line += "; ";
      pending_separator = false;
    }
    line += c;
  }
  if (line == "error: ") line += "unknown error";
  return line;
}

int exit_code_for(const std::exception& e) {
  return dynamic_cast<const UsageError*>(&e) != nullptr ? 2 : 1;
}

}  // namespace januskit
