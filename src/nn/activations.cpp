#include "nn/activations.hpp"

#include <ATen/ATen.h>

#include <vector>

#include "nn/cuda_dispatch.hpp"

namespace januskit::nn {

at::Tensor silu_mul_torch(const at::Tensor& gate_up) {
  const int64_t i = gate_up.size(-1) / 2;
  return at::silu(gate_up.narrow(-1, 0, i)) * gate_up.narrow(-1, i, i);
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
