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

// The two arithmetics of dense_cpu_kernels.hpp: activations widened to f32 and FMAs (any AVX-512
// CPU, f32 or bf16 activations), or bf16 pairs as VDPBF16PS takes them (bf16 activations).
enum class GemvArithmetic { widen, pairs };

// Whether this CPU has AVX512_BF16 (VDPBF16PS) beside the AVX-512 kernels' extensions.
bool cpu_has_avx512_bf16();

// y = x·Wᵀ + b for bf16 W [N, K] on the CPU, x [..., K] in f32 or bf16 -> [..., N] in x's dtype;
// bias [N] (any float dtype) or undefined. `kernel` (plain twin or SIMD) and `arithmetic` pick the
// form (tests, benchmarks); default: pairs for bf16 activations on CPUs with AVX512_BF16, else widen,
// on the best kernel. Pairs with f32 activations, or its SIMD form without AVX512_BF16, is an Error.
at::Tensor dense_gemv_cpu(const at::Tensor& x, const at::Tensor& weight, const at::Tensor& bias,
                          std::optional<CpuKernel> kernel = {}, std::optional<GemvArithmetic> arithmetic = {});

}  // namespace januskit::nn
