#include "nn/cuda_dispatch.hpp"

#ifdef JANUSKIT_HAVE_CUDA
#include <c10/cuda/CUDAStream.h>

#include "core/error.hpp"

namespace januskit::nn {

kernels::DType kernel_dtype(c10::ScalarType t) {
  switch (t) {
    case c10::kFloat: return kernels::DType::f32;
    case c10::kBFloat16: return kernels::DType::bf16;
    case c10::kHalf: return kernels::DType::f16;
    default: throw Error(cat("CUDA kernels do not support dtype ", c10::toString(t)));
  }
}

cudaStream_t current_stream(const c10::Device& device) {
  return c10::cuda::getCurrentCUDAStream(device.index()).stream();
}

}  // namespace januskit::nn
#endif
