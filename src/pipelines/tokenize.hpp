// `januskit tokenize`: encode text with a model's tokenizer.json and show the result, for checking
// prompts by eye and for scripts that need januskit's exact ids.
#pragma once

#include <filesystem>
#include <iosfwd>
#include <string_view>

#include "text/tokenizer.hpp"

namespace januskit::pipelines {

// The tokenizer of PATH (a tokenizer.json or a model folder) as the model's pipelines load it: a
// Janus-Pro folder with the official processor's class (load_janus_tokenizer), any other as it is.
text::Tokenizer load_model_tokenizer(const std::filesystem::path& path);

// One line per token: "ID<TAB>PIECE", the piece as tokenizer.json spells it (byte-level alphabet,
// e.g. "Ġworld" for " world"). `special` says what goes around the text; literal special tokens in
// the text are always matched.
void tokenize_text(const text::Tokenizer& tok, std::string_view text, text::SpecialTokens special, std::ostream& out);

// JSON lines: each input line {"text": "..."} gives one output line {"ids": [...], "decoded": "..."}
// in order (decode without skipping special tokens, no clean-up). Blank lines are skipped. Output is
// flushed after every line, so a script can drive it as a co-process. Throws januskit::Error
// "stdin line N: …" for a line that is not such an object.
void tokenize_jsonl(const text::Tokenizer& tok, text::SpecialTokens special, std::istream& in, std::ostream& out);

}  // namespace januskit::pipelines
