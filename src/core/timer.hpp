// Wall-clock timing for every number the user sees (tokens/s, images/min, load time).
#pragma once

#include <chrono>
#include <string>
#include <string_view>

namespace januskit {

class Stopwatch {
 public:
  Stopwatch() : start_(clock::now()) {}
  void restart() { start_ = clock::now(); }
  double seconds() const { return std::chrono::duration<double>(clock::now() - start_).count(); }
  double milliseconds() const { return seconds() * 1e3; }

 private:
  using clock = std::chrono::steady_clock;
  clock::time_point start_;
};

// "00:07", "12:34", "1:02:03"; "--:--" for unknown (negative or not finite).
std::string format_duration(double seconds);
// "0.42 s", "12.3 s", "2 min 05 s": a duration for a message.
std::string format_seconds(double seconds);
// "3.61 tok/s", or the inverse "2.50 s/tok" when slower than one per second, as tqdm does.
std::string format_rate(double per_second, std::string_view unit);
// count / seconds, 0 when no time has passed.
double rate(double count, double seconds);

}  // namespace januskit
