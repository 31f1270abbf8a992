#include "text/added_tokens.hpp"

#include <utf8proc.h>

#include "text/unicode_additions.hpp"
#include "text/utf8.hpp"

namespace januskit::text {
namespace {

// The code point that ends at byte offset `end` of valid UTF-8 text (end > 0).
char32_t code_point_before(std::string_view text, size_t end) {
  size_t begin = end - 1;
  while (begin > 0 && (static_cast<unsigned char>(text[begin]) & 0xC0) == 0x80) --begin;
  return utf8::next(text, begin);
}

bool ends_with_word(std::string_view text, size_t end) { return end > 0 && is_word_char(code_point_before(text, end)); }

bool starts_with_word(std::string_view text, size_t begin) {
  if (begin >= text.size()) return false;
  return is_word_char(utf8::next(text, begin));
}

// Start of the run of White_Space that ends at `end`.
size_t whitespace_run_before(std::string_view text, size_t end) {
  while (end > 0) {
    size_t begin = end - 1;
    while (begin > 0 && (static_cast<unsigned char>(text[begin]) & 0xC0) == 0x80) --begin;
    size_t probe = begin;
    if (!utf8::is_white_space(utf8::next(text, probe))) break;
    end = begin;
  }
  return end;
}

// End of the run of White_Space that starts at `begin`.
size_t whitespace_run_after(std::string_view text, size_t begin) {
  while (begin < text.size()) {
    size_t next = begin;
    if (!utf8::is_white_space(utf8::next(text, next))) break;
    begin = next;
  }
  return begin;
}

}  // namespace

bool is_word_char(char32_t cp) {
  if (cp < 0x80) return (cp >= 'a' && cp <= 'z') || (cp >= 'A' && cp <= 'Z') || (cp >= '0' && cp <= '9') || cp == '_';
  if (cp == 0x200C || cp == 0x200D) return true;  // Join_Control
  // Other_Alphabetic symbols (circled and squared Latin letters) are Alphabetic but category So.
  if ((cp >= 0x24B6 && cp <= 0x24E9) || (cp >= 0x1F130 && cp <= 0x1F149) || (cp >= 0x1F150 && cp <= 0x1F169) ||
      (cp >= 0x1F170 && cp <= 0x1F189)) {
    return true;
  }
  switch (utf8proc_category(static_cast<utf8proc_int32_t>(cp))) {
    case UTF8PROC_CATEGORY_LU: case UTF8PROC_CATEGORY_LL: case UTF8PROC_CATEGORY_LT: case UTF8PROC_CATEGORY_LM:
    case UTF8PROC_CATEGORY_LO: case UTF8PROC_CATEGORY_MN: case UTF8PROC_CATEGORY_MC: case UTF8PROC_CATEGORY_ME:
    case UTF8PROC_CATEGORY_ND: case UTF8PROC_CATEGORY_NL: case UTF8PROC_CATEGORY_PC:
      return true;
    default:
      // Characters of later Unicode versions than utf8proc's tables.
      return in_unicode_additions("Alphabetic", cp) || in_unicode_additions("M", cp) || in_unicode_additions("Nd", cp);
  }
}

void AddedTokenMatcher::build(const std::vector<std::string>& patterns, const std::vector<const AddedToken*>& tokens) {
  tokens_ = tokens;
  edges_ = PairMap();
  node_token_.assign(1, -1);
  first_byte_.fill(false);
  for (size_t k = 0; k < patterns.size(); ++k) {
    const std::string& p = patterns[k];
    if (p.empty()) continue;  // the reference ignores empty added tokens
    first_byte_[static_cast<unsigned char>(p[0])] = true;
    uint32_t node = 0;
    for (unsigned char c : p) {
      uint64_t key = (static_cast<uint64_t>(node) << 8) | c;
      const PairMap::Value* child = edges_.find(key);
      if (child != nullptr) {
        node = child->rank;
      } else {
        uint32_t fresh = static_cast<uint32_t>(node_token_.size());
        node_token_.push_back(-1);
        edges_.insert(key, {fresh, 0});
        node = fresh;
      }
    }
    // A repeated pattern keeps its last token, as a later entry overwrites an earlier one.
    node_token_[node] = static_cast<int32_t>(k);
  }
}

AddedTokenMatcher::Found AddedTokenMatcher::longest_at(std::string_view text, size_t pos) const {
  Found found{pos, pos, -1};
  uint32_t node = 0;
  for (size_t i = pos; i < text.size(); ++i) {
    uint64_t key = (static_cast<uint64_t>(node) << 8) | static_cast<unsigned char>(text[i]);
    const PairMap::Value* child = edges_.find(key);
    if (child == nullptr) break;
    node = child->rank;
    if (node_token_[node] >= 0) {
      found.end = i + 1;
      found.token = node_token_[node];
    }
  }
  return found;
}

void AddedTokenMatcher::split(std::string_view text, std::vector<Segment>& out) const {
  if (tokens_.empty()) {
    if (!text.empty()) out.push_back({text, -1});
    return;
  }
  size_t emitted = 0;  // end of what is already in `out`
  size_t pos = 0;
  const size_t n = text.size();
  while (pos < n) {
    if (!first_byte_[static_cast<unsigned char>(text[pos])]) {
      ++pos;
      continue;
    }
    Found f = longest_at(text, pos);
    if (f.token < 0) {
      ++pos;
      continue;
    }
    pos = f.end;  // the automaton resumes after the match even when it is discarded below
    const AddedToken& tok = *tokens_[static_cast<size_t>(f.token)];
    size_t begin = f.begin, end = f.end;
    if (tok.single_word && (ends_with_word(text, begin) || starts_with_word(text, end))) continue;
    if (tok.lstrip) begin = std::max(whitespace_run_before(text, begin), emitted);
    if (tok.rstrip) end = whitespace_run_after(text, end);
    begin = std::max(begin, emitted);
    if (emitted < begin) out.push_back({text.substr(emitted, begin - emitted), -1});
    out.push_back({text.substr(begin, end - begin), tok.id});
    emitted = end;
    pos = std::max(pos, end);
  }
  if (emitted < n) out.push_back({text.substr(emitted), -1});
}

}  // namespace januskit::text
