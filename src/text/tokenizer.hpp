// Hugging Face tokenizer.json (byte-level BPE) for every vocabulary januskit runs: Janus-Pro's
// DeepSeek-LLM vocabulary, R1's DeepSeek-V3 vocabulary, and the Qwen2.5 / Llama-3 vocabularies of
// the R1 distills. Encodes to exactly the ids of the reference (`tokenizers`, Rust), decodes, and
// streams decoded text as tokens arrive.
//
// Design note: the encode pipeline is the reference's, in its order:
//   1. added tokens with normalized=false are split out of the raw text (leftmost-longest);
//   2. every remaining span is normalised (NFC for Qwen), then added tokens with normalized=true
//      are split out of the normalised span;
//   3. every remaining span is pre-tokenised (Split regexes, Digits, ByteLevel);
//   4. every pre-token is BPE-encoded on its raw bytes;
//   5. the special tokens around the text (BOS, ...) as the caller asks: none, tokenizer.json's
//      post-processor as written (the Rust crate), or what the model's own Python processor adds
//      (SpecialTokens below; the difference is real: DeepSeek's files rely on the processor's BOS).
// Supported components are listed in docs/tokenizer.md; anything else is a load error naming the
// component type and the file, never a silent approximation.
//
// Input text must be valid UTF-8: invalid bytes are rejected with an error giving their offset
// (the reference only accepts Python str / Rust String, which cannot hold them), see
// docs/robustness.md. Decoding turns ill-formed byte sequences produced by tokens into U+FFFD
// exactly as the reference does.
//
// A Tokenizer is immutable after load and cheap to copy (shared state); encode and decode may be
// called from several threads at once.
#pragma once

#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace januskit::text {

struct TokenizerImpl;

// Which special tokens encode() puts around the text.
enum class SpecialTokens {
  none,            // the text's own tokens: how a rendered chat template (which spells its BOS) is encoded
  tokenizer_json,  // tokenizer.json's post-processor as written: the Rust `tokenizers` crate's encode()
  processor,       // what the model's own Python processor encodes: transformers 4.x's rule, which the
                   //   official DeepSeek code runs (Tokenizer::processor_rule, docs/tokenizer.md)
};

// What "the model's processor" means for a folder. transformers 4.x's LlamaTokenizerFast (and the
// CodeLlama and Gemma fast classes) replace tokenizer.json's post-processor in their constructor by
// [BOS if add_bos_token (default true)] $A [EOS if add_eos_token (default false)]; every other class
// keeps the file's. `processor_class`, when set, is the class the model's own code instantiates
// whatever tokenizer_config.json says (Janus's VLChatProcessor: always LlamaTokenizerFast).
struct TokenizerLoadOptions {
  std::optional<std::string> processor_class;
};

class Tokenizer {
 public:
  // PATH = a tokenizer.json, or a model folder holding tokenizer.json (+ tokenizer_config.json,
  // special_tokens_map.json). Throws januskit::FileError naming the file and the problem.
  static Tokenizer load(const std::filesystem::path& path, const TokenizerLoadOptions& options = {});
  // The same from tokenizer.json text already in memory; `source` names it in error messages.
  static Tokenizer from_json_text(std::string_view json_text, const std::filesystem::path& source);

  // Literal added/special tokens in the text are always matched, as the reference does by default;
  // `special` says what goes around the text. Throws januskit::Error when `text` is not valid UTF-8,
  // and januskit::FileError for SpecialTokens::processor when the folder's processor could not be
  // built (it adds a BOS the folder does not name), as transformers refuses it.
  std::vector<int32_t> encode(std::string_view text, SpecialTokens special = SpecialTokens::none) const;
  // Appends to `out` instead of returning a new vector (for batch encoding without reallocations).
  void encode_into(std::string_view text, std::vector<int32_t>& out, SpecialTokens special = SpecialTokens::none) const;

  // The reference's decode with clean_up_tokenization_spaces off. Ids the tokenizer does not know
  // are skipped, as the reference skips them.
  std::string decode(std::span<const int32_t> ids, bool skip_special_tokens = false) const;

  std::optional<int32_t> token_id(std::string_view token) const;  // vocab or added token, by string
  int32_t require_token_id(std::string_view token) const;        // throws Error naming the token and the file
  std::string id_to_token(int32_t id) const;                       // raw piece (byte-level alphabet); throws for unknown ids
  bool is_special(int32_t id) const;
  size_t vocab_size() const;                                       // largest id + 1

  // From tokenizer_config.json / special_tokens_map.json when present (strings, not ids).
  std::optional<std::string> bos_token() const;
  std::optional<std::string> eos_token() const;
  std::optional<std::string> pad_token() const;
  // tokenizer_config.json's add_bos_token / tokenizer_class, when present.
  std::optional<bool> add_bos_token() const;
  std::optional<std::string> tokenizer_class() const;
  // One line saying what SpecialTokens::processor adds and why, e.g. "LlamaTokenizerFast (transformers
  // 4.x) adds BOS <｜begin▁of▁sentence｜> (add_bos_token absent, default true)".
  const std::string& processor_rule() const;
  const std::filesystem::path& source() const;  // the tokenizer.json that was loaded

 private:
  friend class StreamingDecoder;
  explicit Tokenizer(std::shared_ptr<const TokenizerImpl> impl) : impl_(std::move(impl)) {}
  std::shared_ptr<const TokenizerImpl> impl_;
};

// Emits text as tokens arrive, never a broken UTF-8 sequence (holds back incomplete bytes). The
// concatenation of every push() and finish() equals decode(all ids) byte for byte.
class StreamingDecoder {
 public:
  explicit StreamingDecoder(const Tokenizer& tok, bool skip_special_tokens = false);
  std::string push(int32_t id);  // the newly completed text
  std::string finish();          // whatever is left (incomplete bytes become U+FFFD as the reference would)

 private:
  std::shared_ptr<const TokenizerImpl> impl_;
  bool skip_special_;
  bool first_ = true;
  std::string pending_;
};

}  // namespace januskit::text
