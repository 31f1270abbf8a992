#include "nn/rope.hpp"

#include <ATen/ATen.h>

#include <cmath>

#include "nn/cuda_dispatch.hpp"

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
    // (x1, x2) -> (-x2, x1) as a roll by half and the sign folded into sin: the same products (a
    // sign flip is exact), with fewer operations and, in training, a backward that is one roll
    // instead of two zero-filled slices, a negation and a concatenation.
    at::Tensor signed_sin = at::cat({-s.narrow(-1, 0, d / 2), s.narrow(-1, d / 2, d / 2)}, -1);
    rotated = rot * c + rot.roll(d / 2, -1) * signed_sin;
  }
  if (d == x.size(-1)) return rotated;
  return at::cat({rotated, x.narrow(-1, d, x.size(-1) - d)}, -1);
}

namespace {

#ifdef JANUSKIT_HAVE_CUDA
// The kernel needs each head's dims contiguous, heads adjacent (stride d), and one stride per token.
bool heads_packed(const at::Tensor& x) {
  return x.stride(-1) == 1 && x.stride(-2) == x.size(-1);
}

kernels::RopeArgs rope_args(const RotaryEmbedding& rope) {
  kernels::RopeArgs a;
  a.rotary_dim = rope.config().rotary_dim;
  a.interleaved = rope.config().interleaved;
  a.inv_freq = rope.inv_freq().data_ptr<float>();
  return a;
}

bool rope_kernel_usable(const at::Tensor& q, const at::Tensor& k, const at::Tensor& positions,
                        const RotaryEmbedding& rope) {
  return q.is_cuda() && kernel_dtype_supported(q.scalar_type()) && k.scalar_type() == q.scalar_type() &&
         positions.is_cuda() && positions.scalar_type() == at::kLong && positions.is_contiguous() &&
         rope.inv_freq().is_cuda() && rope.inv_freq().scalar_type() == at::kFloat && heads_packed(q) &&
         heads_packed(k) && q.size(-1) == k.size(-1) && rope.config().rotary_dim <= q.size(-1) &&
         rope.config().rotary_dim % 2 == 0;
}
#endif

}  // namespace

void apply_rope_(at::Tensor& q, at::Tensor& k, const at::Tensor& positions, const RotaryEmbedding& rope) {
  TORCH_CHECK(q.dim() == 4 && k.dim() == 4 && positions.dim() == 2 && q.size(0) == positions.size(0) &&
                  q.size(1) == positions.size(1) && k.size(0) == q.size(0) && k.size(1) == q.size(1),
              "apply_rope_: expected q [B, T, H, d], k [B, T, KVH, d], positions [B, T]; got ", q.sizes(), ", ",
              k.sizes(), ", ", positions.sizes());
#ifdef JANUSKIT_HAVE_CUDA
  // One stride per token: [B, T] must flatten (T·stride(1) == stride(0)).
  if (rope_kernel_usable(q, k, positions, rope) && q.stride(0) == q.size(1) * q.stride(1) &&
      k.stride(0) == k.size(1) * k.stride(1)) {
    kernels::RopeArgs a = rope_args(rope);
    a.q = q.data_ptr();
    a.k = k.data_ptr();
    a.q_stride = q.stride(1);
    a.k_stride = k.stride(1);
    a.tokens = q.size(0) * q.size(1);
    a.q_heads = q.size(2);
    a.k_heads = k.size(2);
    a.head_dim = q.size(3);
    a.positions = positions.data_ptr<int64_t>();
    kernels::rope(a, kernel_dtype(q.scalar_type()), current_stream(q.device()));
    return;
  }
#endif
  auto [cos, sin] = rope.cos_sin(positions);
  q.copy_(apply_rope_torch(q.transpose(1, 2), cos, sin, rope.config().interleaved).transpose(1, 2));
  k.copy_(apply_rope_torch(k.transpose(1, 2), cos, sin, rope.config().interleaved).transpose(1, 2));
}

void rope_cache_write_torch(at::Tensor& q, const at::Tensor& k, const at::Tensor& v, const at::Tensor& positions,
                            const RotaryEmbedding& rope, at::Tensor& k_cache, at::Tensor& v_cache,
                            const at::Tensor& slot) {
  auto [cos, sin] = rope.cos_sin(positions.view({-1, 1}));  // [B, 1, d]
  const bool inter = rope.config().interleaved;
  q.copy_(apply_rope_torch(q.unsqueeze(2), cos, sin, inter).squeeze(2));
  at::Tensor k_rot = apply_rope_torch(k.unsqueeze(2), cos, sin, inter);  // [B, KVH, 1, d]
  k_cache.index_copy_(2, slot, k_rot);
  v_cache.index_copy_(2, slot, v.unsqueeze(2));
}

void rope_cache_write(at::Tensor& q, const at::Tensor& k, const at::Tensor& v, const at::Tensor& positions,
                      const RotaryEmbedding& rope, at::Tensor& k_cache, at::Tensor& v_cache, const at::Tensor& slot) {
  TORCH_CHECK(q.dim() == 3 && k.dim() == 3 && v.sizes() == k.sizes() && k_cache.dim() == 4 &&
                  k_cache.sizes() == v_cache.sizes() && k_cache.size(0) == q.size(0) && k_cache.size(1) == k.size(1) &&
                  k_cache.size(3) == k.size(2) && positions.numel() == q.size(0) && slot.numel() == 1,
              "rope_cache_write: expected q [B, H, d], k/v [B, KVH, d], caches [B, KVH, capacity, d], positions [B], "
              "slot [1]; got ", q.sizes(), ", ", k.sizes(), ", ", k_cache.sizes());
#ifdef JANUSKIT_HAVE_CUDA
  if (rope_kernel_usable(q, k, positions, rope) && heads_packed(v) && v.scalar_type() == q.scalar_type() &&
      k_cache.scalar_type() == q.scalar_type() && v_cache.scalar_type() == q.scalar_type() &&
      k_cache.is_contiguous() && v_cache.is_contiguous() && slot.is_cuda() && slot.scalar_type() == at::kLong) {
    kernels::RopeArgs a = rope_args(rope);
    a.q = q.data_ptr();
    a.k = const_cast<void*>(k.data_ptr());  // read only in decode mode
    a.q_stride = q.stride(0);
    a.k_stride = k.stride(0);
    a.tokens = q.size(0);
    a.q_heads = q.size(1);
    a.k_heads = k.size(1);
    a.head_dim = q.size(2);
    a.positions = positions.data_ptr<int64_t>();
    a.v = v.data_ptr();
    a.v_stride = v.stride(0);
    a.k_cache = k_cache.data_ptr();
    a.v_cache = v_cache.data_ptr();
    a.capacity = k_cache.size(2);
    a.slot = slot.data_ptr<int64_t>();
    kernels::rope(a, kernel_dtype(q.scalar_type()), current_stream(q.device()));
    return;
  }
#endif
  rope_cache_write_torch(q, k, v, positions, rope, k_cache, v_cache, slot);
}

}  // namespace januskit::nn
