// RMSNorm (Llama/Qwen): y = weight * cast(x * rsqrt(mean(x², last dim) + eps)), statistics in f32.
#pragma once

#include <ATen/core/Tensor.h>

#include <utility>

namespace januskit::nn {

// Runs the CUDA kernel for CUDA tensors (when compiled in), the LibTorch ops otherwise.
at::Tensor rms_norm(const at::Tensor& x, const at::Tensor& weight, double eps);
// Same, writing into `out` (shape and dtype of x): lets the decode loop reuse buffers and lets the
// tests poison the output first to prove every element is written.
void rms_norm_out(at::Tensor& out, const at::Tensor& x, const at::Tensor& weight, double eps);

// The plain-LibTorch twin: works on any device, and is the reference the kernel is tested against.
at::Tensor rms_norm_torch(const at::Tensor& x, const at::Tensor& weight, double eps);

// The residual add fused with the next norm (decode): x += residual (in place, x is the residual
// stream), then out = rms_norm(x). x, residual, out: [rows, D] contiguous, one dtype; weight [D]. An
// undefined residual makes it a plain norm of x into out. CUDA kernel when compiled in, else the twin.
void add_rms_norm_(at::Tensor& x, const at::Tensor& residual, const at::Tensor& weight, double eps, at::Tensor& out);
// Twin: returns {x + residual, rms_norm_torch(x + residual)} without touching x.
std::pair<at::Tensor, at::Tensor> add_rms_norm_torch(const at::Tensor& x, const at::Tensor& residual,
                                                     const at::Tensor& weight, double eps);

}  // namespace januskit::nn
