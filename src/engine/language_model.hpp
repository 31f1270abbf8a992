// The one interface the decoding core drives. A model (Llama/Qwen2 text decoders, Janus's language
// model) implements it; engine/ never knows which model it runs.
#pragma once

#include <ATen/core/Tensor.h>

#include <string>

#include "engine/kv_cache.hpp"

namespace januskit::engine {

// What a fixed-shape decode step (one new token per row) reads from device memory instead of from the
// host: engine/decode_graph.hpp keeps these in one device buffer and advances them on the device.
struct DecodeInputs {
  at::Tensor slot;       // [1] int64: the cache slot of the new tokens (the same for every row)
  at::Tensor positions;  // [B] int64: each row's rotary position (slot − its row start)
};

class LanguageModel {
 public:
  virtual ~LanguageModel() = default;

  virtual CacheShape cache_shape() const = 0;
  virtual int64_t hidden_size() const = 0;
  virtual int64_t vocab_size() const = 0;        // rows of the output head (may exceed the tokenizer's)
  virtual int64_t max_positions() const = 0;     // the context the model was trained for
  virtual at::ScalarType dtype() const = 0;      // activation/weight dtype
  virtual c10::Device device() const = 0;
  // The form of the large weights, for logs and `bench` ("bf16", "int4 g32 (avx512-vnni), head int4 g32 ...").
  virtual std::string describe_weights() const;
  // Bytes of weights resident on the device (memory planning).
  virtual int64_t weight_bytes() const = 0;

  // Token ids [B, T] (int64) -> input embeddings [B, T, D].
  virtual at::Tensor embed_tokens(const at::Tensor& ids) = 0;
  // Runs the decoder stack on embeddings [B, T, D] at the slots `batch` plans, writing keys/values
  // into `cache`; returns the final-normed hidden states [B, T, D]. Does not advance the cache.
  virtual at::Tensor forward(const at::Tensor& embeds, const ForwardBatch& batch, KVCache& cache) = 0;
  // Hidden states [..., D] -> next-token logits [..., V] in f32.
  virtual at::Tensor lm_logits(const at::Tensor& hidden) = 0;

  // The decode fast path (CUDA): embeddings [B, 1, D] of one new token per row -> final-normed hidden
  // states [B, D], keys/values written at inputs.slot; cache row starts from cache.row_start_tensor().
  // It must read nothing back to the host and allocate the same shapes every call, so that the engine
  // can capture it once as a CUDA graph and replay it. Models that provide it return true from
  // has_decode_step(); the engine calls decode_step() only then, and forward() otherwise.
  virtual bool has_decode_step() const { return false; }
  virtual at::Tensor decode_step(const at::Tensor& embeds, const DecodeInputs& inputs, KVCache& cache);

  // A cache sized for this model.
  KVCache make_cache(int64_t batch, int64_t capacity) const {
    return KVCache(cache_shape(), batch, capacity, dtype(), device());
  }
};

}  // namespace januskit::engine
