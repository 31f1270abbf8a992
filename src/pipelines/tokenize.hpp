// `januskit tokenize`: encode text with a model's tokenizer.json and show the result, for checking
// prompts by eye and for scripts that need januskit's exact ids.
#pragma once

#include <iosfwd>
#include <string_view>

#include "text/tokenizer.hpp"

namespace januskit::pipelines {

// One line per token: "ID<TAB>PIECE", the piece as tokenizer.json spells it (byte-level alphabet,
// e.g. "Ġworld" for " world"). Encodes without adding special tokens; literal ones in the text
// are matched.
void tokenize_text(const text::Tokenizer& tok, std::string_view text, std::ostream& out);

// JSON lines: each input line {"text": "..."} gives one output line {"ids": [...], "decoded": "..."}
// in order (encode without adding special tokens; decode without skipping them, no clean-up).
// Blank lines are skipped. Output is flushed after every line, so a script can drive it as a
// co-process. Throws januskit::Error "stdin line N: …" for a line that is not such an object.
void tokenize_jsonl(const text::Tokenizer& tok, std::istream& in, std::ostream& out);

}  // namespace januskit::pipelines
