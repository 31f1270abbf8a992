#include "nn/attention.hpp"

#include <ATen/ATen.h>
#include <c10/core/GradMode.h>

#include <limits>

#include "nn/cuda_dispatch.hpp"

#ifdef JANUSKIT_HAVE_CUDA
#include <ATen/cuda/CUDAContext.h>
#endif

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
  // Scaled and masked in place: the float copy is fresh, and neither step keeps it for backward.
  // The mask is added as 0 / -inf (the same scores as masked_fill) so backward passes the gradient
  // through instead of copying and masking it: one score-sized pass fewer each way.
  at::Tensor scores = at::matmul(q, kk.transpose(-1, -2)).to(at::kFloat).mul_(scale);
  if (mask.defined()) {
    scores.add_(at::zeros(mask.sizes(), scores.options().requires_grad(false))
                    .masked_fill_(mask.logical_not(), -std::numeric_limits<float>::infinity()));
  }
  return at::matmul(scores.softmax(-1).to(vv.scalar_type()), vv);
}

// One query per row on the CPU (a decode step): the G = H / KVH query heads of a group share their
// key and value rows, so the scores are one [G, d] x [d, S] product per (row, kv head) straight from
// the cache window as it lies, in f32, without expanding the groups. LibTorch's fused kernel spent
// ~19 ms per token on 512 extra tokens of context in a 1.5B decode step whose whole KV window is
// 16 MB (docs/perf.md); these few products are bandwidth-cheap at that size.
at::Tensor decode_attention_cpu(const at::Tensor& q, const at::Tensor& k, const at::Tensor& v, const at::Tensor& mask,
                                double scale) {
  const int64_t B = q.size(0), H = q.size(1), KVH = k.size(1), d = q.size(3);
  const at::Tensor qg = q.reshape({B, KVH, H / KVH, d}).to(at::kFloat);                   // [B, KVH, G, d]
  at::Tensor scores = at::matmul(qg, k.to(at::kFloat).transpose(-1, -2)).mul_(scale);     // [B, KVH, G, S]
  if (mask.defined()) {
    // mask [B or 1, 1, 1, S]: the same window for every head of a row.
    scores.masked_fill_(mask.view({mask.size(0), 1, 1, mask.size(-1)}).logical_not(),
                        -std::numeric_limits<float>::infinity());
  }
  const at::Tensor out = at::matmul(scores.softmax(-1), v.to(at::kFloat));                 // [B, KVH, G, d]
  return out.view({B, H, 1, d}).to(q.scalar_type());
}

}  // namespace

at::Tensor attention(const at::Tensor& q, const at::Tensor& k, const at::Tensor& v, const at::Tensor& mask,
                     double scale) {
  if (c10::GradMode::is_enabled() && (q.requires_grad() || k.requires_grad() || v.requires_grad())) {
    return attention_math(q, k, v, mask, scale);
  }
  if (q.device().is_cpu() && q.size(2) == 1 && q.size(1) % k.size(1) == 0 &&
      (!mask.defined() || (mask.scalar_type() == at::kBool && mask.dim() == 4 && mask.size(1) == 1 && mask.size(2) == 1))) {
    return decode_attention_cpu(q, k, v, mask, scale);
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

at::Tensor decode_attention_torch(const at::Tensor& q, const at::Tensor& k_cache, const at::Tensor& v_cache,
                                  const at::Tensor& row_start, const at::Tensor& slot, double scale) {
  const int64_t capacity = k_cache.size(2);
  at::Tensor slots = at::arange(capacity, at::TensorOptions().dtype(at::kLong).device(k_cache.device()));
  at::Tensor visible = (slots.unsqueeze(0) >= row_start.unsqueeze(1)).logical_and(slots.unsqueeze(0) <= slot);  // [B, S]
  at::Tensor out = attention(q.unsqueeze(2), k_cache, v_cache, visible.view({q.size(0), 1, 1, capacity}), scale);
  return out.squeeze(2);
}

at::Tensor decode_attention(const at::Tensor& q, const at::Tensor& k_cache, const at::Tensor& v_cache,
                            const at::Tensor& row_start, const at::Tensor& slot, double scale, at::Tensor& workspace) {
  TORCH_CHECK(q.dim() == 3 && k_cache.dim() == 4 && v_cache.sizes() == k_cache.sizes() && q.size(0) == k_cache.size(0) &&
                  q.size(2) == k_cache.size(3) && q.size(1) % k_cache.size(1) == 0 && row_start.numel() == q.size(0) &&
                  slot.numel() == 1,
              "decode_attention: expected q [B, H, d], caches [B, KVH, capacity, d] with H a multiple of KVH, "
              "row_start [B], slot [1]; got ", q.sizes(), ", ", k_cache.sizes());
#ifdef JANUSKIT_HAVE_CUDA
  const auto t = q.scalar_type();
  const int64_t B = q.size(0), H = q.size(1), KVH = k_cache.size(1), d = q.size(2), capacity = k_cache.size(2);
  const int64_t esize = static_cast<int64_t>(q.element_size());
  const auto aligned = [](const void* p) { return (reinterpret_cast<uintptr_t>(p) & 15u) == 0; };
  if (q.is_cuda() && kernel_dtype_supported(t) && k_cache.scalar_type() == t && v_cache.scalar_type() == t &&
      kernels::decode_attention_supports(d, H / KVH) && q.stride(2) == 1 && q.stride(1) == d &&
      (q.stride(0) * esize) % 16 == 0 && aligned(q.data_ptr()) && k_cache.is_contiguous() &&
      v_cache.is_contiguous() && aligned(k_cache.data_ptr()) && aligned(v_cache.data_ptr()) && row_start.is_cuda() &&
      row_start.scalar_type() == at::kLong && row_start.is_contiguous() && slot.is_cuda() &&
      slot.scalar_type() == at::kLong) {
    const int sms = at::cuda::getCurrentDeviceProperties()->multiProcessorCount;
    const int splits = kernels::decode_attention_splits(B, KVH, H / KVH, capacity, sms);
    const int64_t bytes = kernels::decode_attention_workspace_bytes(B, H, KVH, d, splits);
    if (bytes > 0 && (!workspace.defined() || workspace.nbytes() < static_cast<size_t>(bytes) ||
                      workspace.device() != q.device())) {
      // Zeroed once: the kernel leaves its tickets at zero after every call.
      workspace = at::zeros({(bytes + 3) / 4}, q.options().dtype(at::kFloat));
    }
    at::Tensor out = at::empty({B, H, d}, q.options());
    kernels::DecodeAttentionArgs a;
    a.q = q.data_ptr();
    a.q_row_stride = q.stride(0);
    a.k_cache = k_cache.data_ptr();
    a.v_cache = v_cache.data_ptr();
    a.out = out.data_ptr();
    a.row_start = row_start.data_ptr<int64_t>();
    a.slot = slot.data_ptr<int64_t>();
    a.batch = B;
    a.heads = H;
    a.kv_heads = KVH;
    a.head_dim = d;
    a.capacity = capacity;
    a.scale = static_cast<float>(scale);
    a.splits = splits;
    a.workspace = bytes > 0 ? workspace.data_ptr() : nullptr;
    kernels::decode_attention(a, kernel_dtype(t), current_stream(q.device()));
    return out;
  }
#endif
  (void)workspace;
  return decode_attention_torch(q, k_cache, v_cache, row_start, slot, scale);
}

}  // namespace januskit::nn
