// The plain C++ twin of the dense bf16 GEMV: the reference the SIMD form is tested against (bit for bit).
// Follows dense_cpu_kernels.hpp's order of operations exactly; nothing here may be reassociated.
#include <cmath>

#include "nn/dense_cpu_kernels.hpp"

namespace januskit::nn::cpu {

void dense_gemv_layout_activations(const void* x, Element type, int64_t ldx, int64_t M, int64_t K, float* out) {
  const int64_t chunks = gemv_chunks(K);
  for (int64_t m = 0; m < M; ++m) {
    for (int64_t c = 0; c < chunks; ++c) {
      float* dst = out + (m * chunks + c) * kGemvChunk;
      for (int64_t j = 0; j < kGemvChunk; ++j) {
        const int64_t k = c * kGemvChunk + j;
        float v = 0.0f;
        if (k < K) {
          v = type == Element::f32 ? static_cast<const float*>(x)[m * ldx + k]
                                   : bf16_float(static_cast<const uint16_t*>(x)[m * ldx + k]);
        }
        dst[(j % 2) * 16 + j / 2] = v;
      }
    }
  }
}

void dense_gemv_bf16_plain(const DenseGemv& a, int64_t n0, int64_t n1) {
  const int64_t chunks = gemv_chunks(a.K);
  for (int64_t n = n0; n < n1; ++n) {
    const uint16_t* w = a.w + n * a.ldw;
    for (int64_t m = 0; m < a.M; ++m) {
      float e[16] = {}, o[16] = {};
      for (int64_t c = 0; c < chunks; ++c) {
        const float* x = a.x + (m * chunks + c) * kGemvChunk;
        const int64_t k0 = c * kGemvChunk;
        for (int l = 0; l < 16; ++l) {
          const int64_t ke = k0 + 2 * l, ko = ke + 1;
          e[l] = std::fma(ke < a.K ? bf16_float(w[ke]) : 0.0f, x[l], e[l]);
          o[l] = std::fma(ko < a.K ? bf16_float(w[ko]) : 0.0f, x[16 + l], o[l]);
        }
      }
      float acc[16], s8[8], s4[4], s2[2];
      for (int l = 0; l < 16; ++l) acc[l] = e[l] + o[l];
      for (int l = 0; l < 8; ++l) s8[l] = acc[l] + acc[l + 8];
      for (int l = 0; l < 4; ++l) s4[l] = s8[l] + s8[l + 4];
      for (int l = 0; l < 2; ++l) s2[l] = s4[l] + s4[l + 2];
      store_gemv_output(a, m, n, s2[0] + s2[1]);
    }
  }
}

}  // namespace januskit::nn::cpu
