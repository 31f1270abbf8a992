#include "text/pre_tokenizer.hpp"

#include <utf8proc.h>

#include <algorithm>

#include "core/error.hpp"
#include "text/unicode_additions.hpp"
#include "text/utf8.hpp"

namespace januskit::text {
namespace {

using Span = PreTokenizer::Workspace::Span;

// ByteLevel's built-in split (GPT-2's pattern), used when its use_regex is set.
const Regex& gpt2_regex() {
  static const Regex re =
      Regex::oniguruma(R"('s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+)");
  return re;
}

// Rust's char::is_numeric: general category Nd, Nl or No (utf8proc's tables, plus the numbers of
// later Unicode versions the reference knows).
bool is_numeric(char32_t cp) {
  if (cp < 0x80) return cp >= '0' && cp <= '9';
  auto cat = utf8proc_category(static_cast<utf8proc_int32_t>(cp));
  return cat == UTF8PROC_CATEGORY_ND || cat == UTF8PROC_CATEGORY_NL || cat == UTF8PROC_CATEGORY_NO ||
         in_unicode_additions("N", cp);
}

// Spans covering `piece`: the matches (flag = true) and the text between them (flag = false).
void spans_from_matches(std::string_view piece, const std::vector<Regex::Match>& matches, bool invert,
                        std::vector<Span>& spans) {
  spans.clear();
  uint32_t prev = 0;
  for (auto [b, e] : matches) {
    if (prev != b) spans.push_back({prev, b, invert});
    spans.push_back({b, e, !invert});
    prev = e;
  }
  if (prev != piece.size()) spans.push_back({prev, static_cast<uint32_t>(piece.size()), invert});
}

// Spans of `piece` for a per-character predicate: every numeric character is its own match.
void spans_from_digits(std::string_view piece, std::vector<Span>& spans) {
  spans.clear();
  uint32_t last = 0;
  size_t i = 0;
  while (i < piece.size()) {
    uint32_t begin = static_cast<uint32_t>(i);
    char32_t cp = utf8::next(piece, i);
    if (!is_numeric(cp)) continue;
    if (last < begin) spans.push_back({last, begin, false});
    spans.push_back({begin, static_cast<uint32_t>(i), true});
    last = static_cast<uint32_t>(i);
  }
  if (last < piece.size()) spans.push_back({last, static_cast<uint32_t>(piece.size()), false});
}

}  // namespace

void apply_split_behavior(std::string_view piece, const std::vector<Span>& spans, SplitBehavior behavior,
                          std::vector<Span>& merged, std::vector<std::string_view>& out) {
  // `merged` holds (begin, end, remove) after the behaviour; empty pieces are dropped at the end,
  // exactly like the reference, so empty matches still take part in the merging decisions.
  merged.clear();
  switch (behavior) {
    case SplitBehavior::isolated:
      for (const Span& s : spans) merged.push_back({s.begin, s.end, false});
      break;
    case SplitBehavior::removed:
      merged = spans;
      break;
    case SplitBehavior::contiguous: {
      bool previous = false;
      for (const Span& s : spans) {
        if (s.flag == previous && !merged.empty()) merged.back().end = s.end;
        else merged.push_back({s.begin, s.end, false});
        previous = s.flag;
      }
      break;
    }
    case SplitBehavior::merged_with_previous: {
      bool previous = false;
      for (const Span& s : spans) {
        if (s.flag && !previous && !merged.empty()) merged.back().end = s.end;
        else merged.push_back({s.begin, s.end, false});
        previous = s.flag;
      }
      break;
    }
    case SplitBehavior::merged_with_next: {
      bool previous = false;
      for (auto it = spans.rbegin(); it != spans.rend(); ++it) {
        if (it->flag && !previous && !merged.empty()) merged.back().begin = it->begin;
        else merged.push_back({it->begin, it->end, false});
        previous = it->flag;
      }
      std::reverse(merged.begin(), merged.end());
      break;
    }
  }
  for (const Span& s : merged) {
    if (!s.flag && s.end > s.begin) out.push_back(piece.substr(s.begin, s.end - s.begin));
  }
}

void PreTokenizer::add_split(Regex regex, SplitBehavior behavior, bool invert) {
  if (byte_level_) throw Error("a Split after ByteLevel is not supported (ByteLevel must be the last pre-tokenizer)");
  steps_.push_back(SplitStep{std::move(regex), behavior, invert});
}

void PreTokenizer::add_digits(bool individual_digits) {
  if (byte_level_) throw Error("Digits after ByteLevel is not supported (ByteLevel must be the last pre-tokenizer)");
  steps_.push_back(DigitsStep{individual_digits});
}

void PreTokenizer::add_byte_level(bool add_prefix_space, bool use_regex) {
  if (byte_level_) throw Error("ByteLevel appears twice in the pre-tokenizer");
  steps_.push_back(ByteLevelStep{add_prefix_space, use_regex});
  byte_level_ = true;
}

void PreTokenizer::apply(const Step& step, std::string_view piece, Workspace& ws, std::vector<std::string_view>& out,
                         bool recent_characters) const {
  if (const auto* split = std::get_if<SplitStep>(&step)) {
    ws.matches.clear();
    split->regex.find_all(piece, ws.matches, recent_characters);
    spans_from_matches(piece, ws.matches, split->invert, ws.spans);
    apply_split_behavior(piece, ws.spans, split->behavior, ws.merged, out);
  } else if (const auto* digits = std::get_if<DigitsStep>(&step)) {
    spans_from_digits(piece, ws.spans);
    apply_split_behavior(piece, ws.spans, digits->individual ? SplitBehavior::isolated : SplitBehavior::contiguous,
                         ws.merged, out);
  } else {
    const auto& bl = std::get<ByteLevelStep>(step);
    if (bl.add_prefix_space && piece.front() != ' ') {
      ws.owned.push_back(" ");
      ws.owned.back().append(piece);
      piece = ws.owned.back();
    }
    if (!bl.use_regex) {
      out.push_back(piece);
      return;
    }
    ws.matches.clear();
    gpt2_regex().find_all(piece, ws.matches, recent_characters);
    spans_from_matches(piece, ws.matches, false, ws.spans);
    apply_split_behavior(piece, ws.spans, SplitBehavior::isolated, ws.merged, out);
  }
}

void PreTokenizer::run(std::string_view text, Workspace& ws, std::vector<std::string_view>& out,
                       bool recent_characters) const {
  if (text.empty()) return;
  if (steps_.empty()) {
    out.push_back(text);
    return;
  }
  // Each step re-splits every piece of the previous one; the last step writes straight into `out`.
  ws.current.assign(1, text);
  for (size_t k = 0; k < steps_.size(); ++k) {
    bool last = k + 1 == steps_.size();
    std::vector<std::string_view>& target = last ? out : ws.next;
    if (!last) ws.next.clear();
    for (std::string_view piece : ws.current) apply(steps_[k], piece, ws, target, recent_characters);
    if (!last) std::swap(ws.current, ws.next);
  }
}

}  // namespace januskit::text
