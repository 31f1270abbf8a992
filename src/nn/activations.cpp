#include "nn/activations.hpp"

#include <ATen/ATen.h>

#include <vector>

#include "nn/cuda_dispatch.hpp"

namespace januskit::nn {

at::Tensor silu_mul_torch(const at::Tensor& gate_up) {
  // chunk, not two narrows: in training its backward writes both halves' gradients into one tensor
  // instead of filling a zero tensor of the full width for each.
  std::vector<at::Tensor> halves = gate_up.chunk(2, -1);
  return at::silu(halves[0]) * halves[1];
}

at::Tensor silu_mul(const at::Tensor& gate_up) {
  TORCH_CHECK(gate_up.size(-1) % 2 == 0, "silu_mul: the last dimension (", gate_up.size(-1), ") must be even");
#ifdef JANUSKIT_HAVE_CUDA
  if (gate_up.is_cuda() && kernel_dtype_supported(gate_up.scalar_type()) && gate_up.is_contiguous()) {
    const int64_t inter = gate_up.size(-1) / 2;
    std::vector<int64_t> shape = gate_up.sizes().vec();
    shape.back() = inter;
    at::Tensor out = at::empty(shape, gate_up.options());
    kernels::silu_mul(gate_up.data_ptr(), out.data_ptr(), gate_up.numel() / gate_up.size(-1), inter,
                      kernel_dtype(gate_up.scalar_type()), current_stream(gate_up.device()));
    return out;
  }
#endif
  return silu_mul_torch(gate_up);
}

at::Tensor gelu(const at::Tensor& x) { return at::gelu(x); }

}  // namespace januskit::nn
