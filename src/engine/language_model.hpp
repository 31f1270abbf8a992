// The one interface the decoding core drives. A model (Llama/Qwen2 text decoders, Janus's language
// model) implements it; engine/ never knows which model it runs.
#pragma once

#include <ATen/core/Tensor.h>

#include "engine/kv_cache.hpp"

namespace januskit::engine {

class LanguageModel {
 public:
  virtual ~LanguageModel() = default;

  virtual CacheShape cache_shape() const = 0;
  virtual int64_t hidden_size() const = 0;
  virtual int64_t vocab_size() const = 0;        // rows of the output head (may exceed the tokenizer's)
  virtual int64_t max_positions() const = 0;     // the context the model was trained for
  virtual at::ScalarType dtype() const = 0;      // activation/weight dtype
  virtual c10::Device device() const = 0;

  // Token ids [B, T] (int64) -> input embeddings [B, T, D].
  virtual at::Tensor embed_tokens(const at::Tensor& ids) = 0;
  // Runs the decoder stack on embeddings [B, T, D] at the slots `batch` plans, writing keys/values
  // into `cache`; returns the final-normed hidden states [B, T, D]. Does not advance the cache.
  virtual at::Tensor forward(const at::Tensor& embeds, const ForwardBatch& batch, KVCache& cache) = 0;
  // Hidden states [..., D] -> next-token logits [..., V] in f32.
  virtual at::Tensor lm_logits(const at::Tensor& hidden) = 0;

  // A cache sized for this model.
  KVCache make_cache(int64_t batch, int64_t capacity) const {
    return KVCache(cache_shape(), batch, capacity, dtype(), device());
  }
};

}  // namespace januskit::engine
