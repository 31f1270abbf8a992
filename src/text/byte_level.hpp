// The GPT-2 byte-level alphabet: a bijection between the 256 byte values and 256 printable code
// points, so that any byte string can be written as a JSON-safe "word" in a BPE vocabulary.
//
// Design note: byte-level vocabularies are stored in tokenizer.json in this alphabet ("Ġthe" for
// " the"). januskit converts them once at load time back to raw bytes and runs BPE directly on the
// bytes of the input, so encoding never has to build the alphabet-mapped copy of the text that
// the reference builds for every pre-token.
#pragma once

#include <array>
#include <optional>
#include <string>
#include <string_view>

namespace januskit::text::byte_level {

// Code point that stands for byte b: printable Latin-1 bytes stand for themselves, the other 68
// bytes are moved to U+0100 + k in byte order.
char32_t char_for_byte(unsigned char b);

// Byte that code point cp stands for, or -1 when cp is outside the alphabet.
int byte_for_char(char32_t cp);

// "Ġthe" -> " the"; nullopt when a character is outside the alphabet (an added token such as
// "<｜User｜>", which the decoder then emits as its own UTF-8 text).
std::optional<std::string> to_bytes(std::string_view alphabet_text);

// Appends the bytes of `alphabet_text` to `out`; false (out unchanged) when a character is outside
// the alphabet. The allocation-free form of to_bytes for loading 150k vocabulary entries.
bool append_bytes(std::string_view alphabet_text, std::string& out);

// " the" -> "Ġthe".
std::string from_bytes(std::string_view bytes);

}  // namespace januskit::text::byte_level
