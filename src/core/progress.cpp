#include "core/progress.hpp"

#include <algorithm>
#include <cstdio>

#include "core/log.hpp"
#include "core/terminal.hpp"

namespace januskit {
namespace {

constexpr double kTerminalRedrawInterval = 0.1;  // seconds between redraws on a TTY
constexpr double kLineInterval = 5.0;            // seconds between lines when not a TTY
constexpr int kMaxBarWidth = 40;

// Unicode eighth blocks give a smooth bar in eight steps per cell.
std::string bar_cells(double fraction, int width) {
  static const char* kEighths[] = {"", "▏", "▎", "▍", "▌", "▋", "▊", "▉"};
  fraction = std::clamp(fraction, 0.0, 1.0);
  int eighths = static_cast<int>(fraction * width * 8);
  int full = eighths / 8, partial = eighths % 8;
  std::string out;
  for (int i = 0; i < full; ++i) out += "█";
  int used = full;
  if (partial > 0 && used < width) {
    out += kEighths[partial];
    ++used;
  }
  out.append(static_cast<size_t>(width - used), ' ');
  return out;
}

}  // namespace

std::string format_progress(const ProgressState& s, int columns) {
  const bool known_total = s.total > 0;
  const double done = static_cast<double>(s.done) + std::max(0.0, s.partial);
  const double per_second = rate(done, s.elapsed_s);
  std::string counters;
  if (known_total) {
    double remaining = per_second > 0 ? std::max(0.0, s.total - done) / per_second : -1;
    counters = cat(s.done, "/", s.total, " [", format_duration(s.elapsed_s), "<", format_duration(remaining),
                   ", ", format_rate(per_second, s.unit), "]");
  } else {
    counters = cat(s.done, " ", s.unit, " [", format_duration(s.elapsed_s), ", ", format_rate(per_second, s.unit), "]");
  }
  if (!s.postfix.empty()) counters += " " + s.postfix;
  if (!known_total) return s.label.empty() ? counters : s.label + " " + counters;

  int percent = static_cast<int>(100.0 * std::clamp<double>(done, 0, s.total) / s.total);
  std::string head = cat(s.label.empty() ? "" : s.label + " ", percent < 10 ? "  " : percent < 100 ? " " : "",
                         percent, "% ");
  // Width in terminal cells: every string here is ASCII except the bar, which we size ourselves.
  int room = columns - static_cast<int>(head.size() + counters.size()) - 3;
  int width = std::min(kMaxBarWidth, room);
  if (width < 5) return head + counters;
  return head + "|" + bar_cells(done / s.total, width) + "| " + counters;
}

ProgressBar::ProgressBar(int64_t total, std::string label, std::string unit, ProgressMode mode) : mode_(mode) {
  state_.total = total;
  state_.label = std::move(label);
  state_.unit = std::move(unit);
  if (mode_ == ProgressMode::automatic) {
    if (verbosity() == Verbosity::quiet) {
      mode_ = ProgressMode::silent;
    } else {
      mode_ = stderr_is_tty() ? ProgressMode::terminal : ProgressMode::lines;
    }
  }
}

ProgressBar::~ProgressBar() {
  // An exception unwinding through a bar must not leave a half-drawn line behind on the terminal.
  if (!finished_ && mode_ == ProgressMode::terminal) std::fputs("\r\x1b[2K", stderr);
}

void ProgressBar::update(int64_t done, double partial) {
  if (finished_) return;
  state_.done = done;
  state_.partial = partial;
  draw(false);
}

void ProgressBar::set_postfix(std::string postfix) { state_.postfix = std::move(postfix); }

void ProgressBar::finish() {
  if (finished_) return;
  draw(true);
  finished_ = true;
}

void ProgressBar::draw(bool final_draw) {
  if (mode_ == ProgressMode::silent) return;
  const double now = clock_.seconds();
  const double interval = mode_ == ProgressMode::terminal ? kTerminalRedrawInterval : kLineInterval;
  if (!final_draw && now - last_draw_s_ < interval) return;
  last_draw_s_ = now;
  state_.elapsed_s = now;
  if (mode_ == ProgressMode::terminal) {
    std::string line = "\r\x1b[2K" + format_progress(state_, terminal_columns() - 1);
    if (final_draw) line += '\n';
    std::fputs(line.c_str(), stderr);
  } else {
    std::string line = format_progress(state_, 100) + "\n";
    std::fputs(line.c_str(), stderr);
  }
  std::fflush(stderr);
}

}  // namespace januskit
