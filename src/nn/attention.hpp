// Attention of new query positions against a key/value window (the KV cache), with grouped-query
// heads and a boolean visibility mask. On the CPU (and for prefill on CUDA) this is LibTorch's
// scaled_dot_product_attention; the CUDA decode path replaces it with a split-K kernel.
#pragma once

#include <ATen/core/Tensor.h>

#include <cstdint>

namespace januskit::nn {

// q [B, H, T, d]; k, v [B, KVH, S, d] with H a multiple of KVH; mask bool [B, 1, T, S] (true = may
// attend) or undefined for full attention. Returns [B, H, T, d].
at::Tensor attention(const at::Tensor& q, const at::Tensor& k, const at::Tensor& v, const at::Tensor& mask,
                     double scale);

// The visibility mask of a causal decoder whose cache rows are left-aligned at different starts:
// query t (cache slot first_slot + t) of row b sees slot j when row_start[b] <= j <= first_slot + t.
// A padding query (first_slot + t < row_start[b]) sees only itself, so no row of the softmax is
// empty: empty rows would produce NaN, which would then leak through masked slots (0 * NaN).
// row_start: [B] int64. Returns bool [B, 1, T, first_slot + T].
at::Tensor causal_window_mask(const at::Tensor& row_start, int64_t first_slot, int64_t new_tokens);

// Decode attention: one new query per row against the static cache, row b seeing slots
// [row_start[b], slot] (row_start [B] and slot [1] int64 on the device, read there — nothing goes
// back to the host, so the call can be captured in a CUDA graph). q [B, H, d] (rows may be strided,
// e.g. a view into the fused qkv projection); k_cache, v_cache [B, KVH, capacity, d]. Returns
// [B, H, d] contiguous. On CUDA the split-K kernel (kernels/decode_attention.cu) runs when compiled in
// and the head size is supported; `workspace` is its scratch (its size depends on the shapes only):
// pass the same tensor for every call of a decode step — it is allocated (zeroed) on first use.
at::Tensor decode_attention(const at::Tensor& q, const at::Tensor& k_cache, const at::Tensor& v_cache,
                            const at::Tensor& row_start, const at::Tensor& slot, double scale, at::Tensor& workspace);
// The plain-LibTorch twin (any device; on CUDA also graph-safe): attention() over the whole capacity
// with the visibility mask built on the device.
at::Tensor decode_attention_torch(const at::Tensor& q, const at::Tensor& k_cache, const at::Tensor& v_cache,
                                  const at::Tensor& row_start, const at::Tensor& slot, double scale);

}  // namespace januskit::nn
