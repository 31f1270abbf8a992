#include "text/byte_level.hpp"

#include "text/utf8.hpp"

namespace januskit::text::byte_level {
namespace {

struct Tables {
  std::array<char32_t, 256> to_char{};
  std::array<int16_t, 512> to_byte{};  // every alphabet code point is below U+0200

  Tables() {
    to_byte.fill(-1);
    // Bytes that are printable in Latin-1 keep their own code point ('!'..'~', '¡'..'¬', '®'..'ÿ');
    // the remaining ones (controls, space, DEL, NBSP, soft hyphen) get U+0100, U+0101, ... in
    // increasing byte order.
    auto printable = [](int b) { return (b >= 0x21 && b <= 0x7E) || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF); };
    char32_t next_extra = 0x100;
    for (int b = 0; b < 256; ++b) {
      char32_t cp = printable(b) ? static_cast<char32_t>(b) : next_extra++;
      to_char[b] = cp;
      to_byte[cp] = static_cast<int16_t>(b);
    }
  }
};

const Tables& tables() {
  static const Tables t;
  return t;
}

}  // namespace

char32_t char_for_byte(unsigned char b) { return tables().to_char[b]; }

int byte_for_char(char32_t cp) { return cp < 512 ? tables().to_byte[cp] : -1; }

bool append_bytes(std::string_view alphabet_text, std::string& out) {
  const size_t start = out.size();
  size_t i = 0;
  while (i < alphabet_text.size()) {
    auto c = static_cast<unsigned char>(alphabet_text[i]);
    // The alphabet is '!'..'~' (one byte) and U+00A1..U+0143 (two bytes, lead C2..C5).
    int b;
    if (c < 0x80) {
      b = byte_for_char(c);
      ++i;
    } else if (c >= 0xC2 && c <= 0xC5 && i + 1 < alphabet_text.size()) {
      b = byte_for_char((static_cast<char32_t>(c & 0x1F) << 6) | (static_cast<unsigned char>(alphabet_text[i + 1]) & 0x3F));
      i += 2;
    } else {
      b = -1;
    }
    if (b < 0) {
      out.resize(start);
      return false;
    }
    out += static_cast<char>(b);
  }
  return true;
}

std::optional<std::string> to_bytes(std::string_view alphabet_text) {
  std::string out;
  out.reserve(alphabet_text.size());
  if (!append_bytes(alphabet_text, out)) return std::nullopt;
  return out;
}

std::string from_bytes(std::string_view bytes) {
  std::string out;
  out.reserve(bytes.size() * 2);
  for (unsigned char b : bytes) utf8::append(out, char_for_byte(b));
  return out;
}

}  // namespace januskit::text::byte_level
