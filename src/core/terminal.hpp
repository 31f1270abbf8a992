// What kind of stream stdout/stderr are: progress bars redraw in place and reasoning is dimmed only
// on a terminal; pipes and files get plain lines.
#pragma once

namespace januskit {

bool stderr_is_tty();
bool stdout_is_tty();
// Width of the terminal on stderr, or 80 when unknown.
int terminal_columns();

}  // namespace januskit
