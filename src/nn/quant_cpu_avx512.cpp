// AVX-512 VNNI form of the quantized-linear kernels (Intel Ice Lake and later, AMD Zen 4 and later),
// compiled with -mavx512f -mavx512bw -mavx512vl -mavx512vnni -mf16c -mfma; called only where the CPU has
// those (nn/quant_cpu.cpp checks). Same arithmetic, same order as the plain twin (quant_cpu_kernels.hpp).
//
// Register use: up to 8 activation rows per pass over a tile (kMaxRows), each with one int32 and one f32
// accumulator of 16 lanes (= 16 output rows); the weight vector is loaded once and multiplied by every
// row's broadcast quad, so a batch of 8 reads the weights once.
#include <immintrin.h>

#include <algorithm>
#include <cmath>
#include <cstring>

#include "nn/quant_cpu_kernels.hpp"

namespace januskit::nn::cpu {
namespace {

constexpr int kMaxRows = 8;

inline __m512i broadcast_quad(const int8_t* p) {
  int32_t v;
  std::memcpy(&v, p, 4);
  return _mm512_set1_epi32(v);
}

template <int Bits, int R>
void tile_rows(const PackedWeights& w, const QuantizedActivations& a, int64_t t, int64_t m0, void* out, Element type,
               int64_t ldo) {
  constexpr int64_t bb = block_bytes(Bits);
  const uint8_t* tile = w.data + t * w.blocks * bb;
  const int64_t qstride = a.blocks * kBlock;
  const __m512i low4 = _mm512_set1_epi8(0x0f);
  __m512 y[R];
  for (int r = 0; r < R; ++r) y[r] = _mm512_setzero_ps();

  for (int64_t g = 0; g < w.groups; ++g) {
    const int64_t gi = (t * w.groups + g) * kTileRows;
    const __m512 s = _mm512_cvtph_ps(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(w.scales + gi)));
    const __m512 z = _mm512_cvtepi32_ps(_mm512_cvtepu8_epi32(_mm_loadu_si128(reinterpret_cast<const __m128i*>(w.zeros + gi))));
    const __m512 mz = _mm512_mul_ps(s, z);
    const int64_t b1 = std::min(w.blocks, (g + 1) * w.group_blocks);
    for (int64_t b = g * w.group_blocks; b < b1; ++b) {
      const uint8_t* block = tile + b * bb;
      __m512i acc[R];
      for (int r = 0; r < R; ++r) acc[r] = _mm512_setzero_si512();
      if constexpr (Bits == 4) {
        for (int v = 0; v < 4; ++v) {
          const __m512i raw = _mm512_loadu_si512(block + 64 * v);
          const __m512i lo = _mm512_and_si512(raw, low4);
          const __m512i hi = _mm512_and_si512(_mm512_srli_epi16(raw, 4), low4);
          for (int r = 0; r < R; ++r) {
            const int8_t* q = a.q + (m0 + r) * qstride + b * kBlock + 8 * v;
            acc[r] = _mm512_dpbusd_epi32(acc[r], lo, broadcast_quad(q));
            acc[r] = _mm512_dpbusd_epi32(acc[r], hi, broadcast_quad(q + 4));
          }
        }
      } else {
        for (int v = 0; v < 8; ++v) {
          const __m512i raw = _mm512_loadu_si512(block + 64 * v);
          for (int r = 0; r < R; ++r) {
            acc[r] = _mm512_dpbusd_epi32(acc[r], raw, broadcast_quad(a.q + (m0 + r) * qstride + b * kBlock + 4 * v));
          }
        }
      }
      for (int r = 0; r < R; ++r) {
        const __m512 p = _mm512_mul_ps(s, _mm512_set1_ps(a.scale[(m0 + r) * a.blocks + b]));
        y[r] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(acc[r]), p, y[r]);
      }
    }
    for (int r = 0; r < R; ++r) y[r] = _mm512_fnmadd_ps(mz, _mm512_set1_ps(a.group_sum[(m0 + r) * a.groups + g]), y[r]);
  }

  const int64_t n0 = t * kTileRows;
  const int valid = static_cast<int>(std::min<int64_t>(kTileRows, w.rows - n0));
  const __mmask16 mask = static_cast<__mmask16>((1u << valid) - 1u);
  const __m512 bias = w.bias != nullptr ? _mm512_loadu_ps(w.bias + n0) : _mm512_setzero_ps();
  for (int r = 0; r < R; ++r) {
    const __m512 v = w.bias != nullptr ? _mm512_add_ps(y[r], bias) : y[r];
    if (type == Element::f32) {
      _mm512_mask_storeu_ps(static_cast<float*>(out) + (m0 + r) * ldo + n0, mask, v);
    } else {
      // Round to nearest even, as the plain twin's bf16_bits (finite values).
      const __m512i u = _mm512_castps_si512(v);
      const __m512i rounded = _mm512_add_epi32(u, _mm512_add_epi32(_mm512_set1_epi32(0x7fff),
                                                                   _mm512_and_si512(_mm512_srli_epi32(u, 16), _mm512_set1_epi32(1))));
      const __m256i bits = _mm512_cvtepi32_epi16(_mm512_srli_epi32(rounded, 16));
      _mm256_mask_storeu_epi16(static_cast<uint16_t*>(out) + (m0 + r) * ldo + n0, mask, bits);
    }
  }
}

