// Regular expressions of tokenizer.json pre-tokenizers, run with PCRE2 (UTF + UCP, JIT).
//
// Design note: the reference compiles these patterns with Oniguruma (Ruby syntax), whose classes
// differ from PCRE2's in ways that change token ids:
//   \s  Oniguruma: Unicode White_Space (includes U+0085, excludes U+FEFF)   -> \p{White_Space}
//   \S                                                                      -> \P{White_Space}
//   \w  Oniguruma: Alphabetic | Mark | Number | Connector_Punctuation
//       (PCRE2 10.42: letters, numbers and '_' only)                        -> explicit properties
//   \d  Decimal_Number                                                     -> \p{Nd}
//   \h  Oniguruma: a hexadecimal digit (PCRE2: horizontal space)            -> [0-9a-fA-F]
//   \uHHHH (Ruby escape, unknown to PCRE2)                                  -> \x{HHHH}
//   ^ and $ match at line boundaries in Ruby syntax                         -> PCRE2_MULTILINE
//   \p{L} \p{M} \p{N} \p{Nd} \p{P} \p{S} \p{Alphabetic}: Oniguruma has Unicode 16 tables, PCRE2
//       10.42 Unicode 14, so the characters assigned since are appended to the class
//       (unicode_additions.hpp), e.g. \p{S} -> [\p{S}\x{1FABF}...]
// The rewrite is done once, when the pattern is compiled; constructs that cannot be expressed
// faithfully (\W, \D, \H inside a bracket class, nested classes, POSIX bracket classes) are rejected
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
// januskit::Error naming the construct it cannot translate. Without `with_additions` the property
// classes keep PCRE2's own tables: equivalent on text free of newer characters, and faster.
std::string translate_oniguruma(std::string_view pattern, bool with_additions = true);

class Regex {
 public:
  using Match = std::pair<uint32_t, uint32_t>;  // [begin, end) byte offsets

  // A pattern as written in tokenizer.json (Oniguruma syntax). Throws januskit::Error.
  static Regex oniguruma(std::string_view pattern);
  // A literal string (Split with a "String" pattern).
  static Regex literal(std::string_view text);

  // Appends every match in `subject` (valid UTF-8; at most 4 GiB) to `out`. `recent_characters`
  // = false promises that the text holds none of the code points of has_unicode_additions(), which
  // lets the faster form of the pattern run.
  void find_all(std::string_view subject, std::vector<Match>& out, bool recent_characters = true) const;

  const std::string& source() const { return source_; }

 private:
  struct Compiled {
    std::shared_ptr<pcre2_real_code_8> code;
    bool jit = false;
  };
  static Compiled compile(std::string_view source, std::string_view pcre_pattern, uint32_t options);

  Compiled full_;   // with the property additions
  Compiled plain_;  // PCRE2's tables only; same as full_ when the pattern has no additions
  std::string source_;
};

}  // namespace januskit::text
