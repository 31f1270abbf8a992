// The quantization formats (nn/quant.hpp) and the CPU kernels (nn/quant_cpu.hpp): the quantizer follows
// its documented formula exactly, the GPTQ layout round-trips and matches a hand-packed word, the
// kernels compute the formula (against an f64 reference on the same quantized activations), and every
// SIMD form equals the plain twin bit for bit.
#include <gtest/gtest.h>

#include <ATen/ATen.h>
#include <c10/util/Half.h>

#include <cmath>
#include <tuple>

#include "core/error.hpp"
#include "nn/quant.hpp"
#include "nn/quant_cpu.hpp"
#include "test_util.hpp"

using namespace januskit;
using nn::QuantizedMatrix;
using nn::QuantSpec;

namespace {

// Weights with a spread of magnitudes per row and a few exact zeros and one all-zero group.
at::Tensor random_weight(int64_t N, int64_t K, at::Generator& g) {
  at::Tensor w = at::randn({N, K}, g) * at::exp(at::randn({N, 1}, g));
  w.index_put_({at::indexing::Slice(), 0}, 0.0);
  if (K >= 32) w.index_put_({0, at::indexing::Slice(0, 32)}, 0.0);
  return w;
}

// The quant.hpp formula for one group, written out independently of nn::quantize.
void expect_formula(const at::Tensor& w, const QuantizedMatrix& q, int bits) {
  const int maxq = (1 << bits) - 1, zero = 1 << (bits - 1);
  const at::Tensor wf = w.to(at::kFloat).contiguous();
  const int64_t N = q.rows, K = q.cols, gs = q.group_size;
  for (int64_t n = 0; n < N; ++n) {
    for (int64_t g = 0; g * gs < K; ++g) {
      const int64_t k0 = g * gs, k1 = std::min(K, k0 + gs);
      float amax = wf[n].slice(0, k0, k1).abs().max().item<float>();
      if (amax == 0) amax = 1;
      const float s = static_cast<float>(c10::Half(2.0f * amax / static_cast<float>(maxq)));
      ASSERT_EQ(q.scales[n][g].item<float>(), s) << "row " << n << " group " << g;
      ASSERT_EQ(q.zeros[n][g].item<int>(), zero);
      for (int64_t k = k0; k < k1; ++k) {
        const float expected = std::clamp(std::nearbyint(wf[n][k].item<float>() / s) + zero, 0.0f, static_cast<float>(maxq));
        ASSERT_EQ(q.codes[n][k].item<int>(), static_cast<int>(expected)) << "row " << n << " col " << k;
      }
    }
  }
}

}  // namespace

TEST(QuantSpec, ParsesFlags) {
  EXPECT_FALSE(nn::parse_quant("none").has_value());
  EXPECT_EQ(*nn::parse_quant("int4"), (QuantSpec{4, 32}));
  EXPECT_EQ(*nn::parse_quant("int4", 128), (QuantSpec{4, 128}));
  EXPECT_EQ(*nn::parse_quant("int8"), (QuantSpec{8, 0}));
  EXPECT_EQ(*nn::parse_quant("int8", 64), (QuantSpec{8, 64}));
  EXPECT_EQ(*nn::parse_quant("int4", -1), (QuantSpec{4, 0}));
  EXPECT_THROW(nn::parse_quant("int3"), UsageError);
  EXPECT_THROW(nn::parse_quant("q4_k_m"), UsageError);
  EXPECT_THROW(nn::parse_quant("int4", 48), UsageError);
  EXPECT_THROW(nn::parse_quant("int4", 256), UsageError);
  EXPECT_THROW(nn::parse_quant("none", 32), UsageError);
}

TEST(QuantSpec, WhichLayersAreQuantized) {
  EXPECT_TRUE(nn::should_quantize(192, 192, {4, 32}));
  EXPECT_FALSE(nn::should_quantize(2048, 8, {4, 32}));  // Janus's generation aligner input
  EXPECT_FALSE(nn::should_quantize(64, 100, {4, 32}));  // not a multiple of 8
  EXPECT_TRUE(nn::should_quantize(64, 100, {8, 0}));    // a multiple of 4
  EXPECT_FALSE(nn::should_quantize(100, 64, {4, 32}));  // qzeros pack 8 outputs per word
}

