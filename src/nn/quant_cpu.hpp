// The quantized linear layer on the CPU: packing a QuantizedMatrix for the kernels of
// quant_cpu_kernels.hpp, choosing the kernel this CPU runs, and the call.
//
// Kernel choice: AVX-512 VNNI where the CPU has it, else AVX2, else the plain twin (every other CPU,
// ARM included). JANUSKIT_CPU_KERNELS=plain|avx2|avx512 forces one (tests, benchmarks); asking for one
// the CPU lacks is an error, never a silent fallback.
#pragma once

#include <ATen/core/Tensor.h>

#include <memory>
#include <optional>
#include <string>

#include "nn/quant.hpp"
#include "nn/quant_cpu_kernels.hpp"

namespace januskit::nn {

enum class CpuKernel { plain, avx2, avx512 };

bool cpu_kernel_available(CpuKernel kernel);
CpuKernel default_cpu_kernel();  // the best available, or JANUSKIT_CPU_KERNELS
std::string cpu_kernel_name(CpuKernel kernel);  // "plain", "avx2", "avx512-vnni"

// Packed weights with their own storage; `view` points into the tensors.
struct CpuQuantizedWeight {
  cpu::PackedWeights view;
  at::Tensor data;    // uint8 [tiles, blocks, block bytes]
  at::Tensor scales;  // int16 [tiles, groups, 16]: f16 bits
  at::Tensor zeros;   // uint8 [tiles, groups, 16]
  at::Tensor bias;    // f32 [tiles · 16] or undefined

  int64_t bytes() const;  // read per call
};

// Throws Error when the group size is not a multiple of 32 (and smaller than a row).
std::shared_ptr<CpuQuantizedWeight> pack_for_cpu(const QuantizedMatrix& q, const at::Tensor& bias = {});

// y = x·Wᵀ + b: x [..., K] in f32 or bf16 on the CPU -> [..., N] in x's dtype.
at::Tensor quant_linear_cpu(const at::Tensor& x, const CpuQuantizedWeight& w, std::optional<CpuKernel> kernel = {});

// What the kernels do to the activations, as tensors (tests): int8 [M, blocks·32], scales f32 [M, blocks],
// sums int32 [M, blocks], group sums f32 [M, groups].
struct QuantizedActivationTensors {
  at::Tensor q, scale, sum, group_sum;
};
QuantizedActivationTensors quantize_activations(const at::Tensor& x, int64_t group_size,
                                                std::optional<CpuKernel> kernel = {});

}  // namespace januskit::nn
