// The one public header of kernels/: host-side launchers for every CUDA kernel januskit has.
// Launchers take raw device pointers, sizes and a stream, and know nothing of tensors or models;
// src/nn checks shapes/dtypes and calls them. Compiled only when JANUSKIT_HAVE_CUDA is defined.
//
// Every launcher is safe inside CUDA graph capture: none allocates, synchronises or reads device
// memory from the host; values that change from one decode step to the next (positions, the cache
// slot, the sampling step) are read by the kernels from device memory.
#pragma once

#include <cuda_runtime_api.h>

#include <cstdint>

namespace januskit::kernels {

// Element types the kernels are instantiated for.
enum class DType { f32, bf16, f16 };

// RMSNorm over the last dimension, HF Llama semantics: y = w * cast(x * rsqrt(mean(x²) + eps)),
// with the mean and scaling in f32 and the normalised row cast to the input type before the weight
// multiply (as transformers does). x, out: [rows, cols] contiguous; weight: [cols]; all of `dtype`.
void rms_norm(const void* x, const void* weight, void* out, int64_t rows, int64_t cols, float eps, DType dtype,
              cudaStream_t stream);

// The residual add fused with the next RMSNorm (kernels/add_rms_norm.cu):
//   x = cast(x + residual)            (in place: x is the residual stream)
//   out = w * cast(x * rsqrt(mean(x²) + eps))
// With residual == nullptr it is a plain RMSNorm that leaves x alone. x, residual, out: [rows, cols]
// contiguous; weight [cols]; all of `dtype`.
void add_rms_norm(void* x, const void* residual, const void* weight, void* out, int64_t rows, int64_t cols,
                  float eps, DType dtype, cudaStream_t stream);

// Rotary embedding in place on q and k (kernels/rope.cu). Token t's head h starts at
// q + t * q_stride + h * head_dim (k alike): the q/k parts of a fused qkv projection are such views.
// The first rotary_dim dims of each head rotate, NeoX pairs (i, i + rotary_dim/2) or interleaved
// pairs (2i, 2i+1), by angle positions[t] * inv_freq[i] (f32); cos/sin are rounded to the element
// type before the rotation, as transformers does.
//
// Decode mode (k_cache != nullptr): the rotated key and the value v of token t are written into row
// t of the static cache at slot *slot — [rows = tokens, kv_heads, capacity, head_dim] — and k itself
// is left unrotated (nothing reads it afterwards).
struct RopeArgs {
  void* q = nullptr;
  void* k = nullptr;
  int64_t q_stride = 0, k_stride = 0;  // elements between consecutive tokens
  int64_t tokens = 0;                  // B·T
  int64_t q_heads = 0, k_heads = 0, head_dim = 0, rotary_dim = 0;
  const int64_t* positions = nullptr;  // [tokens], device
  const float* inv_freq = nullptr;     // [rotary_dim / 2], device
  bool interleaved = false;
  // decode mode
  const void* v = nullptr;
  int64_t v_stride = 0;
  void* k_cache = nullptr;
  void* v_cache = nullptr;
  int64_t capacity = 0;
  const int64_t* slot = nullptr;  // [1], device
};
void rope(const RopeArgs& args, DType dtype, cudaStream_t stream);

// SwiGLU on a fused gate/up projection (kernels/silu_mul.cu): out[r, i] = cast(cast(silu(g)) * u) with
// g = gate_up[r, i], u = gate_up[r, inter + i]. gate_up: [rows, 2·inter]; out: [rows, inter].
void silu_mul(const void* gate_up, void* out, int64_t rows, int64_t inter, DType dtype, cudaStream_t stream);

// Attention of one new query per row against the static KV cache (kernels/decode_attention.cu):
// split-K ("flash decoding") over the visible keys [row_start[b], *slot] with grouped-query heads,
// f32 accumulation; the last block of each (row, kv head) to finish combines the splits.
struct DecodeAttentionArgs {
  const void* q = nullptr;  // row b's head h at q + b * q_row_stride + h * head_dim
  int64_t q_row_stride = 0;
  const void* k_cache = nullptr;  // [batch, kv_heads, capacity, head_dim]
  const void* v_cache = nullptr;
  void* out = nullptr;  // [batch, heads, head_dim] contiguous
  const int64_t* row_start = nullptr;  // [batch], device
  const int64_t* slot = nullptr;       // [1], device: the newest visible slot
  int64_t batch = 0, heads = 0, kv_heads = 0, head_dim = 0, capacity = 0;
  float scale = 1.0f;
  int splits = 1;             // from decode_attention_splits()
  void* workspace = nullptr;  // decode_attention_workspace_bytes(); zero-filled once, left zeroed by every call
};
// Head dims the kernel is built for (others use the LibTorch twin).
bool decode_attention_supports(int64_t head_dim, int64_t group_size);
// Key splits per (row, kv head) so that the grid covers the GPU about twice; 1 for short caches.
int decode_attention_splits(int64_t batch, int64_t kv_heads, int64_t group_size, int64_t capacity, int sm_count);
int64_t decode_attention_workspace_bytes(int64_t batch, int64_t heads, int64_t kv_heads, int64_t head_dim,
                                         int splits);
void decode_attention(const DecodeAttentionArgs& args, DType dtype, cudaStream_t stream);

// The sampling tail in one kernel (kernels/sampling.cu), one block per sampled row:
//   [CFG mix of (cond, uncond) rows] -> vocabulary limit -> repetition/presence/frequency penalties
//   -> argmax, or temperature -> top-k -> top-p -> min-p -> softmax -> inverse-CDF draw with
//   counter_uniform(seeds[n], *step)
// with the semantics of engine::Sampler (see the design note in sampling.cu for exact ties). The token
// is written to tokens[n] and, when history is set, to history[*step * rows + n].
struct SampleArgs {
  const float* logits = nullptr;  // [rows_in, vocab] f32; rows_in = rows, or 2·rows with CFG
  int64_t vocab = 0;
  int64_t rows = 0;            // sampled rows N
  int cfg = 0;                 // 0: none; 1: interleaved (2n, 2n+1); 2: blocks (n, N + n) = (cond, uncond)
  float cfg_weight = 1.0f;     // uncond + w · (cond − uncond)
  int64_t vocab_limit = 0;     // > 0: ids >= vocab_limit get −inf first
  const uint8_t* seen = nullptr;   // [rows, vocab] bool: repetition penalty applies (null: off)
  float repetition_penalty = 1.0f;
  const float* counts = nullptr;   // [rows, vocab] occurrences (null: presence/frequency off)
  float presence_penalty = 0.0f, frequency_penalty = 0.0f;
  bool greedy = false;
  float temperature = 1.0f;    // applied when != 1
  int64_t top_k = 0;           // 0: off
  double top_p = 1.0;          // 1: off (double: the CPU computes 1 − p in double)
  float min_p = 0.0f;          // 0: off
  const int64_t* seeds = nullptr;  // [rows] (uint64 bit patterns)
  const int64_t* step = nullptr;   // [1], device
  float* scratch = nullptr;        // [rows, vocab] f32 work space
  int64_t* tokens = nullptr;       // [rows] out
  int64_t* history = nullptr;      // [history_steps, rows] or null
  int64_t history_steps = 0;
};
void sample(const SampleArgs& args, cudaStream_t stream);

// Weight-only quantized matmul (kernels/quant_matmul.cu) with nn/quant.hpp's formula
//   y[m, n] = Σ_k x[m, k] · scale[n, g] · (code[n, k] − zero[n, g]) + bias[n],   g = k / group
// codes: bits 8: one per byte [N, K]; bits 4: two per byte [N, K / 2], the even k in the low nibble.
// scales: IEEE half [N, groups]; zeros: uint8 [N, groups]. K must be a multiple of 32 and the group a
// multiple of 32 (or >= K: one group per row). x, bias, y: `dtype`, f32 accumulation.
struct QuantMatmulArgs {
  const void* x = nullptr;  // [M, K], row stride ldx
  int64_t ldx = 0;
  const uint8_t* codes = nullptr;
  const uint16_t* scales = nullptr;
  const uint8_t* zeros = nullptr;
  int bits = 8;
  int64_t group = 0, groups = 0;
  const void* bias = nullptr;  // [N] or null
  void* y = nullptr;           // [M, N], row stride ldy
  int64_t ldy = 0;
  int64_t M = 0, N = 0, K = 0;
};
constexpr int64_t kQuantGemvMaxRows = 8;
bool quant_matmul_supports(int bits, int64_t K, int64_t group);
// M <= kQuantGemvMaxRows (decode): one warp per output row reads the codes once for all M rows.
void quant_gemv(const QuantMatmulArgs& args, DType dtype, cudaStream_t stream);
// The dense weight [N, K] of `dtype` (prefill: a cuBLAS GEMM follows); x, y, bias of args are unused.
void quant_dequantize(const QuantMatmulArgs& args, void* weight, DType dtype, cudaStream_t stream);

}  // namespace januskit::kernels
