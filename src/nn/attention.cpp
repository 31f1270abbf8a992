#include "nn/attention.hpp"

#include <ATen/ATen.h>
#include <c10/core/GradMode.h>

#include <limits>

namespace januskit::nn {

namespace {

// softmax(q kᵀ · scale + mask) v with explicit matrix products. Used when gradients are needed:
// LibTorch's fused CPU kernel is several times slower in training (backward, small heads) than these
// batched matmuls, and in bf16 slower still.
at::Tensor attention_math(const at::Tensor& q, const at::Tensor& k, const at::Tensor& v, const at::Tensor& mask,
                          double scale) {
  const int64_t groups = q.size(1) / k.size(1);
  at::Tensor kk = groups > 1 ? k.repeat_interleave(groups, 1) : k;
  at::Tensor vv = groups > 1 ? v.repeat_interleave(groups, 1) : v;
  at::Tensor scores = at::matmul(q, kk.transpose(-1, -2)).to(at::kFloat) * scale;
  if (mask.defined()) scores = scores.masked_fill(mask.logical_not(), -std::numeric_limits<float>::infinity());
  return at::matmul(scores.softmax(-1).to(vv.scalar_type()), vv);
}

}  // namespace

at::Tensor attention(const at::Tensor& q, const at::Tensor& k, const at::Tensor& v, const at::Tensor& mask,
                     double scale) {
  if (c10::GradMode::is_enabled() && (q.requires_grad() || k.requires_grad() || v.requires_grad())) {
    return attention_math(q, k, v, mask, scale);
  }
  const bool gqa = q.size(1) != k.size(1);
  std::optional<at::Tensor> attn_mask;
  if (mask.defined()) attn_mask = mask;
  return at::scaled_dot_product_attention(q, k, v, attn_mask, /*dropout_p=*/0.0, /*is_causal=*/false, scale, gqa);
}

at::Tensor causal_window_mask(const at::Tensor& row_start, int64_t first_slot, int64_t new_tokens) {
  const auto device = row_start.device();
  const int64_t kv_len = first_slot + new_tokens;
  at::Tensor slots = at::arange(kv_len, at::TensorOptions().dtype(at::kLong).device(device));          // [S]
  at::Tensor query_slot = at::arange(first_slot, kv_len, at::TensorOptions().dtype(at::kLong).device(device));  // [T]
  at::Tensor causal = slots.view({1, 1, 1, kv_len}) <= query_slot.view({1, 1, new_tokens, 1});       // [1,1,T,S]
  at::Tensor started = slots.view({1, 1, 1, kv_len}) >= row_start.view({-1, 1, 1, 1});                 // [B,1,1,S]
  at::Tensor self = slots.view({1, 1, 1, kv_len}) == query_slot.view({1, 1, new_tokens, 1});         // [1,1,T,S]
  return causal.logical_and(started).logical_or(self);
}

}  // namespace januskit::nn
