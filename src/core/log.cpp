#include "core/log.hpp"

#include <atomic>
#include <cstdio>
#include <string>

#include "core/terminal.hpp"

namespace januskit {
namespace {
std::atomic<Verbosity> g_verbosity{Verbosity::normal};

void write_line(std::string_view prefix, std::string_view message) {
  // Make room if a progress bar is drawn on this line, then print the whole line in one write.
  std::string line;
  line.reserve(prefix.size() + message.size() + 8);
  if (stderr_is_tty()) line += "\r\x1b[2K";
  line += prefix;
  line += message;
  line += '\n';
  std::fwrite(line.data(), 1, line.size(), stderr);
  std::fflush(stderr);
}
}  // namespace

void set_verbosity(Verbosity v) { g_verbosity = v; }
Verbosity verbosity() { return g_verbosity; }

namespace log {
void info(std::string_view message) {
  if (verbosity() >= Verbosity::normal) write_line("", message);
}
void debug(std::string_view message) {
  if (verbosity() >= Verbosity::verbose) write_line("[debug] ", message);
}
void warn(std::string_view message) { write_line("warning: ", message); }
}  // namespace log

}  // namespace januskit
