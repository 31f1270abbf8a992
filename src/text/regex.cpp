#include "text/regex.hpp"

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

#include "core/error.hpp"
#include "text/unicode_additions.hpp"
#include "text/utf8.hpp"

namespace januskit::text {
namespace {

constexpr std::string_view kHexDigits = "0-9a-fA-F";

// Class items for \p{name} as the reference sees it: PCRE2's property plus the code points assigned
// in later Unicode versions (unicode_additions.hpp).
std::string property_items(std::string_view name, bool with_additions) {
  return "\\p{" + std::string(name) + "}" + (with_additions ? pcre2_class_additions(name) : std::string());
}

// Oniguruma's \w: Alphabetic | Mark | Number | Connector_Punctuation (measured against the crate:
// U+2160 Nl, U+00B2 No, U+0301 Mn, U+203F Pc and U+24B6 So-but-Alphabetic all match; U+200D does not).
std::string word_items(bool with_additions) {
  return property_items("Alphabetic", with_additions) + property_items("M", with_additions) +
         property_items("N", with_additions) + property_items("Pc", with_additions);
}

bool is_hex(char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F'); }

std::string pcre2_message(int code) {
  PCRE2_UCHAR buffer[256];
  int n = pcre2_get_error_message(code, buffer, sizeof buffer);
  return n < 0 ? cat("PCRE2 error ", code) : std::string(reinterpret_cast<const char*>(buffer));
}

// Per-thread match state: one match-data block (only the whole-match offsets are read, so one
// ovector pair is enough for every pattern) and a JIT stack larger than the 32 KiB default so
// that long whitespace or letter runs do not exhaust it.
struct ThreadMatchState {
  pcre2_match_data* data = nullptr;
  pcre2_jit_stack* jit_stack = nullptr;
  pcre2_match_context* context = nullptr;

  ThreadMatchState() {
    data = pcre2_match_data_create(1, nullptr);
    context = pcre2_match_context_create(nullptr);
    jit_stack = pcre2_jit_stack_create(64 * 1024, 8 * 1024 * 1024, nullptr);
    if (data == nullptr || context == nullptr) throw std::bad_alloc();
    if (jit_stack != nullptr) pcre2_jit_stack_assign(context, nullptr, jit_stack);
  }
  ~ThreadMatchState() {
    pcre2_match_data_free(data);
    pcre2_match_context_free(context);
    pcre2_jit_stack_free(jit_stack);
  }
  ThreadMatchState(const ThreadMatchState&) = delete;
  ThreadMatchState& operator=(const ThreadMatchState&) = delete;
};

ThreadMatchState& match_state() {
  thread_local ThreadMatchState state;
  return state;
}

}  // namespace

std::string translate_oniguruma(std::string_view p, bool with_additions) {
  std::string out;
  out.reserve(p.size() + 32);
  bool in_class = false;
  size_t class_body_start = 0;  // a ']' right here is a literal, not the end of the class
  size_t i = 0;
  auto unsupported = [&](std::string_view what) {
    return Error(cat("regex ", std::string(p), ": ", what, " (at byte ", i, ") is not supported"));
  };
  while (i < p.size()) {
    char c = p[i];
    if (c == '\\') {
      if (i + 1 >= p.size()) throw Error(cat("regex ", std::string(p), ": ends with a lone backslash"));
      char e = p[i + 1];
      switch (e) {
        case 's': out += "\\p{White_Space}"; break;
        case 'S': out += "\\P{White_Space}"; break;
        case 'w':
        case 'd': {
          std::string items = e == 'w' ? word_items(with_additions) : property_items("Nd", with_additions);
          out += in_class ? items : "[" + items + "]";
          break;
        }
        case 'W':
        case 'D':
          if (in_class) throw unsupported(e == 'W' ? "\\W inside a bracket class" : "\\D inside a bracket class");
          out += "[^" + (e == 'W' ? word_items(with_additions) : property_items("Nd", with_additions)) + "]";
          break;
        case 'h':
          if (in_class) out += kHexDigits;
          else out.append("[").append(kHexDigits).append("]");
          break;
        case 'H':
          if (in_class) throw unsupported("\\H inside a bracket class");
          out.append("[^").append(kHexDigits).append("]");
          break;
        case 'p':
        case 'P': {
          // \p{Name}, \p{^Name}, \P{Name} or \pL.
          size_t end = i + 2;
          std::string_view name;
          if (end < p.size() && p[end] == '{') {
            size_t close = p.find('}', end);
            if (close == std::string_view::npos) throw unsupported("an unterminated \\p{");
            name = p.substr(end + 1, close - end - 1);
            end = close + 1;
          } else if (end < p.size()) {
            name = p.substr(end, 1);
            end += 1;
          }
          bool negated = e == 'P';
          if (!name.empty() && name.front() == '^') {
            negated = !negated;
            name.remove_prefix(1);
          }
          const std::string& additions = with_additions ? pcre2_class_additions(name) : std::string();
          std::string base = std::string(negated ? "\\P{" : "\\p{") + std::string(name) + "}";
          if (additions.empty() || (in_class && negated)) {
            // Nothing newer to add, or a negated property inside a class, where a union cannot be
            // negated again (PCRE2's own, older, table is used: see docs/tokenizer.md).
            out += base;
          } else if (in_class) {
            out += property_items(name, true);
          } else {
            out += (negated ? "[^" : "[") + property_items(name, true) + "]";
          }
          i = end;
          continue;
        }
        case 'u': {
          if (i + 6 > p.size() || !is_hex(p[i + 2]) || !is_hex(p[i + 3]) || !is_hex(p[i + 4]) || !is_hex(p[i + 5])) {
            throw unsupported("\\u without four hex digits");
          }
          out.append("\\x{").append(p.substr(i + 2, 4)).append("}");
          i += 6;
          continue;
        }
        default: {
          // Copy the escape and the whole (possibly multi-byte) escaped character.
          size_t len = utf8::sequence_length(static_cast<unsigned char>(e));
          out.append(p.substr(i, 1 + len));
          i += 1 + len;
          continue;
        }
      }
      i += 2;
      continue;
    }
    if (in_class) {
      if (c == '[') {
        throw unsupported(p.substr(i, 2) == "[:" ? "a POSIX bracket class" : "a nested bracket class");
      }
      if (c == '&' && p.substr(i, 2) == "&&") throw unsupported("class intersection (&&)");
      if (c == ']' && i != class_body_start) in_class = false;
      out += c;
      ++i;
      continue;
    }
    out += c;
    ++i;
    if (c == '[') {
      in_class = true;
      if (i < p.size() && p[i] == '^') out += p[i++];
      class_body_start = i;
    }
  }
  if (in_class) throw Error(cat("regex ", std::string(p), ": unterminated bracket class"));
  return out;
}

Regex Regex::oniguruma(std::string_view pattern) {
  constexpr uint32_t kOptions = PCRE2_UTF | PCRE2_UCP | PCRE2_MULTILINE;
  Regex r;
  r.source_ = std::string(pattern);
  std::string full = translate_oniguruma(pattern, true), plain = translate_oniguruma(pattern, false);
  r.full_ = compile(pattern, full, kOptions);
  r.plain_ = plain == full ? r.full_ : compile(pattern, plain, kOptions);
  return r;
}

Regex Regex::literal(std::string_view text) {
  Regex r;
  r.source_ = std::string(text);
  r.full_ = r.plain_ = compile(text, text, PCRE2_UTF | PCRE2_LITERAL);
  return r;
}

Regex::Compiled Regex::compile(std::string_view source, std::string_view pcre_pattern, uint32_t options) {
  pcre2_compile_context* cctx = pcre2_compile_context_create(nullptr);
  pcre2_set_newline(cctx, PCRE2_NEWLINE_LF);
  int error = 0;
  PCRE2_SIZE offset = 0;
  pcre2_code* code = pcre2_compile(reinterpret_cast<PCRE2_SPTR>(pcre_pattern.data()), pcre_pattern.size(), options,
                                   &error, &offset, cctx);
  pcre2_compile_context_free(cctx);
  if (code == nullptr) {
    throw Error(cat("regex ", std::string(source), ": cannot compile (", pcre2_message(error), " at byte ", offset,
                    " of the PCRE2 form ", std::string(pcre_pattern), ")"));
  }
  Compiled c;
  c.code = std::shared_ptr<pcre2_real_code_8>(code, pcre2_code_free);
  // JIT is an optimisation: where it is unavailable the interpreter gives the same matches.
  c.jit = pcre2_jit_compile(code, PCRE2_JIT_COMPLETE) == 0;
  return c;
}

void Regex::find_all(std::string_view subject, std::vector<Match>& out, bool recent_characters) const {
  ThreadMatchState& st = match_state();
  const Compiled& compiled = recent_characters ? full_ : plain_;
  auto* code = compiled.code.get();
  const bool jit = compiled.jit;
  auto* subj = reinterpret_cast<PCRE2_SPTR>(subject.data());
  const size_t n = subject.size();
  size_t last_end = 0;
  bool skip_next_empty = false;
  while (last_end <= n) {
    // The subject was validated once for the whole input: skip PCRE2's per-call UTF check, which
    // would otherwise rescan the subject from the start on every call.
    int rc = jit ? pcre2_jit_match(code, subj, n, last_end, 0, st.data, st.context)
                  : pcre2_match(code, subj, n, last_end, PCRE2_NO_UTF_CHECK, st.data, st.context);
    if (rc == PCRE2_ERROR_JIT_STACKLIMIT) {
      rc = pcre2_match(code, subj, n, last_end, PCRE2_NO_UTF_CHECK | PCRE2_NO_JIT, st.data, st.context);
    }
    if (rc == PCRE2_ERROR_NOMATCH) break;
    if (rc < 0) throw Error(cat("regex ", source_, ": matching failed (", pcre2_message(rc), ")"));
    const PCRE2_SIZE* ov = pcre2_get_ovector_pointer(st.data);
    size_t begin = ov[0], end = ov[1];
    last_end = end;
    if (begin == end) {
      last_end += end < n ? utf8::sequence_length(static_cast<unsigned char>(subject[end])) : 1;
      if (skip_next_empty) {
        skip_next_empty = false;
        continue;
      }
    } else {
      skip_next_empty = true;
    }
    out.emplace_back(static_cast<uint32_t>(begin), static_cast<uint32_t>(end));
  }
}

}  // namespace januskit::text
