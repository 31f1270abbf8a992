// The plain C++ twin of the quantized-linear kernels: the reference the SIMD forms are tested against
// (bit for bit), and the path on CPUs without AVX2. Follows quant_cpu_kernels.hpp's order of
// operations exactly; nothing here may be reassociated.
#include <algorithm>
#include <cmath>
#include <cstring>

#include "nn/quant_cpu_kernels.hpp"

namespace januskit::nn::cpu {
namespace {

float load_element(const void* row, Element type, int64_t k) {
  if (type == Element::f32) return static_cast<const float*>(row)[k];
  return bf16_float(static_cast<const uint16_t*>(row)[k]);
}

void store_element(void* row, Element type, int64_t n, float v) {
  if (type == Element::f32) {
    static_cast<float*>(row)[n] = v;
  } else {
    static_cast<uint16_t*>(row)[n] = bf16_bits(v);
  }
}

// code (n, k) of a tile's block, n < 16, k < 32: the layout of quant_cpu_kernels.hpp.
int code_at(const uint8_t* block, int bits, int n, int k) {
  if (bits == 8) return block[64 * (k / 4) + 4 * n + k % 4];
  const int v = k / 8, j = k % 8;
  const uint8_t byte = block[64 * v + 4 * n + j % 4];
  return j < 4 ? (byte & 0x0f) : (byte >> 4);
}

}  // namespace

void quantize_activations_plain(const void* x, Element type, int64_t ldx, int64_t K, int64_t blocks, int64_t groups,
                                int64_t group_blocks, int64_t r0, int64_t r1, const ActivationBuffers& out) {
  const size_t esize = type == Element::f32 ? 4 : 2;
  for (int64_t r = r0; r < r1; ++r) {
    const void* row = static_cast<const char*>(x) + static_cast<size_t>(r * ldx) * esize;
    int8_t* q = out.q + r * blocks * kBlock;
    for (int64_t b = 0; b < blocks; ++b) {
      const int64_t k0 = b * kBlock, k1 = std::min(K, k0 + kBlock);
      float amax = 0.0f;
      for (int64_t k = k0; k < k1; ++k) amax = std::max(amax, std::fabs(load_element(row, type, k)));
      int32_t sum = 0;
      if (amax == 0.0f) {
        std::memset(q + k0, 0, kBlock);
        out.scale[r * blocks + b] = 0.0f;
      } else {
        const float id = 127.0f / amax;
        for (int64_t k = k0; k < k0 + kBlock; ++k) {
          const int v = k < k1 ? static_cast<int>(std::nearbyint(load_element(row, type, k) * id)) : 0;
          q[k] = static_cast<int8_t>(v);
          sum += v;
        }
        out.scale[r * blocks + b] = amax / 127.0f;
      }
      out.sum[r * blocks + b] = sum;
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

void quant_matmul_plain(const PackedWeights& w, const QuantizedActivations& a, int64_t tile0, int64_t tile1, void* out,
                        Element type, int64_t ldo) {
  const size_t esize = type == Element::f32 ? 4 : 2;
  const int64_t bb = block_bytes(w.bits);
  for (int64_t t = tile0; t < tile1; ++t) {
    const uint8_t* tile = w.data + t * w.blocks * bb;
    for (int n = 0; n < kTileRows; ++n) {
      const int64_t row_out = t * kTileRows + n;
      if (row_out >= w.rows) break;
      for (int64_t m = 0; m < a.rows; ++m) {
        const int8_t* q = a.q + m * a.blocks * kBlock;
        float y = 0.0f;
        for (int64_t g = 0; g < w.groups; ++g) {
          const float s = half_float(w.scales[(t * w.groups + g) * kTileRows + n]);
          const float mz = s * static_cast<float>(w.zeros[(t * w.groups + g) * kTileRows + n]);
          for (int64_t b = g * w.group_blocks; b < std::min(w.blocks, (g + 1) * w.group_blocks); ++b) {
            int32_t dot = 0;
            for (int k = 0; k < kBlock; ++k) dot += code_at(tile + b * bb, w.bits, n, k) * q[b * kBlock + k];
            y = std::fma(static_cast<float>(dot), s * a.scale[m * a.blocks + b], y);
          }
          y = std::fma(-mz, a.group_sum[m * a.groups + g], y);
        }
        if (w.bias != nullptr) y = y + w.bias[row_out];
        store_element(static_cast<char*>(out) + static_cast<size_t>(m * ldo) * esize, type, row_out, y);
      }
    }
  }
}

}  // namespace januskit::nn::cpu
