// Activations and the gated MLP shared by the decoders.
#pragma once

#include <ATen/core/Tensor.h>

namespace januskit::nn {

// SwiGLU: silu(gate) * up, where gate_up = [..., 2I] holds gate then up (fused projection).
at::Tensor silu_mul(const at::Tensor& gate_up);
// The plain-LibTorch twin of silu_mul (reference for the CUDA kernel).
at::Tensor silu_mul_torch(const at::Tensor& gate_up);

// Exact (erf) GELU, as nn.GELU() in SigLIP, the aligners and gen_head.
at::Tensor gelu(const at::Tensor& x);

}  // namespace januskit::nn
