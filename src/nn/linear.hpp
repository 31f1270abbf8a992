// One linear layer, y = x·Wᵀ + b, in whichever form its weights have: dense (the model dtype), int8 or
// int4 (nn/quant.hpp's formula, packed for the device it lives on). Models build it from tensors and call
// forward(); they never branch on the form.
//
// What runs where:
//   CPU, dense      bf16 weights, ≤ 2 activation rows, AVX-512: januskit's GEMV (nn/dense_cpu.hpp,
//                   faster than oneDNN's at decode sizes, docs/perf.md); otherwise at::linear (oneDNN)
//   CPU, quantized  the int8-activation kernels of quant_cpu_kernels.hpp, any number of rows
//   CUDA, dense     at::linear (cuBLAS)
//   CUDA, int4      LibTorch's tinygemm (_weight_int4pack_mm, the kernel gpt-fast and torchao use) where its
//                   shape rules allow (group 32/64/128, K a multiple of 32·k, N of 8); activations in bf16
//   CUDA, int8 and the int4 shapes tinygemm refuses: januskit's kernels/quant_matmul.cu (a warp per
//                   output row for ≤ 8 rows; dequantize to the activation dtype + cuBLAS for prefill)
// Autograd: dense layers are at::linear, so training sees ordinary LibTorch ops.
#pragma once

#include <ATen/core/Tensor.h>
#include <c10/core/Device.h>

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "nn/quant.hpp"

namespace januskit::nn {

struct QuantizedLinearImpl;  // the device-specific packed forms (linear.cpp)

class Linear {
 public:
  Linear() = default;
  // weight [out, in] (any layout; kept as given, e.g. a zero-copy view of a mapped file), bias [out] or undefined.
  static Linear dense(at::Tensor weight, at::Tensor bias = {});
  // Packs `q` for `device`; bias [out] (kept in f32 on the CPU, in `bias`'s dtype on CUDA) or undefined.
  static Linear quantized(const QuantizedMatrix& q, const at::Tensor& bias, c10::Device device);

  // x [..., in] -> [..., out] in x's dtype.
  at::Tensor forward(const at::Tensor& x) const;

  bool defined() const { return weight_.defined() || quant_ != nullptr; }
  bool is_quantized() const { return quant_ != nullptr; }
  int64_t in_features() const { return in_; }
  int64_t out_features() const { return out_; }
  int bits() const;            // 4 or 8; 0 when dense
  int64_t group_size() const;  // quantized only; == in_features when per channel
  // The dense weight (training, saving, tests); undefined when quantized.
  const at::Tensor& weight() const { return weight_; }
  at::Tensor& weight() { return weight_; }
  const at::Tensor& bias() const { return bias_; }
  at::Tensor& bias() { return bias_; }
  // Bytes of weights (with scales and zero points) one forward reads; the bias is not counted.
  int64_t weight_bytes() const;
  // "bf16", "int4 g32 (avx512-vnni)", "int4 g128 (tinygemm)", ...
  std::string describe() const;

 private:
  at::Tensor weight_, bias_;
  std::shared_ptr<const QuantizedLinearImpl> quant_;
  int64_t in_ = 0, out_ = 0;
};

// What a model asks when it builds its layers: quantize this [out, in] weight? (--quant and the shape
// rule of nn::should_quantize.)
struct QuantizeRequest {
  std::optional<QuantSpec> spec;  // nullopt: keep dense
  bool applies_to(int64_t out, int64_t in) const { return spec && should_quantize(out, in, *spec); }
};

// Dense weight -> the layer the request asks for (quantized when it applies), on the weight's device.
Linear make_linear(const at::Tensor& weight, const at::Tensor& bias, const QuantizeRequest& request);

}  // namespace januskit::nn
