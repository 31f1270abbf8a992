// SwiGLU on the fused gate/up projection: out = silu(gate) · up, elementwise.
//
// Design note: the fused projection puts gate and up side by side in each row ([gate | up]), so one
// pass reads both halves with 16-byte packs and writes half as many elements; a grid-stride loop over
// (row, pack) keeps any row count busy. silu is computed in f32 as x / (1 + exp(−x)) and rounded to the
// element type before the multiply, as LibTorch's at::silu(gate) * up does.
#include "kernels/common.cuh"

namespace januskit::kernels {
namespace {

template <typename T>
__device__ __forceinline__ T silu_times(T g, T u) {
  const float x = to_float(g);
  const float s = round_to<T>(x / (1.0f + expf(-x)));
  return from_float<T>(mul_rn(s, to_float(u)));
}

template <typename T, bool kVector>
__global__ void silu_mul_kernel(const T* __restrict__ gate_up, T* __restrict__ out, int64_t rows, int64_t inter) {
  constexpr int N = kVector ? kPack<T> : 1;
  const int64_t per_row = inter / N;
  const int64_t total = rows * per_row;
  for (int64_t idx = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x; idx < total;
       idx += static_cast<int64_t>(gridDim.x) * blockDim.x) {
    const int64_t r = idx / per_row, c = idx % per_row;
    const T* gate = gate_up + r * 2 * inter;
    const T* up = gate + inter;
    if constexpr (kVector) {
      const auto g = load_pack(gate, c), u = load_pack(up, c);
      Pack<T, N> o;
#pragma unroll
      for (int j = 0; j < N; ++j) o.v[j] = silu_times(g.v[j], u.v[j]);
      store_pack(out + r * inter, c, o);
    } else {
      out[r * inter + c] = silu_times(gate[c], up[c]);
    }
  }
}

}  // namespace

void silu_mul(const void* gate_up, void* out, int64_t rows, int64_t inter, DType dtype, cudaStream_t stream) {
  if (rows == 0 || inter == 0) return;
  dispatch_dtype(dtype, [&](auto* tag) {
    using T = std::remove_pointer_t<decltype(tag)>;
    const bool vector = inter % kPack<T> == 0 && aligned16(gate_up) && aligned16(out);
    const int64_t work = rows * (vector ? inter / kPack<T> : inter);
    const int threads = 256;
    const auto blocks = static_cast<unsigned>(std::min<int64_t>((work + threads - 1) / threads, 65535));
    auto* in = static_cast<const T*>(gate_up);
    auto* o = static_cast<T*>(out);
    if (vector) {
      silu_mul_kernel<T, true><<<blocks, threads, 0, stream>>>(in, o, rows, inter);
    } else {
      silu_mul_kernel<T, false><<<blocks, threads, 0, stream>>>(in, o, rows, inter);
    }
  });
  check_launch("silu_mul");
}

}  // namespace januskit::kernels
