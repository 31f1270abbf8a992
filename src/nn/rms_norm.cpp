#include "nn/rms_norm.hpp"

#include <ATen/ATen.h>

#include "nn/cuda_dispatch.hpp"

namespace januskit::nn {

at::Tensor rms_norm_torch(const at::Tensor& x, const at::Tensor& weight, double eps) {
  at::Tensor xf = x.to(at::kFloat);
  at::Tensor normed = xf * at::rsqrt(xf.pow(2).mean(-1, /*keepdim=*/true) + eps);
  // transformers rounds the normalised row to the input dtype before the weight multiply.
  return weight * normed.to(x.scalar_type());
}

at::Tensor rms_norm(const at::Tensor& x, const at::Tensor& weight, double eps) {
  // Off CUDA the LibTorch formula's own result is the output (same dtype): copying it into a
  // preallocated tensor cost a pass, and in training an extra autograd node.
  if (!x.is_cuda()) return rms_norm_torch(x, weight, eps);
  at::Tensor out = at::empty(x.sizes(), x.options().dtype(at::promote_types(x.scalar_type(), weight.scalar_type())));
  rms_norm_out(out, x, weight, eps);
  return out;
}

void rms_norm_out(at::Tensor& out, const at::Tensor& x, const at::Tensor& weight, double eps) {
  TORCH_CHECK(weight.dim() == 1 && weight.size(0) == x.size(-1), "rms_norm: weight shape ", weight.sizes(),
              " does not match rows of ", x.size(-1));
#ifdef JANUSKIT_HAVE_CUDA
  if (x.is_cuda() && weight.scalar_type() == x.scalar_type() && out.scalar_type() == x.scalar_type() &&
      kernel_dtype_supported(x.scalar_type()) && out.is_contiguous() && out.sizes() == x.sizes()) {
    at::Tensor xc = x.contiguous(), wc = weight.contiguous();
    const int64_t cols = xc.size(-1);
    kernels::rms_norm(xc.data_ptr(), wc.data_ptr(), out.data_ptr(), xc.numel() / cols, cols, static_cast<float>(eps),
                      kernel_dtype(x.scalar_type()), current_stream(x.device()));
    return;
  }
#endif
  out.copy_(rms_norm_torch(x, weight, eps));
}

std::pair<at::Tensor, at::Tensor> add_rms_norm_torch(const at::Tensor& x, const at::Tensor& residual,
                                                     const at::Tensor& weight, double eps) {
  at::Tensor sum = residual.defined() ? x + residual : x;
  return {sum, rms_norm_torch(sum, weight, eps)};
}

void add_rms_norm_(at::Tensor& x, const at::Tensor& residual, const at::Tensor& weight, double eps, at::Tensor& out) {
  TORCH_CHECK(weight.dim() == 1 && weight.size(0) == x.size(-1), "add_rms_norm: weight shape ", weight.sizes(),
              " does not match rows of ", x.size(-1));
  TORCH_CHECK(!residual.defined() || residual.sizes() == x.sizes(), "add_rms_norm: residual ", residual.sizes(),
              " does not match x ", x.sizes());
#ifdef JANUSKIT_HAVE_CUDA
  const auto t = x.scalar_type();
  if (x.is_cuda() && kernel_dtype_supported(t) && weight.scalar_type() == t && out.scalar_type() == t &&
      (!residual.defined() || residual.scalar_type() == t) && x.is_contiguous() && out.is_contiguous() &&
      out.sizes() == x.sizes() && weight.is_contiguous() && (!residual.defined() || residual.is_contiguous())) {
    const int64_t cols = x.size(-1);
    kernels::add_rms_norm(x.data_ptr(), residual.defined() ? residual.data_ptr() : nullptr, weight.data_ptr(),
                          out.data_ptr(), x.numel() / cols, cols, static_cast<float>(eps), kernel_dtype(t),
                          current_stream(x.device()));
    return;
  }
#endif
  auto [sum, normed] = add_rms_norm_torch(x, residual, weight, eps);
  if (residual.defined()) x.copy_(sum);
  out.copy_(normed);
}

}  // namespace januskit::nn
