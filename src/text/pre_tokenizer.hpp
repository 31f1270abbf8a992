// tokenizer.json pre-tokenizers: Split (regex or literal, all five behaviours, invert), Digits,
// ByteLevel (optional prefix space and the built-in GPT-2 regex), and Sequence of them.
//
// Design note: a pre-tokenizer turns one span of text (between added tokens) into pre-tokens, each
// of which BPE encodes independently. Pre-tokens are string_views into the caller's text; only
// ByteLevel's add_prefix_space creates new text, kept in the Workspace. ByteLevel's byte -> alphabet
// mapping is not materialised: BPE runs on raw bytes (see byte_level.hpp), so ByteLevel must be the
// last step, which every byte-level tokenizer.json in use satisfies (the loader checks it).
#pragma once

#include <deque>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "text/regex.hpp"

namespace januskit::text {

// How a Split treats the pieces its pattern matches (the reference's SplitDelimiterBehavior).
enum class SplitBehavior { removed, isolated, merged_with_previous, merged_with_next, contiguous };

class PreTokenizer {
 public:
  struct Workspace {
    std::vector<std::string_view> current, next;
    std::vector<Regex::Match> matches;
    struct Span {
      uint32_t begin, end;
      bool flag;
    };
    std::vector<Span> spans, merged;
    std::deque<std::string> owned;  // text created by add_prefix_space (deque: views stay valid)
  };

  void add_split(Regex regex, SplitBehavior behavior, bool invert);
  void add_digits(bool individual_digits);
  void add_byte_level(bool add_prefix_space, bool use_regex);

  // True when the last step is ByteLevel: BPE then works on bytes.
  bool byte_level() const { return byte_level_; }
  bool empty() const { return steps_.empty(); }

  // Splits `text` into pre-tokens appended to `out` (views into `text` or `ws.owned`).
  // `recent_characters`: see Regex::find_all (false only when has_unicode_additions(text) is false).
  void run(std::string_view text, Workspace& ws, std::vector<std::string_view>& out, bool recent_characters = true) const;

 private:
  struct SplitStep {
    Regex regex;
    SplitBehavior behavior;
    bool invert;
  };
  struct DigitsStep {
    bool individual;
  };
  struct ByteLevelStep {
    bool add_prefix_space;
    bool use_regex;
  };
  using Step = std::variant<SplitStep, DigitsStep, ByteLevelStep>;

  void apply(const Step& step, std::string_view piece, Workspace& ws, std::vector<std::string_view>& out,
             bool recent_characters) const;

  std::vector<Step> steps_;
  bool byte_level_ = false;
};

// Applies a split behaviour to spans that cover a piece in order (flag = matched by the pattern)
// and appends the resulting non-empty pieces of `piece` to `out`.
void apply_split_behavior(std::string_view piece, const std::vector<PreTokenizer::Workspace::Span>& spans,
                          SplitBehavior behavior, std::vector<PreTokenizer::Workspace::Span>& scratch,
                          std::vector<std::string_view>& out);

}  // namespace januskit::text
