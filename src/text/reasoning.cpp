#include "text/reasoning.hpp"

#include <vector>

#include "text/chat.hpp"

namespace januskit::text {
namespace {

bool is_line_break(char c) { return c == '\n' || c == '\r'; }
bool is_ascii_space(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v'; }
bool is_digit(char c) { return c >= '0' && c <= '9'; }

bool is_alnum(char c) { return is_digit(c) || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }

// "1,234": a comma followed by exactly three digits groups thousands.
bool is_thousands_group(std::string_view s, size_t comma) {
  if (comma + 3 >= s.size()) return false;
  if (!is_digit(s[comma + 1]) || !is_digit(s[comma + 2]) || !is_digit(s[comma + 3])) return false;
  return comma + 4 == s.size() || !is_digit(s[comma + 4]);
}

// A '-' right before the digit at `digit` that is a sign, not a hyphen or a minus between terms.
bool is_negative_sign_before(std::string_view s, size_t digit) {
  if (digit == 0 || s[digit - 1] != '-') return false;
  return digit == 1 || !is_alnum(s[digit - 2]);
}

std::string_view trim_line_breaks(std::string_view s, bool front, bool back) {
  while (front && !s.empty() && is_line_break(s.front())) s.remove_prefix(1);
  while (back && !s.empty() && is_line_break(s.back())) s.remove_suffix(1);
  return s;
}

std::string_view trim_ascii(std::string_view s) {
  while (!s.empty() && is_ascii_space(s.front())) s.remove_prefix(1);
  while (!s.empty() && is_ascii_space(s.back())) s.remove_suffix(1);
  return s;
}

// The argument of the \boxed{ whose '{' is at `open`, or nullopt when its braces never close.
std::optional<std::string_view> box_argument(std::string_view text, size_t open) {
  int depth = 0;
  for (size_t i = open; i < text.size(); ++i) {
    char c = text[i];
    if (c == '\\' && i + 1 < text.size() && (text[i + 1] == '{' || text[i + 1] == '}')) {
      ++i;  // an escaped brace is content, not structure
      continue;
    }
    if (c == '{') {
      ++depth;
    } else if (c == '}' && --depth == 0) {
      return text.substr(open + 1, i - open - 1);
    }
  }
  return std::nullopt;
}

}  // namespace

ReasoningSplit split_reasoning(std::string_view generated, ReasoningStart start) {
  std::string_view rest = generated;
  size_t first = 0;
  while (first < rest.size() && is_ascii_space(rest[first])) ++first;
  const bool opens = rest.substr(first, kThinkOpen.size()) == kThinkOpen;
  if (start == ReasoningStart::none || (start == ReasoningStart::may_open && !opens)) {
    return {std::string(), std::string(trim_line_breaks(rest, true, false)), false, false};
  }
  if (opens) rest.remove_prefix(first + kThinkOpen.size());

  size_t close = rest.find(kThinkClose);
  if (close == std::string_view::npos) {
    return {std::string(trim_line_breaks(rest, true, true)), std::string(), false, true};
  }
  std::string_view reasoning = trim_line_breaks(rest.substr(0, close), true, true);
  std::string_view content = trim_line_breaks(rest.substr(close + kThinkClose.size()), true, false);
  return {std::string(reasoning), std::string(content), true, true};
}

std::optional<std::string> extract_boxed(std::string_view text) {
  constexpr std::string_view kBoxed = "\\boxed{";
  std::vector<size_t> starts;
  for (size_t pos = text.find(kBoxed); pos != std::string_view::npos; pos = text.find(kBoxed, pos + 1)) {
    starts.push_back(pos);
  }
  for (auto it = starts.rbegin(); it != starts.rend(); ++it) {
    if (auto arg = box_argument(text, *it + kBoxed.size() - 1)) return std::string(*arg);
  }
  return std::nullopt;
}

std::optional<std::string> final_answer(std::string_view content) {
  if (auto boxed = extract_boxed(content)) return std::string(trim_ascii(*boxed));
  // The last number: digits with optional thousands separators and one decimal part.
  std::optional<std::string> last;
  size_t i = 0;
  while (i < content.size()) {
    if (!is_digit(content[i])) {
      ++i;
      continue;
    }
    std::string number;
    if (is_negative_sign_before(content, i)) number += '-';
    bool seen_point = false;
    while (i < content.size()) {
      char c = content[i];
      if (is_digit(c)) {
        number += c;
      } else if (c == ',' && !seen_point && is_thousands_group(content, i)) {
        // a separator: skipped
      } else if (c == '.' && !seen_point && i + 1 < content.size() && is_digit(content[i + 1])) {
        seen_point = true;
        number += c;
      } else {
        break;
      }
      ++i;
    }
    last = std::move(number);
  }
  return last;
}

}  // namespace januskit::text
