// The fused sampler's LibTorch twin (nn::sample_fused_torch, what sample_on_device runs off CUDA)
// picks exactly what engine::Sampler picks, for every stage of the chain, CFG and penalties.
#include <gtest/gtest.h>

#include <ATen/ATen.h>

#include "sampling_test_util.hpp"
#include "test_util.hpp"

using namespace januskit;

TEST(FusedSamplingTwin, PicksWhatTheEngineSamplerPicks) {
  auto g = test::generator();
  const c10::Device cpu(c10::kCPU);
  const int64_t N = 5, V = 1000;
  for (const auto& c : test::sampling_cases()) {
    for (int64_t step : {0, 3, 17}) {
      engine::Sampler ref(c.options, N, V, cpu), dev(c.options, N, V, cpu);
      test::observe_history({&ref, &dev}, N, V, g);
      at::Tensor logits = test::random_logits(c.cfg ? 2 * N : N, V, g);
      at::Tensor expected = test::reference_picks(ref, c, logits, step);
      at::Tensor tokens = at::full({N}, -1, at::kLong), history = at::full({20, N}, -1, at::kLong);
      dev.sample_on_device(logits, at::tensor({step}, at::kLong), tokens, history, c.cfg, c.vocab_limit);
      EXPECT_TRUE(at::equal(tokens, expected)) << c.name << ", step " << step;
      EXPECT_TRUE(at::equal(history[step], expected)) << c.name;
      EXPECT_EQ((history != -1).sum().item<int64_t>(), N) << c.name << ": only row `step` of the history is written";
    }
  }
}
