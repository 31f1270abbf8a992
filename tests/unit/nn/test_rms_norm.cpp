#include <gtest/gtest.h>

#include <ATen/ATen.h>

#include "nn/rms_norm.hpp"
#include "test_util.hpp"

using namespace januskit;

// The formula written out directly in f64, independent of nn::rms_norm_torch's code.
static at::Tensor rms_norm_f64(const at::Tensor& x, const at::Tensor& w, double eps) {
  at::Tensor xd = x.to(at::kDouble), wd = w.to(at::kDouble);
  return wd * xd / at::sqrt((xd * xd).mean(-1, true) + eps);
}

TEST(RmsNorm, F32MatchesFormula) {
  auto g = test::generator();
  at::Tensor x = at::randn({3, 5, 96}, g), w = 1 + 0.1 * at::randn({96}, g);
  at::Tensor y = nn::rms_norm(x, w, 1e-6);
  EXPECT_EQ(y.sizes(), x.sizes());
  EXPECT_EQ(y.scalar_type(), at::kFloat);
  EXPECT_LT(test::rel_error(y, rms_norm_f64(x, w, 1e-6)), 1e-6);
}

TEST(RmsNorm, EpsMatters) {
  auto g = test::generator();
  at::Tensor x = 1e-3 * at::randn({4, 64}, g), w = at::ones({64});
  EXPECT_LT(test::rel_error(nn::rms_norm(x, w, 1e-5), rms_norm_f64(x, w, 1e-5)), 1e-6);
  EXPECT_GT(test::rel_error(nn::rms_norm(x, w, 1e-5), rms_norm_f64(x, w, 1e-9)), 1e-3);
}

TEST(RmsNorm, Bf16RoundsLikeTransformers) {
  // transformers: weight * (x.float() * rsqrt(...)).to(bf16); the product is rounded again.
  auto g = test::generator();
  at::Tensor x = at::randn({7, 128}, g).to(at::kBFloat16), w = (1 + 0.1 * at::randn({128}, g)).to(at::kBFloat16);
  at::Tensor xf = x.to(at::kFloat);
  at::Tensor expected = w * (xf * at::rsqrt(xf.pow(2).mean(-1, true) + 1e-6)).to(at::kBFloat16);
  at::Tensor y = nn::rms_norm(x, w, 1e-6);
  EXPECT_EQ(y.scalar_type(), at::kBFloat16);
  EXPECT_TRUE(at::equal(y, expected));
  EXPECT_LT(test::rel_error(y, rms_norm_f64(x, w, 1e-6)), 1e-2);
}
