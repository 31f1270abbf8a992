// Logging to stderr with three levels chosen by -q/--quiet and -v/--verbose. Results (answers, file
// names, JSON) go to stdout through the pipelines, never through here.
#pragma once

#include <string_view>

#include "core/error.hpp"

namespace januskit {

enum class Verbosity { quiet = 0, normal = 1, verbose = 2 };

void set_verbosity(Verbosity v);
Verbosity verbosity();

namespace log {
// Progress and status messages; hidden with --quiet.
void info(std::string_view message);
// Details for --verbose (load times, shapes, chosen kernels).
void debug(std::string_view message);
// Something the user should know even with --quiet (a fallback, an ignored setting).
void warn(std::string_view message);

template <typename... Args>
void info(const Args&... args) { if (verbosity() >= Verbosity::normal) info(std::string_view(cat(args...))); }
template <typename... Args>
void debug(const Args&... args) { if (verbosity() >= Verbosity::verbose) debug(std::string_view(cat(args...))); }
template <typename... Args>
void warn(const Args&... args) { warn(std::string_view(cat(args...))); }
}  // namespace log

}  // namespace januskit
