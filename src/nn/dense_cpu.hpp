// The dense bf16 linear layer at decode sizes on the CPU: januskit's GEMV (dense_cpu_kernels.hpp) where
// it applies, so that nn::Linear streams bf16 weights at the rate its int8 kernels reach.
#pragma once

#include <ATen/core/Tensor.h>

#include <optional>

#include "nn/quant_cpu.hpp"

namespace januskit::nn {

// Activation rows up to which the GEMV beats at::linear (bench/linear_kernels, docs/perf.md).
constexpr int64_t kDenseGemvMaxRows = 2;

// Whether nn::Linear sends this call to dense_gemv_cpu: a CPU with the AVX-512 kernels, bf16 weights
// [N, K] with unit inner stride, bf16 or f32 activations, at most kDenseGemvMaxRows rows, no autograd.
bool dense_gemv_applies(const at::Tensor& x, const at::Tensor& weight);

// y = x·Wᵀ + b for bf16 W [N, K] on the CPU, x [..., K] in f32 or bf16 -> [..., N] in x's dtype;
// bias [N] (any float dtype) or undefined. `kernel` picks the form (tests); default: the best one.
at::Tensor dense_gemv_cpu(const at::Tensor& x, const at::Tensor& weight, const at::Tensor& bias,
                          std::optional<CpuKernel> kernel = {});

}  // namespace januskit::nn
