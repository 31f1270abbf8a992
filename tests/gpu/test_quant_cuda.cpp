// The CUDA forms of quantized linear layers (nn::Linear: LibTorch's tinygemm for int4, januskit's
// kernels/quant_matmul.cu for int8 and the shapes tinygemm refuses, the ATen formula otherwise) against
// the formula itself (nn::dequantize + at::linear in f32 on the CPU), on random shapes including odd
// sizes and group tails. Skipped where no CUDA device is visible.
#include <gtest/gtest.h>

#include <ATen/ATen.h>

#include <tuple>

#include "nn/linear.hpp"
#include "nn/quant.hpp"
#include "test_util.hpp"

using namespace januskit;

namespace {

// Exact dequantized weights, f32 matmul: the reference every form is held to.
at::Tensor reference(const nn::QuantizedMatrix& q, const at::Tensor& x, const at::Tensor& bias) {
  return at::linear(x.to(at::kFloat), nn::dequantize(q, at::kFloat), bias.defined() ? bias.to(at::kFloat) : bias);
}

}  // namespace

TEST(GpuQuant, LinearFormsMatchTheFormula) {
  JANUSKIT_REQUIRE_CUDA();
  auto g = test::generator();
  const c10::Device cuda(c10::kCUDA);
  // (N, K, bits, group): tinygemm shapes (int4, K % 32, N % 8), januskit-kernel shapes (int8, int4 with
  // a tail group or per channel), and odd sizes.
  const std::vector<std::tuple<int64_t, int64_t, int, int64_t>> shapes = {
      {256, 512, 4, 32}, {1536, 1536, 4, 128}, {264, 192, 4, 64}, {256, 512, 8, 0},
      {200, 1000, 8, 0}, {96, 200, 4, 32},     {64, 96, 4, 0},    {8960, 1536, 4, 32}};
  for (const auto& [N, K, bits, group] : shapes) {
    const at::Tensor w = at::randn({N, K}, g) * 0.05;
    const at::Tensor bias = at::randn({N}, g) * 0.1;
    const nn::QuantizedMatrix q = nn::quantize(w, {bits, group});
    const nn::Linear layer = nn::Linear::quantized(q, bias.to(at::kBFloat16), cuda);
    for (int64_t M : {1, 3, 8, 9, 64}) {
      for (auto dtype : {at::kBFloat16, at::kHalf, at::kFloat}) {
        const at::Tensor x = at::randn({M, K}, g);
        const at::Tensor y = layer.forward(x.to(dtype).to(cuda));
        ASSERT_EQ(y.scalar_type(), dtype);
        const at::Tensor expected = reference(q, x.to(dtype), bias.to(at::kBFloat16));
        // Activations in bf16 (tinygemm) or the input dtype: bf16-level agreement.
        EXPECT_LT(test::rel_error(y.cpu().to(at::kFloat), expected), dtype == at::kFloat ? 5e-3 : 1.5e-2)
            << layer.describe() << " N " << N << " K " << K << " M " << M << " " << c10::toString(dtype);
      }
    }
  }
}

TEST(GpuQuant, CpuAndCudaFormsAgree) {
  JANUSKIT_REQUIRE_CUDA();
  auto g = test::generator();
  const nn::QuantizedMatrix q = nn::quantize(at::randn({512, 1024}, g) * 0.05, {4, 32});
  const nn::Linear cpu = nn::Linear::quantized(q, {}, c10::Device(c10::kCPU));
  const nn::Linear gpu = nn::Linear::quantized(q, {}, c10::Device(c10::kCUDA));
  const at::Tensor x = at::randn({4, 1024}, g).to(at::kBFloat16);
  EXPECT_LT(test::rel_error(gpu.forward(x.cuda()).cpu().to(at::kFloat), cpu.forward(x).to(at::kFloat)), 2e-2)
      << cpu.describe() << " vs " << gpu.describe();
}
