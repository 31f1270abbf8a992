// Glue between tensors and kernels/: dtype mapping and the current CUDA stream. Only meaningful in
// builds with JANUSKIT_HAVE_CUDA; in CPU builds this header declares nothing.
#pragma once

#ifdef JANUSKIT_HAVE_CUDA
#include <c10/core/Device.h>
#include <c10/core/ScalarType.h>

#include "kernels/kernels.hpp"

namespace januskit::nn {

inline bool kernel_dtype_supported(c10::ScalarType t) {
  return t == c10::kFloat || t == c10::kBFloat16 || t == c10::kHalf;
}
kernels::DType kernel_dtype(c10::ScalarType t);
cudaStream_t current_stream(const c10::Device& device);

}  // namespace januskit::nn
#endif
