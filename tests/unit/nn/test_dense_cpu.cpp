// The dense bf16 GEMV: the plain twin computes x·Wᵀ + b (to f32 rounding, against a double reference),
// the AVX-512 form equals the twin bit for bit, and nn::Linear sends exactly the decode-sized bf16
// calls to it.
#include <gtest/gtest.h>

#include <ATen/ATen.h>

#include <tuple>

#include "nn/dense_cpu.hpp"
#include "nn/linear.hpp"
#include "test_util.hpp"
#include "unit/io/io_test_util.hpp"

using namespace januskit;

namespace {
at::Tensor bf16_weight(int64_t N, int64_t K, at::Generator& g) { return (at::randn({N, K}, g) * 0.05).to(at::kBFloat16); }
}  // namespace

TEST(DenseGemv, PlainTwinComputesTheProduct) {
  auto g = test::generator();
  for (auto [N, K, M] : {std::tuple{37, 200, 1}, {64, 1536, 3}, {5, 7, 2}, {1, 1, 1}}) {
    SCOPED_TRACE(testing::Message() << "[" << N << ", " << K << "] M " << M);
    const at::Tensor w = bf16_weight(N, K, g), bias = at::randn({N}, g);
    const at::Tensor x = at::randn({M, K}, g);
    const at::Tensor exact = at::matmul(x.to(at::kDouble), w.to(at::kDouble).t()) + bias.to(at::kDouble);
    const at::Tensor y32 = nn::dense_gemv_cpu(x, w, bias, nn::CpuKernel::plain);
    ASSERT_EQ(y32.scalar_type(), at::kFloat);
    EXPECT_LT(test::rel_error(y32, exact), 1e-6);
    // bf16 activations and output: one bf16 rounding of the f32 result.
    const at::Tensor xb = x.to(at::kBFloat16);
    const at::Tensor yb = nn::dense_gemv_cpu(xb, w, {}, nn::CpuKernel::plain);
    ASSERT_EQ(yb.scalar_type(), at::kBFloat16);
    const at::Tensor exact_b = at::matmul(xb.to(at::kDouble), w.to(at::kDouble).t());
    EXPECT_LT(test::rel_error(yb, exact_b), 5e-3);
  }
}

TEST(DenseGemv, SimdFormEqualsThePlainTwin) {
  if (!nn::cpu_kernel_available(nn::CpuKernel::avx512)) GTEST_SKIP() << "SKIPPED (no AVX-512 on this CPU)";
  auto g = test::generator();
  for (auto [N, K] : {std::tuple{37, 200}, {64, 1536}, {3, 17}, {9, 16}, {130, 33}, {4, 8960}}) {
    for (int64_t M : {1, 2, 3, 4, 5, 8}) {
      for (at::ScalarType dtype : {at::kFloat, at::kBFloat16}) {
        SCOPED_TRACE(testing::Message() << "[" << N << ", " << K << "] M " << M << " " << dtype);
        const at::Tensor w = bf16_weight(N, K, g);
        const at::Tensor bias = M % 2 ? at::randn({N}, g).to(at::kBFloat16) : at::Tensor();
        const at::Tensor x = at::randn({M, K}, g).to(dtype);
        const auto widen = nn::GemvArithmetic::widen;
        const at::Tensor plain = nn::dense_gemv_cpu(x, w, bias, nn::CpuKernel::plain, widen);
        const at::Tensor simd = nn::dense_gemv_cpu(x, w, bias, nn::CpuKernel::avx512, widen);
        ASSERT_EQ(simd.scalar_type(), dtype);
        EXPECT_TRUE(at::equal(simd, plain)) << "max |diff| " << test::max_abs_diff(simd, plain);
      }
    }
  }
}

TEST(DenseGemv, PairFormTwinComputesTheProduct) {
  auto g = test::generator();
  for (auto [N, K, M] : {std::tuple{37, 200, 1}, {64, 1536, 2}, {5, 7, 3}}) {
    SCOPED_TRACE(testing::Message() << "[" << N << ", " << K << "] M " << M);
    const at::Tensor w = bf16_weight(N, K, g), x = at::randn({M, K}, g).to(at::kBFloat16);
    const at::Tensor y = nn::dense_gemv_cpu(x, w, {}, nn::CpuKernel::plain, nn::GemvArithmetic::pairs);
    ASSERT_EQ(y.scalar_type(), at::kBFloat16);
    EXPECT_LT(test::rel_error(y, at::matmul(x.to(at::kDouble), w.to(at::kDouble).t())), 5e-3);
  }
  test::expect_error([&] {
    nn::dense_gemv_cpu(at::randn({1, 8}, g), bf16_weight(4, 8, g), {}, nn::CpuKernel::plain, nn::GemvArithmetic::pairs);
  }, {"pair form", "bf16 activations"});
}

