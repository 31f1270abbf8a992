// A progress bar on stderr. On a terminal it redraws one line in place (at most 10 times a second);
// when stderr is a pipe or file it prints a plain line every few seconds, so logs stay readable;
// with --quiet it prints nothing.
//
//   generate  45% |██████████▌            | 259/576 [00:12<00:15, 20.61 tok/s] cfg 5
#pragma once

#include <cstdint>
#include <string>

#include "core/timer.hpp"

namespace januskit {

struct ProgressState {
  std::string label;
  std::string unit = "it";
  int64_t done = 0;
  int64_t total = 0;  // 0 or less: unknown total (no bar, no ETA)
  // Progress beyond `done` in units (e.g. 0.4 of an image whose batch is 40% through its steps): moves
  // the bar, the rate and the ETA between whole units; the counter still shows whole units.
  double partial = 0;
  double elapsed_s = 0;
  std::string postfix;  // free text after the counters, e.g. "loss 1.234"
};

// The line for a state, fitted into `columns` characters (the bar shrinks first).
std::string format_progress(const ProgressState& state, int columns);

enum class ProgressMode { automatic, terminal, lines, silent };

class ProgressBar {
 public:
  // automatic: silent under --quiet, redraws on a TTY, lines otherwise.
  ProgressBar(int64_t total, std::string label, std::string unit = "it",
              ProgressMode mode = ProgressMode::automatic);
  ~ProgressBar();
  ProgressBar(const ProgressBar&) = delete;
  ProgressBar& operator=(const ProgressBar&) = delete;

  void advance(int64_t n = 1) { update(state_.done + n); }
  void update(int64_t done, double partial = 0);
  void set_postfix(std::string postfix);
  // Draws the final state and ends the line; later calls do nothing.
  void finish();

  double elapsed_seconds() const { return clock_.seconds(); }

 private:
  void draw(bool final_draw);

  ProgressState state_;
  ProgressMode mode_;
  Stopwatch clock_;
  double last_draw_s_ = -1e9;
  bool finished_ = false;
};

}  // namespace januskit