TEST(Quantize, FollowsTheDocumentedFormula) {
  auto g = test::generator();
  for (auto [bits, group, K] : {std::tuple{4, 32, 96}, {4, 128, 200}, {8, 0, 70}, {8, 64, 160}, {4, 0, 40}}) {
    SCOPED_TRACE(testing::Message() << bits << "-bit, group " << group << ", K " << K);
    at::Tensor w = random_weight(9, K, g).to(at::kBFloat16);
    QuantizedMatrix q = nn::quantize(w, {bits, group});
    EXPECT_EQ(q.group_size, group > 0 ? std::min<int64_t>(group, K) : K);
    expect_formula(w, q, bits);
    // dequantize is scale · (code − zero), exactly, in f32.
    at::Tensor deq = nn::dequantize(q);
    for (int64_t n = 0; n < q.rows; n += 4) {
      for (int64_t k = 0; k < K; k += 7) {
        const int64_t gi = k / q.group_size;
        const float expected = q.scales[n][gi].item<float>() * (q.codes[n][k].item<float>() - q.zeros[n][gi].item<float>());
        ASSERT_EQ(deq[n][k].item<float>(), expected);
      }
    }
    // Round to nearest: within half a step, except the clipped top code (GPTQ's symmetric range).
    at::Tensor col_group = at::arange(K).div(q.group_size, "floor");
    at::Tensor step = q.scales.to(at::kFloat).index_select(1, col_group);
    at::Tensor err = (deq - w.to(at::kFloat)).abs();
    at::Tensor clipped = q.codes == (1 << bits) - 1;
    EXPECT_TRUE(((err <= step * 0.5 + 1e-7) | clipped).all().item<bool>());
    EXPECT_TRUE((err <= step * 1.0 + 1e-7).all().item<bool>());
  }
}

TEST(Quantize, TinyAndHugeWeights) {
  at::Tensor tiny = at::full({2, 64}, 1e-9f);
  QuantizedMatrix q = nn::quantize(tiny, {4, 32});
  EXPECT_TRUE(at::isfinite(nn::dequantize(q)).all().item<bool>());
  EXPECT_GT(q.scales.to(at::kFloat).min().item<float>(), 0.0f);
  EXPECT_THROW(nn::quantize(at::full({2, 64}, 1e6f), {4, 32}), Error);
  at::Tensor bad = at::zeros({2, 64});
  bad[1][3] = std::numeric_limits<float>::infinity();
  EXPECT_THROW(nn::quantize(bad, {8, 0}), Error);
}

TEST(Gptq, PacksLikeAutoGptq) {
  // 4 bits: qweight[i, n] holds code[n, 8i + j] at bits 4j; qzeros[g, i] holds zero[8i + j, g] − 1.
  QuantizedMatrix q;
  q.bits = 4;
  q.rows = 8;
  q.cols = 16;
  q.group_size = 16;
  q.codes = (at::arange(128) % 16).reshape({8, 16}).to(at::kByte);
  q.scales = at::full({8, 1}, 0.5, at::TensorOptions().dtype(at::kHalf));
  q.zeros = (at::arange(8) + 1).reshape({8, 1}).to(at::kByte);
  nn::GptqTensors t = nn::to_gptq(q);
  ASSERT_EQ(t.qweight.sizes(), (at::IntArrayRef{2, 8}));
  ASSERT_EQ(t.qzeros.sizes(), (at::IntArrayRef{1, 1}));
  // Row 0 codes 0..7 in word (0, 0): 0x76543210; row 1 codes 0..7 as well (16 per row).
  EXPECT_EQ(static_cast<uint32_t>(t.qweight[0][0].item<int32_t>()), 0x76543210u);
  EXPECT_EQ(static_cast<uint32_t>(t.qweight[1][0].item<int32_t>()), 0xfedcba98u);
  EXPECT_EQ(static_cast<uint32_t>(t.qzeros[0][0].item<int32_t>()), 0x76543210u);  // zeros 1..8 stored − 1
  EXPECT_TRUE(at::equal(t.g_idx, at::zeros({16}, at::TensorOptions().dtype(at::kInt))));
  QuantizedMatrix back = nn::from_gptq(t, {4, 16, true}, 8, 16, "layer");
  EXPECT_TRUE(at::equal(back.codes, q.codes));
  EXPECT_TRUE(at::equal(back.zeros, q.zeros));
  EXPECT_TRUE(at::equal(back.scales, q.scales));
}

