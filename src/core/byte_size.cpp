#include "core/byte_size.hpp"

#include <cctype>
#include <charconv>
#include <cmath>
#include <iomanip>
#include <map>
#include <sstream>

#include "core/error.hpp"

namespace januskit {

namespace {

std::string fixed(double v, int digits) {
  std::ostringstream out;
  out << std::fixed << std::setprecision(digits) << v;
  return out.str();
}

}  // namespace

uint64_t parse_size(std::string_view text, std::string_view flag) {
  auto bad = [&]() -> UsageError {
    return UsageError(cat(flag, ": expected a size such as 5GB, 500MB, 2GiB or a byte count, got '", text, "'"));
  };
  size_t split = 0;
  while (split < text.size() && (std::isdigit(static_cast<unsigned char>(text[split])) || text[split] == '.')) ++split;
  if (split == 0) throw bad();
  double value = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + split, value);
  if (ec != std::errc() || end != text.data() + split) throw bad();
  std::string unit(text.substr(split));
  for (char& c : unit) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  static const std::map<std::string, double> kUnits = {
      {"", 1},      {"B", 1},          {"KB", 1e3},       {"MB", 1e6},       {"GB", 1e9},       {"TB", 1e12},
      {"K", 1e3},   {"M", 1e6},        {"G", 1e9},        {"KIB", 1024.0},   {"MIB", 1048576.0}, {"GIB", 1073741824.0},
      {"TIB", 1099511627776.0}};
  auto it = kUnits.find(unit);
  if (it == kUnits.end()) throw bad();
  const double bytes = std::floor(value * it->second);
  if (!(bytes >= 1) || bytes > 1e18) throw UsageError(cat(flag, ": ", text, " is not a usable size (at least 1 byte)"));
  return static_cast<uint64_t>(bytes);
}

std::string format_bytes(uint64_t bytes) {
  static const char* kUnits[] = {"B", "kB", "MB", "GB", "TB", "PB"};
  if (bytes < 1000) return cat(bytes, " B");
  double v = static_cast<double>(bytes);
  int unit = 0;
  while (v >= 1000 && unit < 5) {
    v /= 1000;
    ++unit;
  }
  return cat(fixed(v, 2), " ", kUnits[unit]);
}

}  // namespace januskit
