// Text-to-image generation with classifier-free guidance (Janus-Pro): every image is a pair of rows,
// conditional (the prompt) and unconditional (the prompt with every token but BOS and
// <begin_of_image> replaced by the pad token), decoded together. Each step mixes the two rows'
// image-token logits as uncond + w · (cond − uncond), samples one token per image, and feeds it back to
// both rows through the model's image-token embedding. Images of different prompts share the batch:
// rows are left-aligned in the static KV cache with per-row starts, so padding never leaks.
//
// Image-conditioned generation (Janus-4o's editing) gives every image a third row: a full condition,
// a partial one and the unconditional row, mixed by engine::cfg_mix_two_conditions. The conditional
// rows carry embeddings of the input picture in place of runs of their prompt tokens. Such batches
// run the step-by-step loop on every device (the captured CUDA graph mixes pairs only).
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <vector>

#include "engine/decode_graph.hpp"
#include "engine/language_model.hpp"
#include "engine/sampler.hpp"

namespace januskit::engine {

// What image generation needs beyond a language model.
class ImageTokenModel {
 public:
  virtual ~ImageTokenModel() = default;
  virtual LanguageModel& language_model() = 0;
  // Image token ids [B, T] -> LLM input embeddings [B, T, D] (gen_embed + gen_aligner in Janus).
  virtual at::Tensor embed_image_tokens(const at::Tensor& ids) = 0;
  // Final hidden states [..., D] -> image-token logits [..., K] in f32 (gen_head in Janus).
  virtual at::Tensor image_logits(const at::Tensor& hidden) = 0;
  virtual int64_t tokens_per_image() const = 0;   // 576 for Janus-Pro
  virtual int64_t image_vocab_size() const = 0;   // 16384 for Janus-Pro
};

// Input embeddings [length, D] that replace those of prompt positions [position, position + length).
struct EmbeddingRun {
  int64_t position = 0;
  at::Tensor embeds;
};

struct ImageRequest {
  std::vector<int32_t> cond_ids;    // the prompt, ending with <begin_of_image>
  std::vector<int32_t> uncond_ids;  // same length: BOS, pads, <begin_of_image>
  uint64_t seed = 0;                // this image's draws
  std::vector<EmbeddingRun> cond_runs;  // replaced in the conditional row
  // Set: a second conditional row with cond_ids and these runs (the partial condition), guided
  // with ImageGenerationOptions::partial_cfg_weight. All images of one call have it or none does.
  std::optional<std::vector<EmbeddingRun>> partial_runs;

  int64_t rows() const { return partial_runs ? 3 : 2; }
};

struct ImageGenerationOptions {
  double cfg_weight = 5.0;    // 1 = no guidance (cond only)
  double temperature = 1.0;   // 0 = argmax after guidance
  int64_t top_k = 0;          // 0 = off (the reference samples from the full distribution)
  double top_p = 1.0;
  DecodeLoop decode_loop = DecodeLoop::automatic;  // on CUDA: fused kernels, the step replayed as a CUDA
                              // graph, tokens kept on the device to the end (engine/decode_graph.hpp)
  double partial_cfg_weight = 5.0;  // requests with a partial condition: its weight against the full one
};

struct ImageGenerationResult {
  at::Tensor tokens;  // [N, tokens_per_image] int64 on the CPU
  double prefill_seconds = 0;
  double decode_seconds = 0;
  int64_t steps = 0;
};

// Called after every step with (steps done, total steps).
using StepCallback = std::function<void(int64_t, int64_t)>;

class ImageGenerator {
 public:
  explicit ImageGenerator(ImageTokenModel& model);
  ~ImageGenerator();
  ImageGenerator(const ImageGenerator&) = delete;
  ImageGenerator& operator=(const ImageGenerator&) = delete;
  ImageGenerationResult generate(const std::vector<ImageRequest>& images, const ImageGenerationOptions& options,
                                 const StepCallback& on_step = {});

  // Device memory that generate() needs for `images` images of `rows_per_image` rows (2, or 3 with a
  // partial condition) whose longest prompt has `longest` tokens, beyond the weights: the KV cache of the rows (on the fast path a power-of-two bucket of rows
  // and a capacity rounded up to 256 slots), the prefill's activations, and the decode step's logits,
  // guidance and sampling buffers. An estimate meant to err high, for choosing batch sizes.
  int64_t batch_memory_bytes(int64_t images, int64_t longest, const ImageGenerationOptions& options,
                             int64_t rows_per_image = 2) const;

 private:
  // The CUDA fast path: a batch-size bucket's cache, sampler and captured decode graph, kept for the
  // next call with the same bucket and sampling settings.
  struct FastState;
  FastState& fast_state(int64_t bucket, int64_t capacity, const ImageGenerationOptions& options);
  ImageGenerationResult generate_fast(const std::vector<ImageRequest>& images, int64_t longest,
                                      const ImageGenerationOptions& options, const StepCallback& on_step);

  ImageTokenModel& model_;
  std::unique_ptr<FastState> fast_;
};

}  // namespace januskit::engine
