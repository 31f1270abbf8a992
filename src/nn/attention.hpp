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

}  // namespace januskit::nn
