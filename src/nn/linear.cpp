#include "nn/linear.hpp"

#include <ATen/ATen.h>

#include "core/device.hpp"
#include "core/error.hpp"
#include "nn/cuda_dispatch.hpp"
#include "nn/dense_cpu.hpp"
#include "nn/quant_cpu.hpp"

namespace januskit::nn {

// The packed forms, one per place a quantized layer can run (linear.hpp's table).
struct QuantizedLinearImpl {
  enum class Form { cpu, cuda_tinygemm, cuda_kernels, generic };
  Form form = Form::generic;
  int bits = 4;
  int64_t group_size = 0, in = 0, out = 0;
  std::shared_ptr<CpuQuantizedWeight> cpu;  // Form::cpu (bias inside, f32)
  at::Tensor codes;         // cuda_kernels: uint8 [N, K] or [N, K/2]; generic: uint8 [N, K]; tinygemm: its int32 packing
  at::Tensor scales;        // f16 [N, G] (cuda_kernels, generic)
  at::Tensor zeros;         // uint8 [N, G] (cuda_kernels, generic)
  at::Tensor scales_zeros;  // tinygemm: bf16 [G, N, 2] = (scale, scale · (8 − zero))
  at::Tensor bias;          // CUDA and generic forms, in the bias's dtype
  int64_t bytes = 0;
};

namespace {

using Form = QuantizedLinearImpl::Form;

// tinygemm's rules (LibTorch's int4mm.cu): groups of 32..256, N a multiple of 8, K a multiple of
// 16 · innerKTiles with innerKTiles 2, 4 or 8 (the largest that fits is fastest).
int tinygemm_inner_k_tiles(const QuantizedMatrix& q) {
  if (q.bits != 4 || q.per_channel() || q.rows % 8 != 0 || q.cols % q.group_size != 0) return 0;
  if (q.group_size != 32 && q.group_size != 64 && q.group_size != 128 && q.group_size != 256) return 0;
  for (int tiles : {8, 4, 2}) {
    if (q.cols % (16 * tiles) == 0) return tiles;
  }
  return 0;
}

bool cpu_kernel_layout(const QuantizedMatrix& q) { return q.per_channel() || q.group_size % cpu::kBlock == 0; }

at::Tensor rows2d(const at::Tensor& x, int64_t K) {
  at::Tensor x2 = x.reshape({-1, K});
  return x2.is_contiguous() ? x2 : x2.contiguous();
}

std::vector<int64_t> out_shape(const at::Tensor& x, int64_t N) {
  std::vector<int64_t> s(x.sizes().begin(), x.sizes().end());
  s.back() = N;
  return s;
}

// The formula with ATen ops, on any device: for layouts no kernel takes (and as the simplest truth).
at::Tensor generic_forward(const QuantizedLinearImpl& q, const at::Tensor& x) {
  const int64_t G = q.scales.size(1);
  at::Tensor col_group = at::clamp_max(at::arange(q.in, x.options().dtype(at::kLong)).div(q.group_size, "floor"), G - 1);
  at::Tensor w = (q.scales.to(at::kFloat).index_select(1, col_group) *
                  (q.codes.to(at::kFloat) - q.zeros.to(at::kFloat).index_select(1, col_group)))
                     .to(x.scalar_type());
  return at::linear(x, w, q.bias.defined() ? q.bias.to(x.scalar_type()) : q.bias);
}

#ifdef JANUSKIT_HAVE_CUDA
kernels::QuantMatmulArgs kernel_args(const QuantizedLinearImpl& q) {
  kernels::QuantMatmulArgs a;
  a.codes = q.codes.data_ptr<uint8_t>();
  a.scales = reinterpret_cast<const uint16_t*>(q.scales.data_ptr<at::Half>());
  a.zeros = q.zeros.data_ptr<uint8_t>();
  a.bits = q.bits;
  a.group = q.group_size;
  a.groups = q.scales.size(1);
  a.N = q.out;
  a.K = q.in;
  return a;
}

at::Tensor cuda_kernels_forward(const QuantizedLinearImpl& q, const at::Tensor& x) {
  if (!kernel_dtype_supported(x.scalar_type())) return generic_forward(q, x);
  const at::Tensor x2 = rows2d(x, q.in);
  kernels::QuantMatmulArgs a = kernel_args(q);
  const auto stream = current_stream(x.device());
  const auto dtype = kernel_dtype(x.scalar_type());
  const at::Tensor bias = q.bias.defined() ? q.bias.to(x.scalar_type()) : q.bias;
  if (x2.size(0) > kernels::kQuantGemvMaxRows) {
    at::Tensor w = at::empty({q.out, q.in}, x.options());
    kernels::quant_dequantize(a, w.data_ptr(), dtype, stream);
    return at::linear(x, w, bias);
  }
  at::Tensor y = at::empty({x2.size(0), q.out}, x.options());
  a.x = x2.data_ptr();
  a.ldx = x2.stride(0);
  a.bias = bias.defined() ? bias.data_ptr() : nullptr;
  a.y = y.data_ptr();
  a.ldy = q.out;
  a.M = x2.size(0);
  kernels::quant_gemv(a, dtype, stream);
  return y.view(out_shape(x, q.out));
}
#endif

at::Tensor tinygemm_forward(const QuantizedLinearImpl& q, const at::Tensor& x) {
  const at::Tensor x2 = rows2d(x, q.in).to(at::kBFloat16);
  at::Tensor y = at::_weight_int4pack_mm(x2, q.codes, q.group_size, q.scales_zeros);
  if (q.bias.defined()) y.add_(q.bias.to(at::kBFloat16));
  return y.to(x.scalar_type()).view(out_shape(x, q.out));
}

std::shared_ptr<QuantizedLinearImpl> pack_cuda(const QuantizedMatrix& q, const at::Tensor& bias, c10::Device device) {
  auto impl = std::make_shared<QuantizedLinearImpl>();
  if (const int tiles = tinygemm_inner_k_tiles(q); tiles > 0) {
    // tinygemm takes uint8 [N, K/2] with the even k in the high nibble, and bf16 (scale, offset) pairs
    // for w = (code − 8) · scale + offset, i.e. offset = scale · (8 − zero).
    const at::Tensor c = q.codes.to(at::kInt);
    const at::Tensor pairs = (c.slice(1, 0, q.cols, 2).mul(16) + c.slice(1, 1, q.cols, 2)).to(at::kByte);
    impl->form = Form::cuda_tinygemm;
    impl->codes = at::_convert_weight_to_int4pack(pairs.to(device), tiles);
    const at::Tensor s = q.scales.to(at::kFloat).t();
    impl->scales_zeros = at::stack({s, s * (8.0 - q.zeros.to(at::kFloat).t())}, 2).to(at::kBFloat16).contiguous().to(device);
    impl->bytes = q.rows * q.cols / 2 + impl->scales_zeros.numel() * 2;
#ifdef JANUSKIT_HAVE_CUDA
  } else if (kernels::quant_matmul_supports(q.bits, q.cols, q.group_size)) {
    impl->form = Form::cuda_kernels;
    at::Tensor codes = q.codes;
    if (q.bits == 4) codes = (codes.slice(1, 0, q.cols, 2) + codes.slice(1, 1, q.cols, 2).mul(16)).to(at::kByte);
    impl->codes = codes.contiguous().to(device);
    impl->scales = q.scales.contiguous().to(device);
    impl->zeros = q.zeros.contiguous().to(device);
    impl->bytes = impl->codes.numel() + impl->scales.numel() * 2 + impl->zeros.numel();
#endif
  } else {
    impl->form = Form::generic;
    impl->codes = q.codes.to(device);
    impl->scales = q.scales.to(device);
    impl->zeros = q.zeros.to(device);
    impl->bytes = impl->codes.numel() + impl->scales.numel() * 2 + impl->zeros.numel();
  }
  if (bias.defined()) impl->bias = bias.to(device);
  return impl;
}

}  // namespace

Linear Linear::dense(at::Tensor weight, at::Tensor bias) {
  TORCH_CHECK(weight.dim() == 2, "Linear::dense: weight must be [out, in], got ", weight.sizes());
  Linear l;
  l.out_ = weight.size(0);
  l.in_ = weight.size(1);
  l.weight_ = std::move(weight);
  l.bias_ = std::move(bias);
  return l;
}

Linear Linear::quantized(const QuantizedMatrix& q, const at::Tensor& bias, c10::Device device) {
  validate(q, "quantized linear layer");
  std::shared_ptr<QuantizedLinearImpl> impl;
  if (device.is_cpu() && cpu_kernel_layout(q)) {
    impl = std::make_shared<QuantizedLinearImpl>();
    impl->form = Form::cpu;
    impl->cpu = pack_for_cpu(q, bias);
    impl->bytes = impl->cpu->bytes() - (impl->cpu->bias.defined() ? impl->cpu->bias.numel() * 4 : 0);
  } else if (device.is_cuda()) {
    impl = pack_cuda(q, bias, device);
  } else {
    impl = std::make_shared<QuantizedLinearImpl>();
    impl->form = Form::generic;
    impl->codes = q.codes.to(device);
    impl->scales = q.scales.to(device);
    impl->zeros = q.zeros.to(device);
    if (bias.defined()) impl->bias = bias.to(device);
    impl->bytes = impl->codes.numel() + impl->scales.numel() * 2 + impl->zeros.numel();
  }
  impl->bits = q.bits;
  impl->group_size = q.group_size;
  impl->in = q.cols;
  impl->out = q.rows;
  Linear l;
  l.in_ = q.cols;
  l.out_ = q.rows;
  l.quant_ = std::move(impl);
  return l;
}

at::Tensor Linear::forward(const at::Tensor& x) const {
  TORCH_CHECK(defined(), "Linear::forward on an empty layer");
  TORCH_CHECK(x.size(-1) == in_, "Linear::forward: input has ", x.size(-1), " features, the layer takes ", in_);
  if (!quant_) {
    if (dense_gemv_applies(x, weight_)) return dense_gemv_cpu(x, weight_, bias_);
    return at::linear(x, weight_, bias_);
  }
  const QuantizedLinearImpl& q = *quant_;
  switch (q.form) {
    case Form::cpu: return quant_linear_cpu(x, *q.cpu);
    case Form::cuda_tinygemm: return tinygemm_forward(q, x);
#ifdef JANUSKIT_HAVE_CUDA
    case Form::cuda_kernels: return cuda_kernels_forward(q, x);
#endif
    default: return generic_forward(q, x);
  }
}

int Linear::bits() const { return quant_ ? quant_->bits : 0; }
int64_t Linear::group_size() const { return quant_ ? quant_->group_size : 0; }

int64_t Linear::weight_bytes() const {
  if (quant_) return quant_->bytes;
  return weight_.defined() ? weight_.numel() * static_cast<int64_t>(weight_.element_size()) : 0;
}

std::string Linear::describe() const {
  if (!quant_) return weight_.defined() ? dtype_name(weight_.scalar_type()) : "undefined";
  const QuantizedLinearImpl& q = *quant_;
  const std::string layout = q.group_size >= q.in ? "per channel" : cat("g", q.group_size);
  const char* where = "";
  switch (q.form) {
    case Form::cpu: where = ""; break;
    case Form::cuda_tinygemm: where = "tinygemm"; break;
    case Form::cuda_kernels: where = "januskit CUDA"; break;
    case Form::generic: where = "dequantizing"; break;
  }
  const std::string kernel = q.form == Form::cpu ? cpu_kernel_name(default_cpu_kernel()) : std::string(where);
  return cat("int", q.bits, " ", layout, " (", kernel, ")");
}

Linear make_linear(const at::Tensor& weight, const at::Tensor& bias, const QuantizeRequest& request) {
  if (!weight.defined() || !request.applies_to(weight.size(0), weight.size(1))) return Linear::dense(weight, bias);
  return Linear::quantized(quantize(weight, *request.spec), bias, weight.device());
}

}  // namespace januskit::nn
