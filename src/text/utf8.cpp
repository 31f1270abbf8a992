// UTF-8 classification following the Unicode well-formedness table (Table 3-7): the second byte's
// allowed range depends on the lead byte (E0: A0..BF, ED: 80..9F, F0: 90..BF, F4: 80..8F), which
// excludes overlongs, surrogates and code points above U+10FFFF.
#include "text/utf8.hpp"

namespace januskit::text::utf8 {

Seq classify(std::string_view s, size_t i) {
  auto byte = [&](size_t k) { return static_cast<unsigned char>(s[i + k]); };
  unsigned char b0 = byte(0);
  if (b0 < 0x80) return {SeqKind::valid, 1};
  size_t width = 0;
  unsigned char lo = 0x80, hi = 0xBF;
  if (b0 >= 0xC2 && b0 <= 0xDF) {
    width = 2;
  } else if (b0 >= 0xE0 && b0 <= 0xEF) {
    width = 3;
    if (b0 == 0xE0) lo = 0xA0;
    if (b0 == 0xED) hi = 0x9F;
  } else if (b0 >= 0xF0 && b0 <= 0xF4) {
    width = 4;
    if (b0 == 0xF0) lo = 0x90;
    if (b0 == 0xF4) hi = 0x8F;
  } else {
    return {SeqKind::invalid, 1};  // continuation byte, C0/C1 (overlong) or F5..FF
  }
  size_t available = s.size() - i;
  for (size_t k = 1; k < width; ++k) {
    if (k >= available) return {SeqKind::incomplete, k};
    unsigned char b = byte(k);
    unsigned char min = k == 1 ? lo : 0x80, max = k == 1 ? hi : 0xBF;
    if (b < min || b > max) return {SeqKind::invalid, k};
  }
  return {SeqKind::valid, width};
}

size_t find_invalid(std::string_view s) {
  size_t i = 0;
  const size_t n = s.size();
  while (i < n) {
    // ASCII runs dominate typical text: skip 8 bytes at a time while no high bit is set.
    while (i + 8 <= n) {
      uint64_t chunk;
      __builtin_memcpy(&chunk, s.data() + i, 8);
      if (chunk & 0x8080808080808080ULL) break;
      i += 8;
    }
    if (i >= n) break;
    if (static_cast<unsigned char>(s[i]) < 0x80) {
      ++i;
      continue;
    }
    Seq seq = classify(s, i);
    if (seq.kind != SeqKind::valid) return i;
    i += seq.length;
  }
  return std::string_view::npos;
}

void append(std::string& out, char32_t cp) {
  if (cp < 0x80) {
    out += static_cast<char>(cp);
  } else if (cp < 0x800) {
    out += static_cast<char>(0xC0 | (cp >> 6));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else if (cp < 0x10000) {
    out += static_cast<char>(0xE0 | (cp >> 12));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else {
    out += static_cast<char>(0xF0 | (cp >> 18));
    out += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  }
}

namespace {
constexpr std::string_view kReplacement = "\xEF\xBF\xBD";  // U+FFFD

// Appends the valid text of s to out; stops before a trailing incomplete sequence when
// keep_incomplete_tail is set and returns where it stopped.
size_t convert(std::string_view s, std::string& out, bool keep_incomplete_tail) {
  size_t i = 0, run = 0;
  while (i < s.size()) {
    if (static_cast<unsigned char>(s[i]) < 0x80) {
      ++i;
      continue;
    }
    Seq seq = classify(s, i);
    if (seq.kind == SeqKind::valid) {
      i += seq.length;
      continue;
    }
    out.append(s.substr(run, i - run));
    if (seq.kind == SeqKind::incomplete && keep_incomplete_tail) return i;
    out.append(kReplacement);  // an incomplete sequence at the very end is one maximal subpart
    i += seq.length;
    run = i;
  }
  out.append(s.substr(run));
  return s.size();
}
}  // namespace

std::string to_valid_lossy(std::string_view bytes) {
  std::string out;
  out.reserve(bytes.size());
  convert(bytes, out, false);
  return out;
}

void drain_complete(std::string& pending, std::string& out) {
  size_t used = convert(pending, out, true);
  pending.erase(0, used);
}

bool is_white_space(char32_t cp) {
  if (cp <= 0x20) return cp == 0x20 || (cp >= 0x09 && cp <= 0x0D);
  if (cp < 0x85) return false;
  switch (cp) {
    case 0x85: case 0xA0: case 0x1680: case 0x2028: case 0x2029: case 0x202F: case 0x205F: case 0x3000:
      return true;
    default:
      return cp >= 0x2000 && cp <= 0x200A;
  }
}

bool is_python_space(char32_t cp) {
  // str.isspace(): bidirectional class WS/B/S or category Zs; that is White_Space plus the
  // information separators U+001C..U+001F.
  return is_white_space(cp) || (cp >= 0x1C && cp <= 0x1F);
}

}  // namespace januskit::text::utf8
