#include "text/unicode_additions.hpp"

#include <algorithm>
#include <cstdio>
#include <map>
#include <vector>

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

  Tables() {
    for (const Range& r : kAdditions) {
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

bool in_unicode_additions(std::string_view property, char32_t cp) {
  auto it = tables().ranges.find(property);
  if (it == tables().ranges.end()) return false;
  const auto& v = it->second;  // sorted by the generator
  auto pos = std::upper_bound(v.begin(), v.end(), cp, [](char32_t c, const auto& r) { return c < r.first; });
  return pos != v.begin() && cp <= std::prev(pos)->second;
}

}  // namespace januskit::text
