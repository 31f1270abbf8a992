// CUDA kernels against their CPU twins in src/nn, on fresh random inputs, with the outputs poisoned
// before each run. Skipped (reported as such by ctest) where no CUDA device is visible.
#include <gtest/gtest.h>

#include <ATen/ATen.h>

#include "core/build_info.hpp"
#include "nn/rms_norm.hpp"
#include "test_util.hpp"

using namespace januskit;

namespace {
double tolerance(at::ScalarType t) { return t == at::kFloat ? 1e-5 : t == at::kHalf ? 2e-3 : 1e-2; }
}  // namespace

TEST(GpuKernels, KernelsAreCompiledIn) {
  JANUSKIT_REQUIRE_CUDA();
  EXPECT_TRUE(cuda_kernels_compiled()) << "a CUDA device is visible but this build has no kernels";
}

TEST(GpuKernels, RmsNormMatchesCpuTwin) {
  JANUSKIT_REQUIRE_CUDA();
  auto g = test::generator();
  for (auto dtype : {at::kFloat, at::kBFloat16, at::kHalf}) {
    for (int64_t cols : {64, 1536, 4096, 5000}) {
      at::Tensor x = at::randn({9, cols}, g).to(dtype), w = (1 + 0.1 * at::randn({cols}, g)).to(dtype);
      at::Tensor expected = nn::rms_norm_torch(x, w, 1e-6);
      at::Tensor xc = x.cuda(), wc = w.cuda();
      at::Tensor y = at::full_like(xc, std::numeric_limits<float>::quiet_NaN());  // poison
      nn::rms_norm_out(y, xc, wc, 1e-6);
      EXPECT_LT(test::rel_error(y, expected), tolerance(dtype)) << c10::toString(dtype) << " cols " << cols;
    }
  }
}
