#include "models/siglip.hpp"

#include <ATen/ATen.h>

#include <cmath>

#include "nn/activations.hpp"
#include "nn/attention.hpp"

namespace januskit::models {

SiglipEncoder::SiglipEncoder(SiglipConfig config, SiglipWeights weights)
    : config_(config), weights_(std::move(weights)) {}

at::Tensor SiglipEncoder::forward(const at::Tensor& pixels) const {
  const auto& w = weights_;
  at::Tensor x = at::conv2d(pixels.to(w.patch_w.scalar_type()), w.patch_w, w.patch_b, config_.patch_size);
  x = x.flatten(2).transpose(1, 2) + w.pos;  // [B, N, W], patches in raster order
  for (const auto& b : w.blocks) x = block(b, x);
  return at::layer_norm(x, {config_.width}, w.norm_w, w.norm_b, config_.layer_norm_eps);
}

at::Tensor SiglipEncoder::block(const SiglipBlockWeights& b, const at::Tensor& x) const {
  const int64_t B = x.size(0), N = x.size(1), W = config_.width, H = config_.heads, d = W / H;
  at::Tensor h = at::layer_norm(x, {W}, b.norm1_w, b.norm1_b, config_.layer_norm_eps);
  at::Tensor qkv = at::linear(h, b.qkv_w, b.qkv_b).view({B, N, 3, H, d}).permute({2, 0, 3, 1, 4});  // [3, B, H, N, d]
  at::Tensor attn = nn::attention(qkv[0], qkv[1], qkv[2], at::Tensor(), 1.0 / std::sqrt(static_cast<double>(d)));
  at::Tensor out = x + at::linear(attn.transpose(1, 2).reshape({B, N, W}), b.proj_w, b.proj_b);
  h = at::layer_norm(out, {W}, b.norm2_w, b.norm2_b, config_.layer_norm_eps);
  return out + at::linear(nn::gelu(at::linear(h, b.fc1_w, b.fc1_b)), b.fc2_w, b.fc2_b);
}

}  // namespace januskit::models