template <int Bits>
void tiles(const PackedWeights& w, const QuantizedActivations& a, int64_t tile0, int64_t tile1, void* out, Element type,
           int64_t ldo) {
  for (int64_t t = tile0; t < tile1; ++t) {
    int64_t m = 0;
    for (; m + kMaxRows <= a.rows; m += kMaxRows) tile_rows<Bits, kMaxRows>(w, a, t, m, out, type, ldo);
    switch (a.rows - m) {
      case 0: break;
      case 1: tile_rows<Bits, 1>(w, a, t, m, out, type, ldo); break;
      case 2: tile_rows<Bits, 2>(w, a, t, m, out, type, ldo); break;
      case 3: tile_rows<Bits, 3>(w, a, t, m, out, type, ldo); break;
      case 4: tile_rows<Bits, 4>(w, a, t, m, out, type, ldo); break;
      case 5: tile_rows<Bits, 5>(w, a, t, m, out, type, ldo); break;
      case 6: tile_rows<Bits, 6>(w, a, t, m, out, type, ldo); break;
      default: tile_rows<Bits, 7>(w, a, t, m, out, type, ldo); break;
    }
  }
}

inline __m512 load16(const void* row, Element type, int64_t k, __mmask16 mask) {
  if (type == Element::f32) return _mm512_maskz_loadu_ps(mask, static_cast<const float*>(row) + k);
  const __m256i h = _mm256_maskz_loadu_epi16(mask, static_cast<const uint16_t*>(row) + k);
  return _mm512_castsi512_ps(_mm512_slli_epi32(_mm512_cvtepu16_epi32(h), 16));
}

}  // namespace

void quant_matmul_avx512(const PackedWeights& w, const QuantizedActivations& a, int64_t tile0, int64_t tile1, void* out,
                         Element type, int64_t ldo) {
  if (w.bits == 4) {
    tiles<4>(w, a, tile0, tile1, out, type, ldo);
  } else {
    tiles<8>(w, a, tile0, tile1, out, type, ldo);
  }
}

void quantize_activations_avx512(const void* x, Element type, int64_t ldx, int64_t K, int64_t blocks, int64_t groups,
                                 int64_t group_blocks, int64_t r0, int64_t r1, const ActivationBuffers& out) {
  const size_t esize = type == Element::f32 ? 4 : 2;
  const __m512 abs_mask = _mm512_castsi512_ps(_mm512_set1_epi32(0x7fffffff));
  for (int64_t r = r0; r < r1; ++r) {
    const void* row = static_cast<const char*>(x) + static_cast<size_t>(r * ldx) * esize;
    int8_t* q = out.q + r * blocks * kBlock;
    for (int64_t b = 0; b < blocks; ++b) {
      const int64_t k0 = b * kBlock;
      const int64_t left = K - k0;
      const __mmask16 m0 = left >= 16 ? __mmask16(0xffff) : static_cast<__mmask16>((1u << left) - 1u);
      const __mmask16 m1 = left >= 32 ? __mmask16(0xffff) : left <= 16 ? __mmask16(0) : static_cast<__mmask16>((1u << (left - 16)) - 1u);
      const __m512 v0 = load16(row, type, k0, m0), v1 = load16(row, type, k0 + 16, m1);
      const float amax = _mm512_reduce_max_ps(_mm512_max_ps(_mm512_and_ps(v0, abs_mask), _mm512_and_ps(v1, abs_mask)));
      if (amax == 0.0f) {
        std::memset(q + k0, 0, kBlock);
        out.scale[r * blocks + b] = 0.0f;
        out.sum[r * blocks + b] = 0;
        continue;
      }
      const __m512 id = _mm512_set1_ps(127.0f / amax);
      // cvtps rounds with the current mode: round to nearest even, as nearbyint in the twin.
      const __m512i i0 = _mm512_cvtps_epi32(_mm512_mul_ps(v0, id)), i1 = _mm512_cvtps_epi32(_mm512_mul_ps(v1, id));
      _mm_storeu_si128(reinterpret_cast<__m128i*>(q + k0), _mm512_cvtepi32_epi8(i0));
      _mm_storeu_si128(reinterpret_cast<__m128i*>(q + k0 + 16), _mm512_cvtepi32_epi8(i1));
      out.sum[r * blocks + b] = _mm512_reduce_add_epi32(_mm512_add_epi32(i0, i1));
      out.scale[r * blocks + b] = amax / 127.0f;
    }
    for (int64_t g = 0; g < groups; ++g) {
      float A = 0.0f;
      for (int64_t b = g * group_blocks; b < std::min(blocks, (g + 1) * group_blocks); ++b) {
        A = std::fma(out.scale[r * blocks + b], static_cast<float>(out.sum[r * blocks + b]), A);
      }
      out.group_sum[r * groups + g] = A;
    }
  }
}

}  // namespace januskit::nn::cpu
