// AVX512_BF16 form of the dense bf16 GEMV for bf16 activations: the pair form of dense_cpu_kernels.hpp,
// one VDPBF16PS per 32 weights. Compiled with the AVX-512 flags plus -mavx512bf16 (src/CMakeLists.txt)
// and called only where the CPU has them. Same arithmetic, same order as its plain twin.
//
// In the passes of for_each_gemv_pass (four output rows share each activation vector, up to two
// activation rows each weight vector); the tree and the store are the twin's.
#include <immintrin.h>

#include "nn/dense_cpu_kernels.hpp"

namespace januskit::nn::cpu {
namespace {

// No software prefetch, unlike the widening form: with the accumulators in registers the hardware
// prefetcher alone streamed a decode step's weights fastest on Zen 4 (one thread: 32-34 GB/s without,
// 24-27 GB/s with 0.5-4 KB ahead; two threads: no clear difference).

// One chunk of 32 inputs for every output and activation row. Inlined into two loops of its own (the
// full chunks, then the masked tail) so that the accumulators stay in registers: with one lambda
// called from both places GCC kept them on the stack and stored all four every chunk, which cost a
// third of the single-thread bandwidth (20 against 27 GB/s over a decode step's weights).
template <int NR, int R, bool kMasked>
[[gnu::always_inline]] inline void chunk(__m512 (&acc)[NR][R], const uint16_t* const (&w)[NR],
                                         const uint16_t* const (&x)[R], int64_t off, __mmask32 mask) {
  __m512bh xv[R];
  for (int r = 0; r < R; ++r) xv[r] = (__m512bh)_mm512_loadu_si512(x[r] + off);
  for (int i = 0; i < NR; ++i) {
    const __m512bh wv = kMasked ? (__m512bh)_mm512_maskz_loadu_epi16(mask, w[i] + off)
                                : (__m512bh)_mm512_loadu_si512(w[i] + off);
    for (int r = 0; r < R; ++r) acc[i][r] = _mm512_dpbf16_ps(acc[i][r], wv, xv[r]);
  }
}

template <int NR, int R>
void pass(const DenseGemv& a, int64_t n, int64_t m0) {
  const int64_t padded = gemv_chunks(a.K) * kGemvChunk;
  __m512 acc[NR][R];
  for (int i = 0; i < NR; ++i) {
    for (int r = 0; r < R; ++r) acc[i][r] = _mm512_setzero_ps();
  }
  const uint16_t* w[NR];
  for (int i = 0; i < NR; ++i) w[i] = a.w + (n + i) * a.ldw;
  const uint16_t* x[R];
  for (int r = 0; r < R; ++r) x[r] = a.xb + (m0 + r) * padded;
  const int64_t full = a.K / kGemvChunk * kGemvChunk;
  for (int64_t off = 0; off < full; off += kGemvChunk) chunk<NR, R, false>(acc, w, x, off, 0);
  if (full < a.K) chunk<NR, R, true>(acc, w, x, full, static_cast<__mmask32>((1ull << (a.K - full)) - 1ull));
  alignas(64) float lanes[16];
  for (int i = 0; i < NR; ++i) {
    for (int r = 0; r < R; ++r) {
      _mm512_store_ps(lanes, acc[i][r]);
      store_gemv_output(a, m0 + r, n + i, gemv_reduce_tree(lanes));
    }
  }
}

}  // namespace

void dense_gemv_bf16_pairs_avx512bf16(const DenseGemv& a, int64_t n0, int64_t n1) {
  for_each_gemv_pass(a, n0, n1, [&](auto nr, auto r, int64_t n, int64_t m) {
    pass<decltype(nr)::value, decltype(r)::value>(a, n, m);
  });
}

}  // namespace januskit::nn::cpu
