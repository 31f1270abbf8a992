#include "text/unicode_additions.hpp"

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <map>
#include <vector>

#include "text/utf8.hpp"

namespace januskit::text {
namespace {

struct Range {
  const char* property;
  char32_t first, last;
};

constexpr Range kAdditions[] = {
#include "text/unicode_additions.inc"
};

struct Tables {
  std::map<std::string, std::string, std::less<>> classes;
  std::map<std::string, std::vector<std::pair<char32_t, char32_t>>, std::less<>> ranges;
  std::vector<uint64_t> any;  // bitmap over all code points: in some addition
  char32_t lowest = 0x110000;

  Tables() : any(0x110000 / 64, 0) {
    for (const Range& r : kAdditions) {
      lowest = std::min(lowest, r.first);
      for (char32_t c = r.first; c <= r.last; ++c) any[c / 64] |= uint64_t{1} << (c % 64);
      char item[40];
      if (r.first == r.last) std::snprintf(item, sizeof item, "\\x{%X}", static_cast<unsigned>(r.first));
      else std::snprintf(item, sizeof item, "\\x{%X}-\\x{%X}", static_cast<unsigned>(r.first), static_cast<unsigned>(r.last));
      classes[r.property] += item;
      ranges[r.property].emplace_back(r.first, r.last);
    }
  }
};

const Tables& tables() {
  static const Tables t;
  return t;
}

}  // namespace

const std::string& pcre2_class_additions(std::string_view property) {
  static const std::string empty;
  auto it = tables().classes.find(property);
  return it == tables().classes.end() ? empty : it->second;
}

bool has_unicode_additions(std::string_view text) {
  const Tables& t = tables();
  size_t i = 0;
  while (i < text.size()) {
    if (static_cast<unsigned char>(text[i]) < 0x80) {
      ++i;
      continue;
    }
    char32_t cp = utf8::next(text, i);
    if (cp >= t.lowest && (t.any[cp / 64] >> (cp % 64) & 1)) return true;
  }
  return false;
}

bool in_unicode_additions(std::string_view property, char32_t cp) {
  auto it = tables().ranges.find(property);
  if (it == tables().ranges.end()) return false;
  const auto& v = it->second;  // sorted by the generator
  auto pos = std::upper_bound(v.begin(), v.end(), cp, [](char32_t c, const auto& r) { return c < r.first; });
  return pos != v.begin() && cp <= std::prev(pos)->second;
}

}  // namespace januskit::text
