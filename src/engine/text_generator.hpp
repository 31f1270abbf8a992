// Text generation: prefill the prompts, then decode one token per row per step until every row
// stops (an EOS id, a stop string, its token budget, or the cache's capacity).
//
// Rows of different prompt lengths run in one batch, left-aligned in the static KV cache with
// per-row starts (engine/kv_cache.hpp), so each row computes exactly what it would alone. When all
// rows share one prompt (--samples), it is prefilled once and the cache rows are filled from it.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "engine/decode_graph.hpp"
#include "engine/language_model.hpp"
#include "engine/sampler.hpp"

namespace januskit::text {
class Tokenizer;
}

namespace januskit::engine {

struct GenerationOptions {
  int64_t max_new_tokens = 512;         // per row; the cache also stops at the model's context
  SamplingOptions sampling;
  std::vector<int32_t> eos_ids;         // generation of a row ends after one of these (kept in its tokens)
  std::vector<std::string> stop_strings;  // needs a tokenizer; the text is cut before the stop string
  int64_t vocab_limit = 0;              // > 0: ids >= vocab_limit are never produced (embedding rows
                                        // beyond the tokenizer's vocabulary)
  bool skip_special_in_text = false;    // drop special tokens from the text (EOS never appears in it);
                                        // off by default: R1's <think>/</think> may be special tokens
  DecodeLoop decode_loop = DecodeLoop::automatic;  // on CUDA: fused kernels, the step replayed as a CUDA
                                        // graph, tokens read back every few steps (engine/decode_graph.hpp)
};

enum class StopReason { none, eos, stop_string, max_tokens, context_full };
const char* stop_reason_name(StopReason r);

// One generated token, as it arrives.
struct TokenEvent {
  int64_t row = 0;
  int32_t token = 0;
  std::string text;     // newly completed text (empty without a tokenizer, or mid UTF-8 sequence)
  bool forced = false;  // chosen by a TokenHook, not sampled
  int64_t index = 0;    // position in the row's output
};

struct SequenceOutput {
  std::vector<int32_t> tokens;  // generated ids, including a final EOS
  std::string text;             // decoded (with a tokenizer), cut at a stop string
  StopReason reason = StopReason::none;
};

struct GenerationStats {
  int64_t prompt_tokens = 0;     // summed over rows (a shared prompt counts once)
  int64_t generated_tokens = 0;  // summed over rows
  int64_t steps = 0;             // decode steps run
  double prefill_seconds = 0;
  double decode_seconds = 0;
  double prefill_tokens_per_second() const { return prefill_seconds > 0 ? prompt_tokens / prefill_seconds : 0; }
  double decode_tokens_per_second() const { return decode_seconds > 0 ? generated_tokens / decode_seconds : 0; }
};

struct GenerationResult {
  std::vector<SequenceOutput> rows;
  GenerationStats stats;
};

// Lets a pipeline steer generation: after each sampled token it may substitute another one (e.g. force
// "</think>" once a reasoning budget is spent). Returns the token to use instead, or nothing.
class TokenHook {
 public:
  virtual ~TokenHook() = default;
  virtual std::optional<int32_t> override_token(int64_t row, int32_t sampled, std::span<const int32_t> generated) = 0;
};

using TokenCallback = std::function<void(const TokenEvent&)>;
// Turns the (left-aligned, zero-padded) prompt ids [B, T] into input embeddings; the default is the
// model's token embedding. Janus understanding uses it to put image embeddings at placeholder tokens.
using PromptEmbedder = std::function<at::Tensor(const at::Tensor& ids)>;

class TextGenerator {
 public:
  // The tokenizer is optional: without it there is no text, and stop strings are refused.
  explicit TextGenerator(LanguageModel& model, const text::Tokenizer* tokenizer = nullptr);
  ~TextGenerator();
  TextGenerator(const TextGenerator&) = delete;
  TextGenerator& operator=(const TextGenerator&) = delete;

  GenerationResult generate(const std::vector<std::vector<int32_t>>& prompts, const GenerationOptions& options,
                            const TokenCallback& on_token = {}, TokenHook* hook = nullptr,
                            const PromptEmbedder& embed = {});

  // Continues from an existing cache (a chat session): the cache's rows already hold `cached` tokens
  // (batch 1); the common prefix with `prompt` is kept, the rest recomputed. `cached` is updated to
  // prompt + output.
  GenerationResult continue_session(KVCache& cache, std::vector<int32_t>& cached, const std::vector<int32_t>& prompt,
                                    const GenerationOptions& options, const TokenCallback& on_token = {},
                                    TokenHook* hook = nullptr);

 private:
  GenerationResult decode(KVCache& cache, at::Tensor logits, const std::vector<std::vector<int32_t>>& prompts,
                          const GenerationOptions& options, const TokenCallback& on_token, TokenHook* hook,
                          GenerationStats stats);
  at::Tensor prefill(KVCache& cache, const std::vector<std::vector<int32_t>>& prompts, int64_t from,
                     const PromptEmbedder& embed = {});
  at::Tensor next_logits(const at::Tensor& hidden_last, int64_t vocab_limit);

  // The CUDA fast path: a batch-size bucket's cache (or a session's), its sampler and its captured
  // decode graph, kept for the next call with the same bucket and sampling settings.
  struct FastState;
  bool use_fast_path(const GenerationOptions& options) const;
  FastState& fast_state(int64_t bucket, int64_t capacity, KVCache* session, const GenerationOptions& options);
  GenerationResult generate_fast(const std::vector<std::vector<int32_t>>& prompts, const GenerationOptions& options,
                                 const TokenCallback& on_token, TokenHook* hook, const PromptEmbedder& embed);
  GenerationResult decode_fast(FastState& fast, const at::Tensor& hidden_last,
                               const std::vector<std::vector<int32_t>>& prompts, int64_t rows, int64_t capacity,
                               const GenerationOptions& options, const TokenCallback& on_token, TokenHook* hook,
                               GenerationStats stats);

  LanguageModel& model_;
  const text::Tokenizer* tokenizer_;
  std::unique_ptr<FastState> fast_;
};

}  // namespace januskit::engine
