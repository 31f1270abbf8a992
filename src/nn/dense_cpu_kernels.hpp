// The CPU kernels of the dense bf16 linear layer at decode sizes (a few activation rows): raw pointers,
// no LibTorch, so that the SIMD form compiles in a translation unit of its own with its own target
// flags (nn/dense_cpu.cpp chooses and calls; quant_cpu_kernels.hpp's helpers are shared).
//
// Why not at::linear: for one to a few rows oneDNN/MKL's bf16 GEMV streamed the weights at ~27 GB/s in
// a whole decode step where the int8 kernels, reading the same way, reached ~37 GB/s (docs/perf.md).
//
// The activations are widened to f32 once per call and laid out per chunk of 32 inputs as the 16 even
// then the 16 odd ones (DenseGemv::x below), so that a 64-byte load of 32 bf16 weights widens with two
// in-lane operations (shift for the even, mask for the odd elements) and no shuffles.
//
// Every form computes, for output row n and activation row m, in f32:
//   e[l] = o[l] = 0 for the 16 lanes l
//   for each chunk k0 = 0, 32, 64, ...:   (w and x read as 0 past K)
//     e[l] = fma(w[n][k0 + 2l],     x[m][k0 + 2l],     e[l])
//     o[l] = fma(w[n][k0 + 2l + 1], x[m][k0 + 2l + 1], o[l])
//   acc[l] = e[l] + o[l];  then pairwise: s8[l] = acc[l] + acc[l+8], s4[l] = s8[l] + s8[l+4],
//   s2[l] = s4[l] + s4[l+2], s = s2[0] + s2[1]
//   y = s + bias[n]  (when there is a bias), stored as f32 or rounded to bf16 (nearest even)
// so the SIMD form is bit-for-bit equal to the plain twin (tested).
//
// The pair form, for bf16 activations on CPUs with AVX512_BF16: one VDPBF16PS per 32 weights instead
// of two widening operations and two FMAs, which is what a single core needs to keep up with memory
// (1 thread, R1-Distill-Qwen-1.5B: the widening form decodes 6.6 tok/s, llama.cpp's pair-based BF16
// 9.8, docs/perf.md). The activations stay bf16 in their own order, zero past K
// (dense_gemv_pack_bf16_activations), and lane l of each chunk takes inputs 2l and 2l + 1 the way the
// instruction does (Intel SDM, VDPBF16PS: odd element first, each step rounded once to nearest even,
// bf16 denormal inputs read as zero, denormal results flushed to zero):
//   a[l] = 0 for the 16 lanes l
//   for each chunk k0:   (w and x read as 0 past K)
//     a[l] = ftz(fma(w[n][k0 + 2l + 1], x[m][k0 + 2l + 1], a[l]))
//     a[l] = ftz(fma(w[n][k0 + 2l],     x[m][k0 + 2l],     a[l]))
//   then the pairwise tree above over a[l] and y = s + bias[n], as in the widening form.
// The product of two bf16 values is exact in f32, so the fma is the instruction's multiply-add.
#pragma once

#include <cstdint>
#include <type_traits>

#include "nn/quant_cpu_kernels.hpp"

namespace januskit::nn::cpu {

struct DenseGemv {
  const uint16_t* w = nullptr;  // bf16 bits, [N][ldw]
  int64_t ldw = 0;
  int64_t N = 0, K = 0;
  const float* x = nullptr;     // widening form: [M][chunks][32], per chunk of 32 inputs the 16 even, then
                                //   the 16 odd ones, zero past K (dense_gemv_layout_activations)
  const uint16_t* xb = nullptr; // pair form: [M][chunks * 32] bf16 bits, zero past K (dense_gemv_pack_bf16_activations)
  int64_t M = 0;
  const float* bias = nullptr;  // [N] or null
  void* y = nullptr;            // [M][ldy] of out_type
  int64_t ldy = 0;
  Element out_type = Element::f32;
};

constexpr int64_t kGemvChunk = 32;
static constexpr int64_t gemv_chunks(int64_t K) { return (K + kGemvChunk - 1) / kGemvChunk; }

// x [M][K] (row stride ldx, f32 or bf16) -> out [M][chunks][32] in the layout above.
void dense_gemv_layout_activations(const void* x, Element type, int64_t ldx, int64_t M, int64_t K, float* out);

// x [M][K] bf16 (row stride ldx) -> out [M][chunks * 32], zero past K: the pair form's activations.
void dense_gemv_pack_bf16_activations(const uint16_t* x, int64_t ldx, int64_t M, int64_t K, uint16_t* out);

// The pairwise tree 16 -> 8 -> 4 -> 2 -> 1 of every form.
static inline float gemv_reduce_tree(const float* acc) {
  float s8[8], s4[4], s2[2];
  for (int l = 0; l < 8; ++l) s8[l] = acc[l] + acc[l + 8];
  for (int l = 0; l < 4; ++l) s4[l] = s8[l] + s8[l + 4];
  for (int l = 0; l < 2; ++l) s2[l] = s4[l] + s4[l + 2];
  return s2[0] + s2[1];
}

// y[m][n] = s + bias[n] in the output type: the last step of every form.
static inline void store_gemv_output(const DenseGemv& a, int64_t m, int64_t n, float s) {
  float y = s;
  if (a.bias != nullptr) y = y + a.bias[n];
  if (a.out_type == Element::f32) {
    static_cast<float*>(a.y)[m * a.ldy + n] = y;
  } else {
    static_cast<uint16_t*>(a.y)[m * a.ldy + n] = bf16_bits(y);
  }
}

// The SIMD forms' tiling: output rows in passes of kGemvRowsPerPass (then one at a time), each over the
// activation rows in passes of kGemvBatchPerPass (then one). `pass(nr, r, n, m)` computes output rows
// [n, n + nr) for activation rows [m, m + r), nr and r as std::integral_constant (template arguments).
constexpr int kGemvRowsPerPass = 4;   // output rows sharing each activation vector
constexpr int kGemvBatchPerPass = 2;  // activation rows sharing each weight vector
template <class Pass>
inline void for_each_gemv_pass(const DenseGemv& a, int64_t n0, int64_t n1, Pass&& pass) {
  auto over_batch = [&](auto nr, int64_t n) {
    int64_t m = 0;
    for (; m + kGemvBatchPerPass <= a.M; m += kGemvBatchPerPass) {
      pass(nr, std::integral_constant<int, kGemvBatchPerPass>{}, n, m);
    }
    if (m < a.M) pass(nr, std::integral_constant<int, 1>{}, n, m);
  };
  int64_t n = n0;
  for (; n + kGemvRowsPerPass <= n1; n += kGemvRowsPerPass) over_batch(std::integral_constant<int, kGemvRowsPerPass>{}, n);
  for (; n < n1; ++n) over_batch(std::integral_constant<int, 1>{}, n);
}

// Output rows [n0, n1) for every activation row.
void dense_gemv_bf16_plain(const DenseGemv& a, int64_t n0, int64_t n1);
void dense_gemv_bf16_pairs_plain(const DenseGemv& a, int64_t n0, int64_t n1);
#if defined(__x86_64__) || defined(_M_X64)
void dense_gemv_bf16_avx512(const DenseGemv& a, int64_t n0, int64_t n1);
void dense_gemv_bf16_pairs_avx512bf16(const DenseGemv& a, int64_t n0, int64_t n1);
#endif

}  // namespace januskit::nn::cpu
