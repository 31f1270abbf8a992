#include "nn/activations.hpp"

#include <ATen/ATen.h>

namespace januskit::nn {

at::Tensor silu_mul_torch(const at::Tensor& gate_up) {
  const int64_t i = gate_up.size(-1) / 2;
  return at::silu(gate_up.narrow(-1, 0, i)) * gate_up.narrow(-1, i, i);
}

at::Tensor silu_mul(const at::Tensor& gate_up) { return silu_mul_torch(gate_up); }

at::Tensor gelu(const at::Tensor& x) { return at::gelu(x); }

}  // namespace januskit::nn