TEST(Gptq, RoundTripsEveryLayout) {
  auto g = test::generator();
  for (auto [bits, group, N, K] : {std::tuple{4, 32, 24, 96}, {4, 128, 16, 256}, {8, 0, 12, 64}, {8, 32, 8, 96}}) {
    QuantizedMatrix q = nn::quantize(random_weight(N, K, g), {bits, group});
    nn::GptqTensors t = nn::to_gptq(q);
    QuantizedMatrix back = nn::from_gptq(t, {bits, group, true}, N, K, "layer");
    EXPECT_TRUE(at::equal(back.codes, q.codes));
    EXPECT_TRUE(at::equal(back.zeros, q.zeros));
    EXPECT_TRUE(at::equal(back.scales, q.scales));
    EXPECT_EQ(back.group_size, q.group_size);
  }
}

TEST(Gptq, RejectsWhatItCannotRun) {
  auto g = test::generator();
  QuantizedMatrix q = nn::quantize(random_weight(16, 64, g), {4, 32});
  nn::GptqTensors t = nn::to_gptq(q);
  auto expect_message = [](auto&& fn, const std::string& part) {
    try {
      fn();
      ADD_FAILURE() << "no error; expected one containing '" << part << "'";
    } catch (const Error& e) {
      EXPECT_NE(std::string(e.what()).find(part), std::string::npos) << e.what();
    }
  };
  expect_message([&] { nn::from_gptq(t, {4, 64, true}, 16, 64, "L"); }, "qzeros is [2, 2], expected [1, 2]");
  expect_message([&] { nn::from_gptq(t, {4, 32, true}, 16, 72, "L"); }, "qweight is");
  expect_message([&] { nn::from_gptq(t, {3, 32, true}, 16, 64, "L"); }, "3-bit");
  nn::GptqTensors act_order = t;
  act_order.g_idx = act_order.g_idx.flip(0).contiguous();
  expect_message([&] { nn::from_gptq(act_order, {4, 32, true}, 16, 64, "L"); }, "act-order");
  nn::GptqTensors float_weight = t;
  float_weight.qweight = float_weight.qweight.to(at::kFloat);
  expect_message([&] { nn::from_gptq(float_weight, {4, 32, true}, 16, 64, "L"); }, "qweight has dtype");
}

// --- Kernels -----------------------------------------------------------------------------------------

namespace {

// x · dequantize(W)ᵀ + b in f64, with x replaced by the int8 activations the kernels see (dequantized):
// what the kernels must compute up to f32 rounding.
at::Tensor reference(const at::Tensor& x, const QuantizedMatrix& q, const at::Tensor& bias) {
  const int64_t K = q.cols;
  nn::QuantizedActivationTensors a = nn::quantize_activations(x.reshape({-1, K}), q.group_size, nn::CpuKernel::plain);
  const int64_t blocks = a.scale.size(1);
  at::Tensor xq = (a.q.to(at::kDouble).view({-1, blocks, 32}) * a.scale.to(at::kDouble).unsqueeze(-1))
                      .view({-1, blocks * 32}).narrow(1, 0, K);
  at::Tensor y = at::matmul(xq, nn::dequantize(q, at::kDouble).t());
  if (bias.defined()) y = y + bias.to(at::kDouble);
  std::vector<int64_t> shape(x.sizes().begin(), x.sizes().end());
  shape.back() = q.rows;
  return y.view(shape);
}

}  // namespace

