// The CPU kernels of the quantized linear layer: raw pointers, no LibTorch, so that the SIMD forms
// compile in translation units of their own with their own target flags (nn/quant_cpu.cpp packs the
// weights, quantizes nothing itself and dispatches here).
//
// Design (llama.cpp's, on a layout of our own): activations are quantized on the fly to int8 in blocks
// of 32 (one f32 scale per block, round half to even), and each 32-long dot product runs in integers:
// VNNI's vpdpbusd multiplies 4 unsigned weight codes by 4 signed activation bytes and adds them into a
// 32-bit lane, so one instruction does 64 multiply-adds for 16 output rows at once. The weights are
// therefore packed by tiles of 16 output rows; within a tile, block b (inputs 32b .. 32b + 31) is
//   int8:  8 vectors of 64 bytes; vector v, lane n (bytes 4n .. 4n+3) = codes (n, 32b + 4v + j), j < 4
//   int4:  4 vectors of 64 bytes; vector v, lane n, byte j = code (n, 32b + 8v + j)
//                                                       | code (n, 32b + 8v + 4 + j) << 4
// so a vector is 16 rows × 4 (int8) or 2 × 16 rows × 4 (int4, low and high nibbles) inputs, to be
// multiplied by one broadcast 4-byte quad of activations. A tile's blocks are contiguous: every thread
// streams its tiles front to back. Scales (f16) and zero points (u8) are kept per tile and group.
//
// Every form computes, for output row n and activation row m, with a = the int8 activations, d their
// block scales, and in this order, in f32 with fused multiply-adds:
//   y = 0
//   for each group g:   s = scale[n, g];  mz = s · zero[n, g]
//     for each block b of g:   y = fma(f32(Σ_k code[n, k] · a[m, k]), s · d[m, b], y)
//     y = fma(−mz, A[m, g], y)          A[m, g] = Σ_b∈g d[m, b] · Σ_k a[m, k]  (fma in block order)
//   out = y + bias[n]
// which is Σ_k scale · (code − zero) · d · a, i.e. the quant.hpp formula times the dequantized
// activations. The SIMD forms are therefore bit-for-bit equal to the plain twin (tested).
#pragma once

#include <cstddef>
#include <cstdint>

namespace januskit::nn::cpu {

constexpr int kTileRows = 16;  // output rows per packed tile
constexpr int kBlock = 32;     // inputs per activation block (and the group-size unit)

// The helpers below are `static`: this header is included by translation units compiled with different
// -m flags (plain, AVX2, AVX-512), and an ordinary inline function would be merged by the linker into
// one copy, possibly the AVX-512 one, then called from the plain path on a CPU without AVX-512.
static constexpr int64_t block_bytes(int bits) { return bits == 4 ? 256 : 512; }

struct PackedWeights {
  int bits = 4;
  int64_t rows = 0, cols = 0;       // N, K
  int64_t tiles = 0, blocks = 0;    // ceil(N / 16), ceil(K / 32)
  int64_t groups = 0, group_blocks = 0;  // groups per row, blocks per group (the last group may have fewer)
  const uint8_t* data = nullptr;    // [tiles][blocks][block_bytes(bits)]
  const uint16_t* scales = nullptr; // [tiles][groups][16] IEEE half bits
  const uint8_t* zeros = nullptr;   // [tiles][groups][16]
  const float* bias = nullptr;      // [tiles · 16] or null
};

struct QuantizedActivations {
  int64_t rows = 0, blocks = 0, groups = 0, group_blocks = 0;
  const int8_t* q = nullptr;        // [rows][blocks · 32], zero past K
  const float* scale = nullptr;     // [rows][blocks]
  const int32_t* sum = nullptr;     // [rows][blocks]  Σ of the block's int8 values
  const float* group_sum = nullptr; // [rows][groups]  A above
};

// Where quantize_activations writes (the same shapes as QuantizedActivations).
struct ActivationBuffers {
  int8_t* q;
  float* scale;
  int32_t* sum;
  float* group_sum;
};

enum class Element { f32, bf16 };

// Rows [r0, r1) of x ([rows][ldx] of f32 or bf16, K valid columns) into `out`: per block of 32,
// amax = max|x|, d = amax / 127, a = round_half_even(x · (127 / amax)) (all 0 when amax is 0).
void quantize_activations_plain(const void* x, Element type, int64_t ldx, int64_t K, int64_t blocks, int64_t groups,
                                int64_t group_blocks, int64_t r0, int64_t r1, const ActivationBuffers& out);

// out[m][n] for all activation rows and the output rows of tiles [tile0, tile1); out has row stride
// ldo and element type `type`; rows past N are not written.
void quant_matmul_plain(const PackedWeights& w, const QuantizedActivations& a, int64_t tile0, int64_t tile1, void* out,
                        Element type, int64_t ldo);
#if defined(__x86_64__) || defined(_M_X64)
void quant_matmul_avx512(const PackedWeights& w, const QuantizedActivations& a, int64_t tile0, int64_t tile1,
                         void* out, Element type, int64_t ldo);
void quant_matmul_avx2(const PackedWeights& w, const QuantizedActivations& a, int64_t tile0, int64_t tile1, void* out,
                       Element type, int64_t ldo);
void quantize_activations_avx512(const void* x, Element type, int64_t ldx, int64_t K, int64_t blocks, int64_t groups,
                                 int64_t group_blocks, int64_t r0, int64_t r1, const ActivationBuffers& out);
#endif

// Round-to-nearest-even f32 -> bf16 bits and back, as c10::BFloat16 does (finite values).
static inline uint16_t bf16_bits(float f) {
  uint32_t u;
  __builtin_memcpy(&u, &f, 4);
  if ((u & 0x7fffffffu) > 0x7f800000u) return 0x7fc0;  // NaN
  u += 0x7fffu + ((u >> 16) & 1u);
  return static_cast<uint16_t>(u >> 16);
}
// IEEE half bits -> f32, exactly (subnormals included).
static inline float half_float(uint16_t h) {
  const uint32_t sign = static_cast<uint32_t>(h >> 15) << 31, exp = (h >> 10) & 0x1fu, mant = h & 0x3ffu;
  uint32_t u;
  if (exp == 0) {
    const float v = static_cast<float>(mant) * 0x1p-24f;  // subnormal (or zero): exact
    __builtin_memcpy(&u, &v, 4);
    u |= sign;
  } else if (exp == 31) {
    u = sign | 0x7f800000u | (mant << 13);
  } else {
    u = sign | ((exp + 112u) << 23) | (mant << 13);
  }
  float f;
  __builtin_memcpy(&f, &u, 4);
  return f;
}
static inline float bf16_float(uint16_t h) {
  const uint32_t u = static_cast<uint32_t>(h) << 16;
  float f;
  __builtin_memcpy(&f, &u, 4);
  return f;
}

}  // namespace januskit::nn::cpu
