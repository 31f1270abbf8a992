// The one public header of kernels/: host-side launchers for every CUDA kernel januskit has.
// Launchers take raw device pointers, sizes and a stream, and know nothing of tensors or models;
// src/nn checks shapes/dtypes and calls them. Compiled only when JANUSKIT_HAVE_CUDA is defined.
#pragma once

#include <cuda_runtime_api.h>

#include <cstdint>

namespace januskit::kernels {

// Element types the kernels are instantiated for.
enum class DType { f32, bf16, f16 };

// RMSNorm over the last dimension, HF Llama semantics: y = w * cast(x * rsqrt(mean(x²) + eps)),
// with the mean and scaling in f32 and the normalised row cast to the input type before the weight
// multiply (as transformers does). x, out: [rows, cols] contiguous; weight: [cols]; all of `dtype`.
void rms_norm(const void* x, const void* weight, void* out, int64_t rows, int64_t cols, float eps, DType dtype,
              cudaStream_t stream);

}  // namespace januskit::kernels
