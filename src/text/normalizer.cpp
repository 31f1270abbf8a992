#include "text/normalizer.hpp"

#include <utf8proc.h>

#include <cstdlib>
#include <memory>

#include "core/error.hpp"
#include "text/utf8.hpp"

namespace januskit::text {
namespace {

// Code points that NFC leaves alone in any context: no canonical decomposition that recomposes
// differently (no singletons, no composition exclusions), combining class 0, and never the second
// character of a canonical composition. A string made only of these is its own NFC. The ranges
// were checked exhaustively against Python's unicodedata (Unicode 14); combining marks, Hangul
// jamo, kana voicing marks, U+2000/U+2001 and U+2329/U+232A (singletons) are deliberately absent.
bool nfc_inert(char32_t cp) {
  if (cp < 0x300) return true;                          // ASCII, Latin-1, Latin Extended A/B, IPA, modifiers
  if (cp < 0x2002) {
    return (cp >= 0x400 && cp <= 0x482) || (cp >= 0x48A && cp <= 0x52F) ||  // Cyrillic letters
           (cp >= 0x5D0 && cp <= 0x5EA) ||                                  // Hebrew letters
           (cp >= 0x621 && cp <= 0x64A) ||                                  // Arabic letters
           (cp >= 0xE01 && cp <= 0xE2E);                                    // Thai consonants
  }
  if (cp <= 0x206F) return true;                        // general punctuation (quotes, dashes, ...)
  if (cp >= 0x2190 && cp <= 0x23FF) return cp != 0x2329 && cp != 0x232A;  // arrows, math, technical
  if (cp >= 0x2500 && cp <= 0x27BF) return true;        // box drawing, shapes, dingbats
  if (cp >= 0x3000 && cp <= 0x3029) return true;        // CJK punctuation (302A..302F combine)
  if (cp >= 0x3030 && cp <= 0x303F) return true;
  if (cp >= 0x3041 && cp <= 0x3096) return true;        // Hiragana letters (3099/309A combine)
  if (cp >= 0x30A1 && cp <= 0x30FA) return true;        // Katakana letters
  if (cp >= 0x4E00 && cp <= 0x9FFF) return true;        // CJK unified ideographs
  if (cp >= 0xAC00 && cp <= 0xD7A3) return true;        // Hangul syllables
  if (cp >= 0xFF01 && cp <= 0xFF60) return true;        // fullwidth forms (compatibility-only)
  if (cp >= 0x1F300 && cp <= 0x1FAFF) return true;      // emoji and pictographs
  return false;
}

bool is_nfc_quick(std::string_view s) {
  size_t i = 0;
  while (i < s.size()) {
    if (static_cast<unsigned char>(s[i]) < 0x80) {
      ++i;
      continue;
    }
    if (!nfc_inert(utf8::next(s, i))) return false;
  }
  return true;
}

}  // namespace

std::string nfc(std::string_view text) {
  utf8proc_uint8_t* out = nullptr;
  utf8proc_ssize_t n = utf8proc_map(reinterpret_cast<const utf8proc_uint8_t*>(text.data()),
                                    static_cast<utf8proc_ssize_t>(text.size()), &out,
                                    static_cast<utf8proc_option_t>(UTF8PROC_STABLE | UTF8PROC_COMPOSE));
  if (n < 0) throw Error(cat("NFC normalization failed: ", utf8proc_errmsg(n)));
  std::unique_ptr<utf8proc_uint8_t, decltype(&std::free)> owner(out, &std::free);
  return std::string(reinterpret_cast<const char*>(out), static_cast<size_t>(n));
}

std::string_view Normalizer::apply(std::string_view in, std::string& buffer) const {
  std::string_view current = in;
  for (Step step : steps_) {
    switch (step) {
      case Step::nfc:
        if (is_nfc_quick(current)) break;
        buffer = nfc(current);
        current = buffer;
        break;
    }
  }
  return current;
}

}  // namespace januskit::text
