#include "nn/dense_cpu.hpp"

#include <ATen/ATen.h>
#include <c10/core/GradMode.h>

#include <vector>

#include "core/error.hpp"
#include "core/parallel.hpp"
#include "nn/dense_cpu_kernels.hpp"

namespace januskit::nn {

bool dense_gemv_applies(const at::Tensor& x, const at::Tensor& weight) {
  if (default_cpu_kernel() != CpuKernel::avx512) return false;
  if (!x.device().is_cpu() || !weight.device().is_cpu() || weight.scalar_type() != at::kBFloat16) return false;
  if (x.scalar_type() != at::kBFloat16 && x.scalar_type() != at::kFloat) return false;
  if (weight.dim() != 2 || weight.stride(1) != 1 || x.size(-1) != weight.size(1)) return false;
  if (c10::GradMode::is_enabled() && (x.requires_grad() || weight.requires_grad())) return false;
  return x.numel() / std::max<int64_t>(x.size(-1), 1) <= kDenseGemvMaxRows;
}

bool cpu_has_avx512_bf16() {
#if defined(__x86_64__) || defined(_M_X64)
  static const bool has = cpu_kernel_available(CpuKernel::avx512) && __builtin_cpu_supports("avx512bf16");
  return has;
#else
  return false;
#endif
}

at::Tensor dense_gemv_cpu(const at::Tensor& x, const at::Tensor& weight, const at::Tensor& bias,
                          std::optional<CpuKernel> kernel_request, std::optional<GemvArithmetic> arithmetic_request) {
  TORCH_CHECK(weight.scalar_type() == at::kBFloat16 && weight.dim() == 2 && weight.stride(1) == 1 && weight.device().is_cpu(),
              "dense_gemv_cpu: expected a CPU bf16 weight [N, K] with unit inner stride");
  const int64_t N = weight.size(0), K = weight.size(1);
  TORCH_CHECK(x.device().is_cpu() && x.size(-1) == K, "dense_gemv_cpu: expected CPU input [..., ", K, "], got ", x.sizes());
  TORCH_CHECK(x.scalar_type() == at::kFloat || x.scalar_type() == at::kBFloat16, "dense_gemv_cpu: f32 or bf16 activations, got ", x.scalar_type());
  const CpuKernel kernel = kernel_request.value_or(default_cpu_kernel());
  if (!cpu_kernel_available(kernel)) throw Error(cat("the ", cpu_kernel_name(kernel), " kernels do not run on this CPU"));
  const bool bf16_in = x.scalar_type() == at::kBFloat16;
  const GemvArithmetic arithmetic = arithmetic_request.value_or(
      bf16_in && kernel == CpuKernel::avx512 && cpu_has_avx512_bf16() ? GemvArithmetic::pairs : GemvArithmetic::widen);
  if (arithmetic == GemvArithmetic::pairs && !bf16_in) throw Error("dense_gemv_cpu: the pair form takes bf16 activations");
  if (arithmetic == GemvArithmetic::pairs && kernel == CpuKernel::avx512 && !cpu_has_avx512_bf16()) {
    throw Error("the pair form of the bf16 GEMV needs AVX512_BF16, which this CPU lacks");
  }
  if (kernel == CpuKernel::avx2) throw Error("dense_gemv_cpu: no AVX2 form; use plain or avx512");
  const at::Tensor x2 = x.reshape({-1, K});
  const at::Tensor xs = x2.stride(1) == 1 ? x2 : x2.contiguous();
  const at::Tensor b32 = bias.defined() ? bias.to(at::kFloat).contiguous() : bias;
  const int64_t M = xs.size(0);
  std::vector<int64_t> out_shape(x.sizes().begin(), x.sizes().end());
  out_shape.back() = N;
  at::Tensor y = at::empty({M, N}, x.options());
  if (M == 0 || N == 0) return y.view(out_shape);
  // The activations once, in the form's layout (f32 even/odd, or bf16 padded): every output row reads them.
  const size_t padded = static_cast<size_t>(M * cpu::gemv_chunks(K) * cpu::kGemvChunk);
  thread_local std::vector<float> widened;
  thread_local std::vector<uint16_t> packed;
  if (arithmetic == GemvArithmetic::pairs) {
    packed.resize(padded);
    cpu::dense_gemv_pack_bf16_activations(reinterpret_cast<const uint16_t*>(xs.data_ptr<at::BFloat16>()), xs.stride(0),
                                          M, K, packed.data());
  } else {
    widened.resize(padded);
    const cpu::Element in_type = bf16_in ? cpu::Element::bf16 : cpu::Element::f32;
    cpu::dense_gemv_layout_activations(xs.data_ptr(), in_type, xs.stride(0), M, K, widened.data());
  }

  cpu::DenseGemv a;
  a.w = reinterpret_cast<const uint16_t*>(weight.data_ptr<at::BFloat16>());
  a.ldw = weight.stride(0);
  a.N = N;
  a.K = K;
  a.x = arithmetic == GemvArithmetic::widen ? widened.data() : nullptr;
  a.xb = arithmetic == GemvArithmetic::pairs ? packed.data() : nullptr;
  a.M = M;
  a.bias = b32.defined() ? b32.data_ptr<float>() : nullptr;
  a.y = y.data_ptr();
  a.ldy = N;
  a.out_type = x.scalar_type() == at::kFloat ? cpu::Element::f32 : cpu::Element::bf16;
  // Chunks of output rows, whole SIMD passes (for_each_gemv_pass), large enough that a hand-off is noise.
  constexpr int64_t kPass = cpu::kGemvRowsPerPass;
  const int64_t passes = (N + kPass - 1) / kPass;
  const int64_t grain = std::max<int64_t>(1, (int64_t{1} << 16) / std::max<int64_t>(kPass * K * M, 1));
  at::parallel_for(0, passes, grain, [&](int64_t p0, int64_t p1) {
    const int64_t n0 = kPass * p0, n1 = std::min(N, kPass * p1);
    const bool pairs = arithmetic == GemvArithmetic::pairs;
#if defined(__x86_64__) || defined(_M_X64)
    if (kernel == CpuKernel::avx512) {
      pairs ? cpu::dense_gemv_bf16_pairs_avx512bf16(a, n0, n1) : cpu::dense_gemv_bf16_avx512(a, n0, n1);
      return;
    }
#endif
    pairs ? cpu::dense_gemv_bf16_pairs_plain(a, n0, n1) : cpu::dense_gemv_bf16_plain(a, n0, n1);
  });
  return y.view(out_shape);
}

}  // namespace januskit::nn
