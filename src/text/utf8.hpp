// UTF-8 helpers for the tokenizer: validation, code point iteration, and the lossy conversion that
// the reference decoder applies to decoded bytes.
//
// Design note: the reference (`tokenizers`, Rust) turns decoded bytes into text with
// `String::from_utf8_lossy`, which replaces each *maximal subpart* of an ill-formed sequence by one
// U+FFFD (the Unicode "best practice" policy: a truncated but otherwise valid prefix is one
// replacement; a byte that can never start or continue a sequence is one replacement each). The
// streaming decoder must agree with it byte for byte, so both use `classify()` below, which
// reports for the sequence at a position whether it is complete, an incomplete-but-valid prefix
// (more bytes could still complete it), or ill-formed, and how many bytes that covers.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace januskit::text::utf8 {

enum class SeqKind { valid, incomplete, invalid };

struct Seq {
  SeqKind kind;
  size_t length;  // bytes covered: the whole char (valid), the prefix (incomplete), the maximal subpart (invalid, >= 1)
};

// Classifies the UTF-8 sequence that starts at s[i] (i < s.size()).
Seq classify(std::string_view s, size_t i);

// Offset of the first byte that is not part of well-formed UTF-8 (including a truncated sequence at
// the end), or std::string_view::npos when the whole string is valid.
size_t find_invalid(std::string_view s);
inline bool is_valid(std::string_view s) { return find_invalid(s) == std::string_view::npos; }

// Decodes the code point at s[i] and advances i. The input must be valid UTF-8.
inline char32_t next(std::string_view s, size_t& i) {
  auto b0 = static_cast<unsigned char>(s[i]);
  if (b0 < 0x80) {
    ++i;
    return b0;
  }
  auto cont = [&](size_t k) { return static_cast<char32_t>(static_cast<unsigned char>(s[i + k]) & 0x3F); };
  char32_t cp;
  if (b0 < 0xE0) {
    cp = (static_cast<char32_t>(b0 & 0x1F) << 6) | cont(1);
    i += 2;
  } else if (b0 < 0xF0) {
    cp = (static_cast<char32_t>(b0 & 0x0F) << 12) | (cont(1) << 6) | cont(2);
    i += 3;
  } else {
    cp = (static_cast<char32_t>(b0 & 0x07) << 18) | (cont(1) << 12) | (cont(2) << 6) | cont(3);
    i += 4;
  }
  return cp;
}

// Byte length of the UTF-8 sequence whose lead byte is b (1 for ASCII and for invalid lead bytes).
inline size_t sequence_length(unsigned char b) { return b < 0xC0 ? 1 : b < 0xE0 ? 2 : b < 0xF0 ? 3 : 4; }

void append(std::string& out, char32_t cp);

// `String::from_utf8_lossy` semantics: every maximal ill-formed subpart becomes U+FFFD.
std::string to_valid_lossy(std::string_view bytes);

// Appends to `out` the text of `pending` that can be emitted now and erases it from `pending`:
// complete characters, and U+FFFD for ill-formed subparts; a trailing incomplete-but-valid prefix
// stays in `pending` because later bytes may complete it.
void drain_complete(std::string& pending, std::string& out);

// Python's str.isspace() for one code point (used by the Janus template's .strip()).
bool is_python_space(char32_t cp);

// Unicode White_Space (the set Oniguruma's and Rust regex's `\s` match).
bool is_white_space(char32_t cp);

}  // namespace januskit::text::utf8
