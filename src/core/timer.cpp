#include "core/timer.hpp"

#include <cmath>
#include <cstdio>

namespace januskit {

std::string format_duration(double seconds) {
  if (!std::isfinite(seconds) || seconds < 0) return "--:--";
  auto total = static_cast<long long>(seconds + 0.5);
  long long h = total / 3600, m = (total / 60) % 60, s = total % 60;
  char buf[32];
  if (h > 0) {
    std::snprintf(buf, sizeof buf, "%lld:%02lld:%02lld", h, m, s);
  } else {
    std::snprintf(buf, sizeof buf, "%02lld:%02lld", m, s);
  }
  return buf;
}

std::string format_seconds(double seconds) {
  char buf[48];
  if (!std::isfinite(seconds) || seconds < 0) return "? s";
  if (seconds < 10) {
    std::snprintf(buf, sizeof buf, "%.2f s", seconds);
  } else if (seconds < 120) {
    std::snprintf(buf, sizeof buf, "%.1f s", seconds);
  } else {
    std::snprintf(buf, sizeof buf, "%lld min %02lld s", static_cast<long long>(seconds) / 60,
                  static_cast<long long>(seconds) % 60);
  }
  return buf;
}

std::string format_rate(double per_second, std::string_view unit) {
  char buf[64];
  if (!std::isfinite(per_second) || per_second <= 0) {
    std::snprintf(buf, sizeof buf, "? %.*s/s", static_cast<int>(unit.size()), unit.data());
  } else if (per_second < 1.0) {
    std::snprintf(buf, sizeof buf, "%.2f s/%.*s", 1.0 / per_second, static_cast<int>(unit.size()), unit.data());
  } else {
    std::snprintf(buf, sizeof buf, "%.2f %.*s/s", per_second, static_cast<int>(unit.size()), unit.data());
  }
  return buf;
}

double rate(double count, double seconds) { return seconds > 0 ? count / seconds : 0.0; }

}  // namespace januskit
