// Turning logits into tokens: a chain of small stages (llama.cpp style) that ends in greedy argmax
// or a seeded draw.
//
//   penalties -> temperature -> top-k -> top-p -> min-p -> softmax -> draw
//
// Each stage mirrors the transformers logits processor of the same name (RepetitionPenalty,
// Temperature, TopK, TopP, MinP), so sampling with the same settings sees the same distribution.
// Classifier-free guidance (Janus) is a stage of its own that turns 2B rows into B before the chain.
// The draw is inverse-CDF with a counter-based uniform (core/counter_rng.hpp): row i at step k uses
// uniform(seed_i, k), so a seed reproduces its tokens whatever else is in the batch.
#pragma once

#include <ATen/core/Tensor.h>

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <vector>

namespace januskit::engine {

struct SamplingOptions {
  double temperature = 1.0;         // 0 = greedy (argmax); the reference default for Janus is 1
  int64_t top_k = 0;                // 0 = off
  double top_p = 1.0;               // 1 = off; R1 recommends 0.95
  double min_p = 0.0;               // 0 = off
  double repetition_penalty = 1.0;  // 1 = off; >1 discourages tokens seen in prompt or output (HF rule)
  double presence_penalty = 0.0;    // 0 = off; subtracted once from every token already generated
  double frequency_penalty = 0.0;   // 0 = off; subtracted per occurrence in the output
  uint64_t seed = 0;                // row i draws with seed + i

  bool greedy() const { return temperature <= 0.0; }
};

// One stage of the chain: rewrites f32 logits [B, V] in place.
using LogitsStage = std::function<void(at::Tensor& logits)>;

// Classifier-free guidance: rows are (cond, uncond) pairs; returns uncond + w * (cond - uncond).
enum class CfgLayout {
  interleaved,  // rows (0,1), (2,3), ... = (cond, uncond) per sample — the original Janus code
  blocks        // rows [0, B) cond, [B, 2B) uncond — transformers' Janus
};
at::Tensor cfg_mix(const at::Tensor& logits, double weight, CfgLayout layout = CfgLayout::interleaved);
// Guidance with two conditions (Janus-4o's image editing): rows are (full, partial, uncond) triples per
// sample; cond = (full + w2 · partial) / (1 + w2), then uncond + w · (cond − uncond), as its reference
// code computes it.
at::Tensor cfg_mix_two_conditions(const at::Tensor& logits, double weight, double partial_weight);

// Individual stages, exposed for tests and for custom chains.
void apply_temperature(at::Tensor& logits, double temperature);
void apply_top_k(at::Tensor& logits, int64_t k);
void apply_top_p(at::Tensor& logits, double p);
void apply_min_p(at::Tensor& logits, double min_p);
// Index of the first token whose cumulative probability exceeds u, per row; probs [B, V], u [B].
at::Tensor draw_from(const at::Tensor& probs, const at::Tensor& uniforms);

// The sampler of one generation: holds the per-row token counts the penalties need.
class Sampler {
 public:
  Sampler(const SamplingOptions& options, int64_t batch, int64_t vocab, c10::Device device);

  // Tokens of the prompt of row b (for the repetition penalty).
  void observe_prompt(int64_t row, const std::vector<int32_t>& ids);
  // Picks one token per row from logits [B, V] (f32); `step` is the decode step (the draw counter).
  // Returns [B] int64 on the logits' device.
  at::Tensor sample(const at::Tensor& logits, int64_t step);
  // Records the tokens chosen (possibly overridden by a hook) for the penalties.
  void observe(const at::Tensor& tokens);
  // Forgets the prompts and tokens observed so far, to sample another generation with this sampler.
  void reset();

  // The CUDA fast path (nn::sample_fused): the whole chain in one kernel, optionally preceded by
  // cfg_mix over 2B rows (`cfg` = weight and layout) and a vocabulary limit (ids >= vocab_limit are
  // never drawn). Reads the step from `step` ([1] int64 on the device) and writes tokens [B] (and
  // history[*step, :] when history is defined) without synchronising with the host, so a CUDA graph
  // can capture it. The same picks as sample() up to the tie cases nn/sampling.hpp lists.
  void sample_on_device(const at::Tensor& logits, const at::Tensor& step, at::Tensor& tokens,
                        const at::Tensor& history = {}, std::optional<std::pair<double, CfgLayout>> cfg = std::nullopt,
                        int64_t vocab_limit = 0);

  const SamplingOptions& options() const { return options_; }
  c10::Device device() const { return device_; }
  // The active warping stages after the penalties (temperature, top-k, top-p, min-p), in order.
  const std::vector<LogitsStage>& stages() const { return stages_; }
  // Seeds of the rows (seed + row); a pipeline may override them (e.g. gallery entries).
  void set_row_seeds(const std::vector<uint64_t>& seeds);

 private:
  void apply_penalties(at::Tensor& logits) const;

  SamplingOptions options_;
  int64_t batch_, vocab_;
  c10::Device device_;
  std::vector<uint64_t> row_seeds_;
  std::vector<LogitsStage> stages_;
  at::Tensor seen_;    // [B, V] bool: in prompt or output (repetition penalty); undefined when off
  at::Tensor counts_;  // [B, V] f32: occurrences in the output (presence/frequency); undefined when off
  // sample_on_device(): the row seeds on the device (same buffer for the sampler's lifetime, so a
  // captured graph keeps reading it) and the kernel's scratch rows.
  at::Tensor device_seeds_;
  at::Tensor scratch_;
};

}  // namespace januskit::engine
