// RMSNorm, one thread block per row.
//
// Design note: decode runs this on a handful of rows of a few thousand elements, so the row is held
// in registers between the two passes only implicitly (re-read from L1/L2 is cheap at these sizes);
// the sum of squares is accumulated in f32 and reduced with warp shuffles. Rounding follows
// transformers exactly: normalise in f32, round to the input type, then multiply by the weight.
#include "kernels/common.cuh"

namespace januskit::kernels {
namespace {

template <typename T>
__global__ void rms_norm_kernel(const T* __restrict__ x, const T* __restrict__ weight, T* __restrict__ out,
                                int64_t cols, float eps) {
  const int64_t row = blockIdx.x;
  const T* xr = x + row * cols;
  T* yr = out + row * cols;
  float sum = 0.0f;
  for (int64_t i = threadIdx.x; i < cols; i += blockDim.x) {
    float v = to_float(xr[i]);
    sum += v * v;
  }
  sum = block_sum(sum);
  const float inv_rms = rsqrtf(sum / static_cast<float>(cols) + eps);
  for (int64_t i = threadIdx.x; i < cols; i += blockDim.x) {
    T normed = from_float<T>(to_float(xr[i]) * inv_rms);
    yr[i] = from_float<T>(to_float(normed) * to_float(weight[i]));
  }
}

}  // namespace

void rms_norm(const void* x, const void* weight, void* out, int64_t rows, int64_t cols, float eps, DType dtype,
              cudaStream_t stream) {
  if (rows == 0) return;
  const int threads = cols >= 1024 ? 256 : cols >= 256 ? 128 : 64;
  dispatch_dtype(dtype, [&](auto* tag) {
    using T = std::remove_pointer_t<decltype(tag)>;
    rms_norm_kernel<T><<<static_cast<unsigned>(rows), threads, 0, stream>>>(
        static_cast<const T*>(x), static_cast<const T*>(weight), static_cast<T*>(out), cols, eps);
  });
  check_launch("rms_norm");
}

}  // namespace januskit::kernels