TEST(QuantKernels, ActivationsQuantizeByBlock) {
  auto g = test::generator();
  at::Tensor x = at::randn({3, 70}, g);
  x[1].zero_();
  nn::QuantizedActivationTensors a = nn::quantize_activations(x, 64, nn::CpuKernel::plain);
  ASSERT_EQ(a.q.sizes(), (at::IntArrayRef{3, 96}));
  for (int64_t b = 0; b < 3; ++b) {
    const int64_t k0 = 32 * b, k1 = std::min<int64_t>(70, k0 + 32);
    const float amax = x[0].slice(0, k0, k1).abs().max().item<float>();
    EXPECT_EQ(a.scale[0][b].item<float>(), amax / 127.0f);
    at::Tensor expected = at::round(x[0].slice(0, k0, k1) * (127.0f / amax)).to(at::kChar);
    EXPECT_TRUE(at::equal(a.q[0].slice(0, k0, k1), expected));
    EXPECT_EQ(a.sum[0][b].item<int>(), expected.sum().item<int>());
  }
  EXPECT_TRUE(at::equal(a.q[0].slice(0, 70, 96), at::zeros({26}, at::TensorOptions().dtype(at::kChar))));
  EXPECT_EQ(a.scale[1].abs().sum().item<float>(), 0.0f);  // an all-zero row
  // Group sums: A = Σ_b d_b · Σa_b over the blocks of the group (64 = 2 blocks; the last group has 1).
  EXPECT_FLOAT_EQ(a.group_sum[2][0].item<float>(), a.scale[2][0].item<float>() * a.sum[2][0].item<float>() +
                                                       a.scale[2][1].item<float>() * a.sum[2][1].item<float>());
  EXPECT_EQ(a.group_sum.size(1), 2);
  for (nn::CpuKernel k : {nn::CpuKernel::avx2, nn::CpuKernel::avx512}) {
    if (!nn::cpu_kernel_available(k)) continue;
    nn::QuantizedActivationTensors b = nn::quantize_activations(x.to(at::kBFloat16), 32, k);
    nn::QuantizedActivationTensors p = nn::quantize_activations(x.to(at::kBFloat16), 32, nn::CpuKernel::plain);
    EXPECT_TRUE(at::equal(b.q, p.q) && at::equal(b.scale, p.scale) && at::equal(b.sum, p.sum) &&
                at::equal(b.group_sum, p.group_sum))
        << nn::cpu_kernel_name(k);
  }
}

TEST(QuantKernels, PlainTwinComputesTheFormula) {
  auto g = test::generator();
  // Odd row counts (tile tails), inputs that are not multiples of 32 (block tails), short last groups.
  for (auto [bits, group, N, K] : {std::tuple{4, 32, 16, 32}, {4, 32, 37, 200}, {4, 128, 48, 200}, {4, 64, 5, 192},
                                   {8, 0, 33, 70}, {8, 32, 20, 96}, {4, 0, 17, 64}}) {
    for (int64_t M : {1, 3, 9}) {
      SCOPED_TRACE(testing::Message() << bits << "-bit group " << group << " [" << N << ", " << K << "] M " << M);
      QuantizedMatrix q = nn::quantize(random_weight(N, K, g), {bits, group});
      at::Tensor bias = at::randn({N}, g);
      auto packed = nn::pack_for_cpu(q, bias);
      at::Tensor x = at::randn({M, K}, g);
      at::Tensor y = nn::quant_linear_cpu(x, *packed, nn::CpuKernel::plain);
      ASSERT_EQ(y.sizes(), (at::IntArrayRef{M, N}));
      EXPECT_LT(test::rel_error(y, reference(x, q, bias)), 1e-6);
      // Against the unquantized activations: the int8 activation rounding, ~0.5 % per dot product.
      at::Tensor exact = at::matmul(x.to(at::kDouble), nn::dequantize(q, at::kDouble).t()) + bias.to(at::kDouble);
      EXPECT_LT(test::rel_error(y, exact), 1.5e-2);
    }
  }
}

