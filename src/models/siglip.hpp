// SigLIP vision transformer, the understanding encoder of Janus-Pro (SigLIP-L/16 at 384 px):
// a 16x16 patch convolution, learned absolute position embeddings (no class token), pre-norm blocks
// (LayerNorm -> multi-head self-attention -> residual, LayerNorm -> GELU MLP -> residual) and a final
// LayerNorm. Output: one vector per patch, [B, (S/P)², width]. The attention-pool head stored in the
// checkpoints is never used by Janus, so it is not built.
#pragma once

#include <ATen/core/Tensor.h>

#include <vector>

namespace januskit::models {

struct SiglipConfig {
  int64_t image_size = 384;
  int64_t patch_size = 16;
  int64_t width = 1024;      // hidden size
  int64_t layers = 24;
  int64_t heads = 16;
  int64_t mlp_dim = 4096;
  double layer_norm_eps = 1e-6;

  int64_t grid() const { return image_size / patch_size; }
  int64_t num_patches() const { return grid() * grid(); }
};

struct SiglipBlockWeights {
  at::Tensor norm1_w, norm1_b;  // [W]
  at::Tensor qkv_w;             // [3W, W] q, k, v stacked
  at::Tensor qkv_b;             // [3W]
  at::Tensor proj_w, proj_b;    // [W, W], [W]
  at::Tensor norm2_w, norm2_b;  // [W]
  at::Tensor fc1_w, fc1_b;      // [M, W], [M]
  at::Tensor fc2_w, fc2_b;      // [W, M], [W]
};

struct SiglipWeights {
  at::Tensor patch_w, patch_b;  // [W, 3, P, P], [W]
  at::Tensor pos;               // [N, W]
  std::vector<SiglipBlockWeights> blocks;
  at::Tensor norm_w, norm_b;    // [W]
};

class SiglipEncoder {
 public:
  SiglipEncoder() = default;
  SiglipEncoder(SiglipConfig config, SiglipWeights weights);

  // pixels [B, 3, S, S] normalised to [-1, 1] -> [B, N, W]
  at::Tensor forward(const at::Tensor& pixels) const;
  const SiglipConfig& config() const { return config_; }
  SiglipWeights& weights() { return weights_; }

 private:
  at::Tensor block(const SiglipBlockWeights& b, const at::Tensor& x) const;

  SiglipConfig config_;
  SiglipWeights weights_;
};

}  // namespace januskit::models
