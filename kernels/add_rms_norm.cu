// The residual add fused with RMSNorm, one thread block per row.
//
// Design note: in a decode step every sub-layer ends with `x += f(...)` followed by the next RMSNorm,
// so fusing them reads x and the residual once and writes x and the normed row once (the separate
// ops would read x twice more). Rows are a few thousand elements: each thread moves 16-byte packs
// (8 bf16), the sum of squares is accumulated in f32 and reduced with warp shuffles, and the second
// pass re-reads the updated x, which the same thread wrote and which is still in L1. Rounding follows
// the LibTorch twin (nn::add_rms_norm_torch) and transformers: the sum is rounded to the element type
// before it is squared, the normalised row is rounded before the weight multiply.
#include "kernels/common.cuh"

namespace januskit::kernels {
namespace {

template <typename T, bool kVector>
__global__ void add_rms_norm_kernel(T* __restrict__ x, const T* __restrict__ residual, const T* __restrict__ weight,
                                    T* __restrict__ out, int64_t cols, float eps) {
  const int64_t row = blockIdx.x;
  T* xr = x + row * cols;
  const T* rr = residual != nullptr ? residual + row * cols : nullptr;
  T* yr = out + row * cols;
  float sum = 0.0f;
  if constexpr (kVector) {
    constexpr int N = kPack<T>;
    const int64_t packs = cols / N;
    for (int64_t i = threadIdx.x; i < packs; i += blockDim.x) {
      auto xv = load_pack(xr, i);
      if (rr != nullptr) {
        const auto rv = load_pack(rr, i);
#pragma unroll
        for (int j = 0; j < N; ++j) xv.v[j] = from_float<T>(add_rn(to_float(xv.v[j]), to_float(rv.v[j])));
        store_pack(xr, i, xv);
      }
#pragma unroll
      for (int j = 0; j < N; ++j) {
        const float v = to_float(xv.v[j]);
        sum += v * v;
      }
    }
    sum = block_sum(sum);
    const float inv_rms = rsqrtf(sum / static_cast<float>(cols) + eps);
    for (int64_t i = threadIdx.x; i < packs; i += blockDim.x) {
      const auto xv = load_pack(static_cast<const T*>(xr), i);
      const auto wv = load_pack(weight, i);
      Pack<T, N> yv;
#pragma unroll
      for (int j = 0; j < N; ++j) {
        const float normed = round_to<T>(mul_rn(to_float(xv.v[j]), inv_rms));
        yv.v[j] = from_float<T>(mul_rn(to_float(wv.v[j]), normed));
      }
      store_pack(yr, i, yv);
    }
  } else {
    for (int64_t i = threadIdx.x; i < cols; i += blockDim.x) {
      float v = to_float(xr[i]);
      if (rr != nullptr) {
        const T s = from_float<T>(add_rn(v, to_float(rr[i])));
        xr[i] = s;
        v = to_float(s);
      }
      sum += v * v;
    }
    sum = block_sum(sum);
    const float inv_rms = rsqrtf(sum / static_cast<float>(cols) + eps);
    for (int64_t i = threadIdx.x; i < cols; i += blockDim.x) {
      const float normed = round_to<T>(mul_rn(to_float(xr[i]), inv_rms));
      yr[i] = from_float<T>(mul_rn(to_float(weight[i]), normed));
    }
  }
}

}  // namespace

void add_rms_norm(void* x, const void* residual, const void* weight, void* out, int64_t rows, int64_t cols,
                  float eps, DType dtype, cudaStream_t stream) {
  if (rows == 0 || cols == 0) return;
  dispatch_dtype(dtype, [&](auto* tag) {
    using T = std::remove_pointer_t<decltype(tag)>;
    const bool vector = cols % kPack<T> == 0 && aligned16(x) && aligned16(weight) && aligned16(out) &&
                        (residual == nullptr || aligned16(residual));
    const int64_t work = vector ? cols / kPack<T> : cols;
    // One pass of the block covers the row when it can (no loop), rounded up to whole warps.
    const int threads = static_cast<int>(std::min<int64_t>(1024, std::max<int64_t>(32, (work + 31) / 32 * 32)));
    auto* xt = static_cast<T*>(x);
    auto* rt = static_cast<const T*>(residual);
    auto* wt = static_cast<const T*>(weight);
    auto* yt = static_cast<T*>(out);
    if (vector) {
      add_rms_norm_kernel<T, true><<<static_cast<unsigned>(rows), threads, 0, stream>>>(xt, rt, wt, yt, cols, eps);
    } else {
      add_rms_norm_kernel<T, false><<<static_cast<unsigned>(rows), threads, 0, stream>>>(xt, rt, wt, yt, cols, eps);
    }
  });
  check_launch("add_rms_norm");
}

}  // namespace januskit::kernels