TEST(QuantKernels, SimdFormsEqualThePlainTwin) {
  auto g = test::generator();
  int checked = 0;
  for (nn::CpuKernel kernel : {nn::CpuKernel::avx2, nn::CpuKernel::avx512}) {
    if (!nn::cpu_kernel_available(kernel)) continue;
    for (auto [bits, group, N, K] : {std::tuple{4, 32, 37, 200}, {4, 128, 64, 1000}, {4, 64, 3, 64}, {8, 0, 50, 300},
                                     {8, 64, 16, 256}, {8, 0, 9, 36}, {4, 32, 256, 512}}) {
      for (int64_t M : {1, 2, 7, 8, 11, 17}) {
        for (at::ScalarType dtype : {at::kFloat, at::kBFloat16}) {
          SCOPED_TRACE(testing::Message() << nn::cpu_kernel_name(kernel) << " " << bits << "-bit group " << group << " ["
                                          << N << ", " << K << "] M " << M << " " << dtype);
          QuantizedMatrix q = nn::quantize(random_weight(N, K, g), {bits, group});
          auto packed = nn::pack_for_cpu(q, M % 2 ? at::randn({N}, g) : at::Tensor());
          at::Tensor x = at::randn({M, K}, g).to(dtype);
          at::Tensor plain = nn::quant_linear_cpu(x, *packed, nn::CpuKernel::plain);
          at::Tensor simd = nn::quant_linear_cpu(x, *packed, kernel);
          ASSERT_EQ(simd.scalar_type(), dtype);
          EXPECT_TRUE(at::equal(simd, plain)) << "max |diff| " << test::max_abs_diff(simd, plain);
          ++checked;
        }
      }
    }
  }
  if (checked == 0) GTEST_SKIP() << "SKIPPED (this CPU has neither AVX2 nor AVX-512 VNNI)";
}

TEST(QuantKernels, ZeroPointsOtherThanTheMiddle) {
  // Files from asymmetric GPTQ runs carry a zero point per group; the kernels take any.
  auto g = test::generator();
  QuantizedMatrix q = nn::quantize(random_weight(40, 128, g), {4, 32});
  q.zeros = at::randint(0, 17, q.zeros.sizes(), g).to(at::kByte);
  auto packed = nn::pack_for_cpu(q);
  at::Tensor x = at::randn({4, 128}, g);
  at::Tensor plain = nn::quant_linear_cpu(x, *packed, nn::CpuKernel::plain);
  EXPECT_LT(test::rel_error(plain, reference(x, q, {})), 1e-6);
  for (nn::CpuKernel kernel : {nn::CpuKernel::avx2, nn::CpuKernel::avx512}) {
    if (nn::cpu_kernel_available(kernel)) {
      EXPECT_TRUE(at::equal(nn::quant_linear_cpu(x, *packed, kernel), plain));
    }
  }
}

TEST(QuantKernels, LeadingDimensionsAndGroupSizesTheKernelsRefuse) {
  auto g = test::generator();
  QuantizedMatrix q = nn::quantize(random_weight(24, 64, g), {8, 0});
  auto packed = nn::pack_for_cpu(q);
  at::Tensor x = at::randn({2, 3, 64}, g);
  at::Tensor y = nn::quant_linear_cpu(x, *packed);
  EXPECT_EQ(y.sizes(), (at::IntArrayRef{2, 3, 24}));
  EXPECT_LT(test::rel_error(y, reference(x, q, {})), 1e-6);
  q.group_size = 16;  // a GPTQ file could say so; the CPU kernels work in 32-input blocks
  q.scales = at::ones({24, 4}, at::TensorOptions().dtype(at::kHalf));
  q.zeros = at::full({24, 4}, 128, at::TensorOptions().dtype(at::kByte));
  EXPECT_THROW(nn::pack_for_cpu(q), Error);
}