// VDPBF16PS against the plain twin of dense_cpu_kernels.hpp, bit for bit: random shapes with tails,
// and inputs with bf16 denormals, huge and tiny values (the instruction's DAZ/FTZ and rounding).
TEST(DenseGemv, PairFormSimdEqualsItsTwin) {
  if (!nn::cpu_has_avx512_bf16()) GTEST_SKIP() << "SKIPPED (no AVX512_BF16 on this CPU)";
  auto g = test::generator();
  for (auto [N, K] : {std::tuple{37, 200}, {64, 1536}, {3, 17}, {9, 16}, {130, 33}, {4, 8960}}) {
    for (int64_t M : {1, 2, 3}) {
      SCOPED_TRACE(testing::Message() << "[" << N << ", " << K << "] M " << M);
      const at::Tensor w = bf16_weight(N, K, g);
      const at::Tensor bias = M % 2 ? at::randn({N}, g).to(at::kBFloat16) : at::Tensor();
      const at::Tensor x = at::randn({M, K}, g).to(at::kBFloat16);
      const at::Tensor plain = nn::dense_gemv_cpu(x, w, bias, nn::CpuKernel::plain, nn::GemvArithmetic::pairs);
      const at::Tensor simd = nn::dense_gemv_cpu(x, w, bias, nn::CpuKernel::avx512, nn::GemvArithmetic::pairs);
      EXPECT_TRUE(at::equal(simd, plain)) << "max |diff| " << test::max_abs_diff(simd, plain);
    }
  }
  // Magnitudes from 2^-140 (bf16 denormals) to 2^60: products and partial sums that underflow.
  const at::Tensor scale = at::pow(2.0, at::randint(-140, 60, {8, 96}, g).to(at::kDouble));
  const at::Tensor w = (at::randn({8, 96}, g).to(at::kDouble) * scale).to(at::kBFloat16);
  const at::Tensor x = (at::randn({2, 96}, g).to(at::kDouble) * at::pow(2.0, at::randint(-140, 10, {2, 96}, g).to(at::kDouble)))
                           .to(at::kBFloat16);
  const at::Tensor plain = nn::dense_gemv_cpu(x, w, {}, nn::CpuKernel::plain, nn::GemvArithmetic::pairs);
  const at::Tensor simd = nn::dense_gemv_cpu(x, w, {}, nn::CpuKernel::avx512, nn::GemvArithmetic::pairs);
  EXPECT_TRUE(at::equal(simd, plain)) << simd << plain;
}

TEST(DenseGemv, StridedWeightRowsAndBatchedShapes) {
  auto g = test::generator();
  // A view of every other row of a wider matrix (a fused q/k/v slice looks like this): row stride != K.
  const at::Tensor wide = bf16_weight(20, 96, g);
  const at::Tensor w = wide.narrow(1, 0, 64);
  const at::Tensor x = at::randn({2, 1, 64}, g).to(at::kBFloat16);
  const at::Tensor y = nn::dense_gemv_cpu(x, w, {}, nn::CpuKernel::plain);
  EXPECT_EQ(y.sizes(), (at::IntArrayRef{2, 1, 20}));
  EXPECT_LT(test::rel_error(y, at::linear(x.to(at::kFloat), w.to(at::kFloat))), 5e-3);
}

TEST(DenseGemv, LinearUsesItOnlyForDecodeSizedBf16Calls) {
  auto g = test::generator();
  const at::Tensor w = bf16_weight(48, 64, g);
  const at::Tensor x1 = at::randn({1, 64}, g).to(at::kBFloat16);
  const bool simd = nn::cpu_kernel_available(nn::CpuKernel::avx512) && nn::default_cpu_kernel() == nn::CpuKernel::avx512;
  EXPECT_EQ(nn::dense_gemv_applies(x1, w), simd);
  EXPECT_FALSE(nn::dense_gemv_applies(at::randn({nn::kDenseGemvMaxRows + 1, 64}, g).to(at::kBFloat16), w));
  EXPECT_FALSE(nn::dense_gemv_applies(x1.to(at::kFloat), w.to(at::kFloat)));  // f32 weights: oneDNN
  at::Tensor trained = w.clone().requires_grad_(true);
  EXPECT_FALSE(nn::dense_gemv_applies(x1, trained));  // autograd needs at::linear
  const nn::Linear layer = nn::Linear::dense(w);
  const at::Tensor y = layer.forward(x1);
  if (simd) {
    EXPECT_TRUE(at::equal(y, nn::dense_gemv_cpu(x1, w, {}, nn::CpuKernel::avx512)));
  }
  EXPECT_LT(test::rel_error(y, at::linear(x1, w)), 1e-2);
}
