// Trains a byte-level BPE tokenizer and writes it as a Hugging Face tokenizer.json — the same format
// (and the same pre-tokenizer, Qwen2's split regex with single digits, then ByteLevel) as the
// tokenizers of the real models, so the demo models exercise the real tokenizer path and the Rust
// `tokenizers` package loads the result too.
#pragma once

#include <nlohmann/json_fwd.hpp>

#include <string>
#include <vector>

namespace januskit::text {

// Qwen2's pre-tokenizer pattern: contractions, letters, single digits, punctuation runs, newlines,
// other whitespace.
extern const char* const kQwen2SplitPattern;

struct BpeTrainerOptions {
  int merges = 400;                          // merge rules to learn (fewer if pairs run out)
  std::vector<std::string> special_tokens;   // added tokens with special: true (ids after the vocabulary)
  std::vector<std::string> added_tokens;     // added tokens with special: false (R1's <think>, ...)
  std::string bos_token;                     // prepended by the post-processor when not empty
};

// The tokenizer.json document. Added tokens never take part in merges: they are split out of the
// corpus first, as they are at encode time.
nlohmann::json train_bpe_tokenizer(const std::vector<std::string>& corpus, const BpeTrainerOptions& options);

}  // namespace januskit::text
