// Rotary position embeddings (RoPE), with the frequency rules of transformers:
//   default  inv_freq[i] = 1 / theta^(2i/d)
//   linear   inv_freq / factor
//   llama3   Llama-3.1's piecewise rule: high frequencies kept, low ones divided by `factor`,
//            a smooth blend between (see RopeConfig)
// Two pairings: NeoX / "rotate_half" (dim i with i + d/2; HF Llama, Qwen2, Janus) and interleaved
// (dim 2i with 2i+1; DeepSeek-V3's MLA slice). cos/sin are computed in f32 for the positions at hand
// and cast to the activation dtype before the rotation, as transformers does.
#pragma once

#include <ATen/core/Tensor.h>

#include <cstdint>

namespace januskit::nn {

struct RopeConfig {
  enum class Scaling { none, linear, llama3 };
  int64_t rotary_dim = 0;      // dims rotated per head (= head_dim for all models here)
  double theta = 10000.0;
  Scaling scaling = Scaling::none;
  double factor = 1.0;                  // linear and llama3
  double low_freq_factor = 1.0;         // llama3
  double high_freq_factor = 4.0;        // llama3
  int64_t original_max_positions = 8192;  // llama3
  bool interleaved = false;             // false: NeoX rotate_half pairing
};

// [rotary_dim / 2] f32 inverse frequencies, computed with the same tensor operations as transformers.
at::Tensor rope_inv_freq(const RopeConfig& config);

class RotaryEmbedding {
 public:
  RotaryEmbedding() = default;
  RotaryEmbedding(const RopeConfig& config, c10::Device device);

  // cos, sin for `positions` [B, T] (int64): each [B, T, rotary_dim], f32.
  std::pair<at::Tensor, at::Tensor> cos_sin(const at::Tensor& positions) const;
  // Rotates x [B, heads, T, head_dim] in place of a copy; cos/sin from cos_sin().
  at::Tensor apply(const at::Tensor& x, const at::Tensor& cos, const at::Tensor& sin) const;
  const RopeConfig& config() const { return config_; }
  const at::Tensor& inv_freq() const { return inv_freq_; }

 private:
  RopeConfig config_;
  at::Tensor inv_freq_;  // [rotary_dim / 2] f32, on the model's device
};

// The plain-LibTorch rotation (CPU twin of the CUDA kernel): x [B, H, T, d], cos/sin [B, T, d].
at::Tensor apply_rope_torch(const at::Tensor& x, const at::Tensor& cos, const at::Tensor& sin, bool interleaved);

// In place on q [B, T, H, d] and k [B, T, KVH, d] — views with contiguous heads, such as the q and k
// parts of a fused qkv projection — at positions [B, T] int64 on their device. The CUDA kernel
// (kernels/rope.cu) when compiled in and the layout allows, else the twin (apply_rope_torch) copied back.
void apply_rope_(at::Tensor& q, at::Tensor& k, const at::Tensor& positions, const RotaryEmbedding& rope);

// Decode step (one new token per row): rotates q [B, H, d] in place and writes the rotated k and v
// (each [B, KVH, d]) into the static cache k_cache/v_cache [B, KVH, capacity, d] at `slot` ([1] int64
// on the device); positions [B]. Nothing is read back to the host, so it can be captured in a CUDA
// graph. CUDA kernel when compiled in, else rope_cache_write_torch.
void rope_cache_write(at::Tensor& q, const at::Tensor& k, const at::Tensor& v, const at::Tensor& positions,
                      const RotaryEmbedding& rope, at::Tensor& k_cache, at::Tensor& v_cache, const at::Tensor& slot);
// The plain-LibTorch twin of rope_cache_write (any device; graph-safe on CUDA too).
void rope_cache_write_torch(at::Tensor& q, const at::Tensor& k, const at::Tensor& v, const at::Tensor& positions,
                            const RotaryEmbedding& rope, at::Tensor& k_cache, at::Tensor& v_cache,
                            const at::Tensor& slot);

}  // namespace januskit::nn
