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
      float acc[16];
      for (int l = 0; l < 16; ++l) acc[l] = e[l] + o[l];
      store_gemv_output(a, m, n, gemv_reduce_tree(acc));
    }
  }
}

void dense_gemv_pack_bf16_activations(const uint16_t* x, int64_t ldx, int64_t M, int64_t K, uint16_t* out) {
  const int64_t padded = gemv_chunks(K) * kGemvChunk;
  for (int64_t m = 0; m < M; ++m) {
    for (int64_t k = 0; k < padded; ++k) out[m * padded + k] = k < K ? x[m * ldx + k] : uint16_t{0};
  }
}

namespace {

// A bf16 input as VDPBF16PS reads it: a denormal counts as a zero of its sign.
float bf16_daz(uint16_t h) { return bf16_float((h & 0x7f80u) == 0 ? static_cast<uint16_t>(h & 0x8000u) : h); }

// A result as VDPBF16PS writes it: a denormal becomes a zero of its sign.
float flush_denormal(float v) { return std::fpclassify(v) == FP_SUBNORMAL ? std::copysign(0.0f, v) : v; }

}  // namespace

void dense_gemv_bf16_pairs_plain(const DenseGemv& a, int64_t n0, int64_t n1) {
  const int64_t chunks = gemv_chunks(a.K), padded = chunks * kGemvChunk;
  for (int64_t n = n0; n < n1; ++n) {
    const uint16_t* w = a.w + n * a.ldw;
    for (int64_t m = 0; m < a.M; ++m) {
      const uint16_t* x = a.xb + m * padded;
      float acc[16] = {};
      for (int64_t c = 0; c < chunks; ++c) {
        const int64_t k0 = c * kGemvChunk;
        for (int l = 0; l < 16; ++l) {
          const int64_t ke = k0 + 2 * l, ko = ke + 1;
          const float wo = ko < a.K ? bf16_daz(w[ko]) : 0.0f, we = ke < a.K ? bf16_daz(w[ke]) : 0.0f;
          acc[l] = flush_denormal(std::fma(wo, bf16_daz(x[ko]), acc[l]));
          acc[l] = flush_denormal(std::fma(we, bf16_daz(x[ke]), acc[l]));
        }
      }
      store_gemv_output(a, m, n, gemv_reduce_tree(acc));
    }
  }
}

}  // namespace januskit::nn::cpu
