// AVX2 form of the quantized-linear kernels (every x86-64 CPU since Haswell / Zen 1), compiled with
// -mavx2 -mfma -mf16c; the same layout and arithmetic as the plain twin (quant_cpu_kernels.hpp).
//
// A 64-byte tile vector is two 256-bit halves (rows 0-7, rows 8-15). Without VNNI the 4-wide integer dot
// is vpmaddubsw (u8 × s8 pairs into saturating s16) + vpmaddwd with ones. int4 codes (≤ 16) cannot
// saturate (2 · 16 · 127 < 2^15); int8 codes (≤ 255) could, so the int8 path multiplies |code − 128| by
// the activation carrying the sign of code − 128 (at most 2 · 128 · 127 < 2^15) and adds 128 · Σa back.
#include <immintrin.h>

#include <algorithm>
#include <cmath>
#include <cstring>

#include "nn/quant_cpu_kernels.hpp"

namespace januskit::nn::cpu {
namespace {

constexpr int kMaxRows = 2;

inline __m256i broadcast_quad(const int8_t* p) {
  int32_t v;
  std::memcpy(&v, p, 4);
  return _mm256_set1_epi32(v);
}

inline __m256i dot4(__m256i codes, __m256i quad, __m256i ones) {
  return _mm256_madd_epi16(_mm256_maddubs_epi16(codes, quad), ones);
}

// int8 codes: Σ (code − 128) · a without saturation (see the file comment).
inline __m256i dot4_signed(__m256i codes, __m256i quad, __m256i ones) {
  const __m256i centred = _mm256_xor_si256(codes, _mm256_set1_epi8(static_cast<char>(0x80)));
  return _mm256_madd_epi16(_mm256_maddubs_epi16(_mm256_sign_epi8(centred, centred), _mm256_sign_epi8(quad, centred)), ones);
}

template <int Bits, int R>
void tile_rows(const PackedWeights& w, const QuantizedActivations& a, int64_t t, int64_t m0, void* out, Element type,
               int64_t ldo) {
  constexpr int64_t bb = block_bytes(Bits);
  const uint8_t* tile = w.data + t * w.blocks * bb;
  const int64_t qstride = a.blocks * kBlock;
  const __m256i low4 = _mm256_set1_epi8(0x0f), ones = _mm256_set1_epi16(1);
  __m256 y[R][2];
  for (int r = 0; r < R; ++r) y[r][0] = y[r][1] = _mm256_setzero_ps();

  for (int64_t g = 0; g < w.groups; ++g) {
    const int64_t gi = (t * w.groups + g) * kTileRows;
    __m256 s[2], mz[2];
    for (int h = 0; h < 2; ++h) {
      s[h] = _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(w.scales + gi + 8 * h)));
      int64_t z8;
      std::memcpy(&z8, w.zeros + gi + 8 * h, 8);
      const __m256 z = _mm256_cvtepi32_ps(_mm256_cvtepu8_epi32(_mm_cvtsi64_si128(z8)));
      mz[h] = _mm256_mul_ps(s[h], z);
    }
    const int64_t b1 = std::min(w.blocks, (g + 1) * w.group_blocks);
    for (int64_t b = g * w.group_blocks; b < b1; ++b) {
      const uint8_t* block = tile + b * bb;
      __m256i acc[R][2];
      for (int r = 0; r < R; ++r) acc[r][0] = acc[r][1] = _mm256_setzero_si256();
      for (int h = 0; h < 2; ++h) {
        if constexpr (Bits == 4) {
          for (int v = 0; v < 4; ++v) {
            const __m256i raw = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(block + 64 * v + 32 * h));
            const __m256i lo = _mm256_and_si256(raw, low4);
            const __m256i hi = _mm256_and_si256(_mm256_srli_epi16(raw, 4), low4);
            for (int r = 0; r < R; ++r) {
              const int8_t* q = a.q + (m0 + r) * qstride + b * kBlock + 8 * v;
              acc[r][h] = _mm256_add_epi32(acc[r][h], _mm256_add_epi32(dot4(lo, broadcast_quad(q), ones),
                                                                      dot4(hi, broadcast_quad(q + 4), ones)));
            }
          }
        } else {
          for (int v = 0; v < 8; ++v) {
            const __m256i raw = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(block + 64 * v + 32 * h));
            for (int r = 0; r < R; ++r) {
              const int8_t* q = a.q + (m0 + r) * qstride + b * kBlock + 4 * v;
              acc[r][h] = _mm256_add_epi32(acc[r][h], dot4_signed(raw, broadcast_quad(q), ones));
            }
          }
        }
      }
      for (int r = 0; r < R; ++r) {
        const __m256 d = _mm256_set1_ps(a.scale[(m0 + r) * a.blocks + b]);
        const __m256i offset = Bits == 8 ? _mm256_set1_epi32(128 * a.sum[(m0 + r) * a.blocks + b]) : _mm256_setzero_si256();
        for (int h = 0; h < 2; ++h) {
          const __m256i dot = _mm256_add_epi32(acc[r][h], offset);
          y[r][h] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(dot), _mm256_mul_ps(s[h], d), y[r][h]);
        }
      }
    }
    for (int r = 0; r < R; ++r) {
      const __m256 A = _mm256_set1_ps(a.group_sum[(m0 + r) * a.groups + g]);
      for (int h = 0; h < 2; ++h) y[r][h] = _mm256_fnmadd_ps(mz[h], A, y[r][h]);
    }
  }

  const int64_t n0 = t * kTileRows;
  const int valid = static_cast<int>(std::min<int64_t>(kTileRows, w.rows - n0));
  for (int r = 0; r < R; ++r) {
    alignas(32) float v[kTileRows];
    _mm256_store_ps(v, y[r][0]);
    _mm256_store_ps(v + 8, y[r][1]);
    for (int n = 0; n < valid; ++n) {
      const float value = w.bias != nullptr ? v[n] + w.bias[n0 + n] : v[n];
      if (type == Element::f32) {
        static_cast<float*>(out)[(m0 + r) * ldo + n0 + n] = value;
      } else {
        static_cast<uint16_t*>(out)[(m0 + r) * ldo + n0 + n] = bf16_bits(value);
      }
    }
  }
}

template <int Bits>
void tiles(const PackedWeights& w, const QuantizedActivations& a, int64_t tile0, int64_t tile1, void* out, Element type,
           int64_t ldo) {
  for (int64_t t = tile0; t < tile1; ++t) {
    int64_t m = 0;
    for (; m + kMaxRows <= a.rows; m += kMaxRows) tile_rows<Bits, kMaxRows>(w, a, t, m, out, type, ldo);
    if (m < a.rows) tile_rows<Bits, 1>(w, a, t, m, out, type, ldo);
  }
}

}  // namespace

void quant_matmul_avx2(const PackedWeights& w, const QuantizedActivations& a, int64_t tile0, int64_t tile1, void* out,
                       Element type, int64_t ldo) {
  if (w.bits == 4) {
    tiles<4>(w, a, tile0, tile1, out, type, ldo);
  } else {
    tiles<8>(w, a, tile0, tile1, out, type, ldo);
  }
}

}  // namespace januskit::nn::cpu
