#include "nn/rope.hpp"

#include <ATen/ATen.h>

#include <cmath>

namespace januskit::nn {

at::Tensor rope_inv_freq(const RopeConfig& c) {
  const int64_t dim = c.rotary_dim;
  // 1 / theta^(arange(0, dim, 2) / dim), in f32 exactly as transformers computes it.
  at::Tensor exponent = at::arange(0, dim, 2, at::kLong).to(at::kFloat) / static_cast<double>(dim);
  // Python's `scalar / tensor` is `tensor.reciprocal() * scalar`; spelled the same way here so the
  // frequencies match transformers to the last bit.
  at::Tensor inv_freq = at::pow(c.theta, exponent).reciprocal();
  switch (c.scaling) {
    case RopeConfig::Scaling::none:
      return inv_freq;
    case RopeConfig::Scaling::linear:
      return inv_freq / c.factor;
    case RopeConfig::Scaling::llama3: {
      const double old_len = static_cast<double>(c.original_max_positions);
      const double low_freq_wavelen = old_len / c.low_freq_factor;
      const double high_freq_wavelen = old_len / c.high_freq_factor;
      at::Tensor wavelen = inv_freq.reciprocal() * (2 * M_PI);
      at::Tensor scaled = at::where(wavelen > low_freq_wavelen, inv_freq / c.factor, inv_freq);
      at::Tensor smooth = (wavelen.reciprocal() * old_len - c.low_freq_factor) / (c.high_freq_factor - c.low_freq_factor);
      at::Tensor smoothed = (1 - smooth) * scaled / c.factor + smooth * scaled;
      at::Tensor medium = (wavelen >= high_freq_wavelen).logical_and(wavelen <= low_freq_wavelen);
      return at::where(medium, smoothed, scaled);
    }
  }
  return inv_freq;
}

RotaryEmbedding::RotaryEmbedding(const RopeConfig& config, c10::Device device)
    : config_(config), inv_freq_(rope_inv_freq(config).to(device)) {}

std::pair<at::Tensor, at::Tensor> RotaryEmbedding::cos_sin(const at::Tensor& positions) const {
  // freqs[b, t, i] = position * inv_freq[i]: one f32 product, the same as transformers' K=1 matmul.
  at::Tensor freqs = positions.to(at::kFloat).unsqueeze(-1) * inv_freq_;
  at::Tensor emb = config_.interleaved ? freqs.repeat_interleave(2, -1) : at::cat({freqs, freqs}, -1);
  return {emb.cos(), emb.sin()};
}

at::Tensor RotaryEmbedding::apply(const at::Tensor& x, const at::Tensor& cos, const at::Tensor& sin) const {
  return apply_rope_torch(x, cos, sin, config_.interleaved);
}

at::Tensor apply_rope_torch(const at::Tensor& x, const at::Tensor& cos, const at::Tensor& sin, bool interleaved) {
  const int64_t d = cos.size(-1);
  at::Tensor c = cos.to(x.scalar_type()).unsqueeze(1);  // [B, 1, T, d] broadcasts over heads
  at::Tensor s = sin.to(x.scalar_type()).unsqueeze(1);
  at::Tensor rot = d == x.size(-1) ? x : x.narrow(-1, 0, d);
  at::Tensor rotated;
  if (interleaved) {
    // pairs (2i, 2i+1): (a, b) -> (-b, a)
    at::Tensor pairs = rot.unflatten(-1, {d / 2, 2});
    at::Tensor turned = at::stack({-pairs.select(-1, 1), pairs.select(-1, 0)}, -1).flatten(-2);
    rotated = rot * c + turned * s;
  } else {
    at::Tensor half1 = rot.narrow(-1, 0, d / 2), half2 = rot.narrow(-1, d / 2, d / 2);
    rotated = rot * c + at::cat({-half2, half1}, -1) * s;
  }
  if (d == x.size(-1)) return rotated;
  return at::cat({rotated, x.narrow(-1, d, x.size(-1) - d)}, -1);
}

}  // namespace januskit::nn
