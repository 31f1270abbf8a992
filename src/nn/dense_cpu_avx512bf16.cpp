// AVX512_BF16 form of the dense bf16 GEMV for bf16 activations: the pair form of dense_cpu_kernels.hpp,
// one VDPBF16PS per 32 weights. Compiled with the AVX-512 flags plus -mavx512bf16 (src/CMakeLists.txt)
// and called only where the CPU has them. Same arithmetic, same order as its plain twin.
//
// Four output rows per pass share each activation vector, up to two activation rows share each weight
// vector; the tree and the store are the twin's.
#include <immintrin.h>

#include "nn/dense_cpu_kernels.hpp"

namespace januskit::nn::cpu {
namespace {

constexpr int kRowsPerPass = 4;  // output rows
constexpr int kMaxBatch = 2;     // activation rows per pass
// As in the widening form (dense_cpu_avx512.cpp): four weight streams per thread want a software prefetch.
constexpr int kPrefetchBytes = 1024;

template <int NR, int R>
void pass(const DenseGemv& a, int64_t n, int64_t m0) {
  const int64_t chunks = gemv_chunks(a.K), padded = chunks * kGemvChunk;
  __m512 acc[NR][R];
  for (int i = 0; i < NR; ++i) {
    for (int r = 0; r < R; ++r) acc[i][r] = _mm512_setzero_ps();
  }
  const uint16_t* w[NR];
  for (int i = 0; i < NR; ++i) w[i] = a.w + (n + i) * a.ldw;
  auto step = [&](int64_t c, __mmask32 mask) {
    __m512bh x[R];
    for (int r = 0; r < R; ++r) x[r] = (__m512bh)_mm512_loadu_si512(a.xb + (m0 + r) * padded + c * kGemvChunk);
    for (int i = 0; i < NR; ++i) {
      _mm_prefetch(reinterpret_cast<const char*>(w[i] + c * kGemvChunk) + kPrefetchBytes, _MM_HINT_T0);
      const __m512bh wv = (__m512bh)_mm512_maskz_loadu_epi16(mask, w[i] + c * kGemvChunk);
      for (int r = 0; r < R; ++r) acc[i][r] = _mm512_dpbf16_ps(acc[i][r], wv, x[r]);
    }
  };
  const int64_t full = a.K / kGemvChunk;
  for (int64_t c = 0; c < full; ++c) step(c, ~__mmask32(0));
  if (full < chunks) step(full, static_cast<__mmask32>((1ull << (a.K - full * kGemvChunk)) - 1ull));
  alignas(64) float lanes[16];
  for (int i = 0; i < NR; ++i) {
    for (int r = 0; r < R; ++r) {
      _mm512_store_ps(lanes, acc[i][r]);
      store_gemv_output(a, m0 + r, n + i, gemv_reduce_tree(lanes));
    }
  }
}

template <int NR>
void rows(const DenseGemv& a, int64_t n) {
  int64_t m = 0;
  for (; m + kMaxBatch <= a.M; m += kMaxBatch) pass<NR, kMaxBatch>(a, n, m);
  if (m < a.M) pass<NR, 1>(a, n, m);
}

}  // namespace

void dense_gemv_bf16_pairs_avx512bf16(const DenseGemv& a, int64_t n0, int64_t n1) {
  int64_t n = n0;
  for (; n + kRowsPerPass <= n1; n += kRowsPerPass) rows<kRowsPerPass>(a, n);
  for (; n < n1; ++n) rows<1>(a, n);
}

}  // namespace januskit::nn::cpu
