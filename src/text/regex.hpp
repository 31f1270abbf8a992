// Regular expressions of tokenizer.json pre-tokenizers, run with PCRE2 (UTF + UCP, JIT).
//
// Design note: the reference compiles these patterns with Oniguruma (Ruby syntax), whose classes
// differ from PCRE2's in ways that change token ids:
//   \s  Oniguruma: Unicode White_Space (includes U+0085, excludes U+FEFF)   -> \p{White_Space}
//   \S                                                                      -> \P{White_Space}
//   \w  Oniguruma: Alphabetic | Mark | Number | Connector_Punctuation
//       (PCRE2 10.42: letters, numbers and '_' only)                        -> explicit properties
//   \h  Oniguruma: a hexadecimal digit (PCRE2: horizontal space)            -> [0-9a-fA-F]
//   \uHHHH (Ruby escape, unknown to PCRE2)                                  -> \x{HHHH}
//   ^ and $ match at line boundaries in Ruby syntax                         -> PCRE2_MULTILINE
// The rewrite is done once, when the pattern is compiled; constructs that cannot be expressed
// faithfully (\W, \H inside a bracket class, nested classes, POSIX bracket classes) are rejected
// with an error rather than silently matching something else. `(?i:...)` and `\p{...}` classes
// behave alike in both engines (checked by the differential tests against the Rust crate).
//
// Matching follows the reference's iteration (onig's find_iter): successive leftmost matches; an
// empty match advances by one character, and an empty match is dropped once after a non-empty one.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

struct pcre2_real_code_8;

namespace januskit::text {

// Rewrites an Oniguruma (Ruby syntax) pattern into an equivalent PCRE2 pattern; throws
// januskit::Error naming the construct it cannot translate.
std::string translate_oniguruma(std::string_view pattern);

class Regex {
 public:
  using Match = std::pair<uint32_t, uint32_t>;  // [begin, end) byte offsets

  // A pattern as written in tokenizer.json (Oniguruma syntax). Throws januskit::Error.
  static Regex oniguruma(std::string_view pattern);
  // A literal string (Split with a "String" pattern).
  static Regex literal(std::string_view text);

  // Appends every match in `subject` (valid UTF-8; at most 4 GiB) to `out`.
  void find_all(std::string_view subject, std::vector<Match>& out) const;

  const std::string& source() const { return source_; }

 private:
  static Regex compile(std::string_view source, std::string_view pcre_pattern, uint32_t options);

  std::shared_ptr<pcre2_real_code_8> code_;
  std::string source_;
  bool jit_ = false;
};

}  // namespace januskit::text
