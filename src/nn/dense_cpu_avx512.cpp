// AVX-512 form of the dense bf16 GEMV (dense_cpu_kernels.hpp), compiled with the AVX-512 flags of
// src/CMakeLists.txt and called only where the CPU has them. Same arithmetic, same order as the twin.
//
// In the passes of for_each_gemv_pass (four output rows share each activation vector, up to two
// activation rows each widened weight vector): 16 accumulators, even and odd lanes kept apart as in the twin.
#include <immintrin.h>

#include "nn/dense_cpu_kernels.hpp"


namespace januskit::nn::cpu {
namespace {

// Bytes ahead of each weight row's current chunk to prefetch. The four rows are four streams per thread,
// more than the hardware prefetcher follows well: measured on Zen 4 (2 threads, R1-Distill-Qwen-1.5B
// bf16 decode) 9.6 tok/s without, 11.5-11.9 with 1 KB, 9.8 with 2 KB.
constexpr int kPrefetchBytes = 1024;

// The twin's pairwise tree: 16 -> 8 -> 4 -> 2 -> 1.
inline float reduce_tree(__m512 v) {
  const __m256 v8 = _mm256_add_ps(_mm512_castps512_ps256(v), _mm512_extractf32x8_ps(v, 1));
  const __m128 v4 = _mm_add_ps(_mm256_castps256_ps128(v8), _mm256_extractf128_ps(v8, 1));
  const __m128 v2 = _mm_add_ps(v4, _mm_movehl_ps(v4, v4));
  return _mm_cvtss_f32(_mm_add_ss(v2, _mm_shuffle_ps(v2, v2, 1)));
}

// One chunk of 32 inputs for every output and activation row, inlined into two loops of its own (full
// chunks, masked tail) so that the accumulators stay in registers: one lambda called from both places
// made GCC store all of them to the stack every chunk (the pair form lost a third of its one-thread
// bandwidth to that, dense_cpu_avx512bf16.cpp).
template <int NR, int R, bool kMasked>
[[gnu::always_inline]] inline void chunk(__m512 (&e)[NR][R], __m512 (&o)[NR][R], const uint16_t* const (&w)[NR],
                                         const float* const (&x)[R], int64_t off, __mmask32 mask) {
  const __m512i odd_mask = _mm512_set1_epi32(static_cast<int>(0xffff0000u));
  __m512 xe[R], xo[R];
  for (int r = 0; r < R; ++r) {
    xe[r] = _mm512_loadu_ps(x[r] + off);
    xo[r] = _mm512_loadu_ps(x[r] + off + 16);
  }
  for (int i = 0; i < NR; ++i) {
    _mm_prefetch(reinterpret_cast<const char*>(w[i] + off) + kPrefetchBytes, _MM_HINT_T0);
    const __m512i raw = kMasked ? _mm512_maskz_loadu_epi16(mask, w[i] + off) : _mm512_loadu_si512(w[i] + off);
    const __m512 we = _mm512_castsi512_ps(_mm512_slli_epi32(raw, 16));
    const __m512 wo = _mm512_castsi512_ps(_mm512_and_si512(raw, odd_mask));
    for (int r = 0; r < R; ++r) {
      e[i][r] = _mm512_fmadd_ps(we, xe[r], e[i][r]);
      o[i][r] = _mm512_fmadd_ps(wo, xo[r], o[i][r]);
    }
  }
}

template <int NR, int R>
void pass(const DenseGemv& a, int64_t n, int64_t m0) {
  const int64_t padded = gemv_chunks(a.K) * kGemvChunk;
  __m512 e[NR][R], o[NR][R];
  for (int i = 0; i < NR; ++i) {
    for (int r = 0; r < R; ++r) e[i][r] = o[i][r] = _mm512_setzero_ps();
  }
  const uint16_t* w[NR];
  for (int i = 0; i < NR; ++i) w[i] = a.w + (n + i) * a.ldw;
  const float* x[R];
  for (int r = 0; r < R; ++r) x[r] = a.x + (m0 + r) * padded;
  const int64_t full = a.K / kGemvChunk * kGemvChunk;
  for (int64_t off = 0; off < full; off += kGemvChunk) chunk<NR, R, false>(e, o, w, x, off, 0);
  if (full < a.K) chunk<NR, R, true>(e, o, w, x, full, static_cast<__mmask32>((1ull << (a.K - full)) - 1ull));
  for (int i = 0; i < NR; ++i) {
    for (int r = 0; r < R; ++r) store_gemv_output(a, m0 + r, n + i, reduce_tree(_mm512_add_ps(e[i][r], o[i][r])));
  }
}

}  // namespace

void dense_gemv_bf16_avx512(const DenseGemv& a, int64_t n0, int64_t n1) {
  for_each_gemv_pass(a, n0, n1, [&](auto nr, auto r, int64_t n, int64_t m) {
    pass<decltype(nr)::value, decltype(r)::value>(a, n, m);
  });
}

}  // namespace januskit::nn::cpu
